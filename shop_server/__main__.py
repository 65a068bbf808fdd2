"""`python -m shop_server <rasa arguments>`: installs shop_server.patches, then runs Rasa's CLI.

Exits with the patches' message (status 1) instead of starting a Rasa they were not checked
against; otherwise the arguments reach Rasa exactly as `rasa <arguments>` would pass them.
"""

from __future__ import annotations

import sys
from typing import List, Optional

from shop_server import patches


def main(argv: Optional[List[str]] = None) -> None:
    try:
        patches.install()
    except patches.PatchMismatch as mismatch:
        sys.exit(str(mismatch))
    import rasa.__main__

    # Rasa's CLI reads sys.argv itself (the model path argument, argparse): give it its own command line
    sys.argv = ["rasa", *(sys.argv[1:] if argv is None else argv)]
    rasa.__main__.main()


if __name__ == "__main__":
    main()
