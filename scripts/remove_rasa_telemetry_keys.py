"""Removes the write keys Rasa ships for its telemetry and crash reports.

Rasa 3.6 sends crash reports to Sentry whenever its packaged `keys` file exists,
even with telemetry disabled (rasa/__main__.py calls initialize_error_reporting
unconditionally). A support assistant must not send anything to third parties,
so the installed copy loses the keys; RASA_TELEMETRY_ENABLED=false is set too.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def main() -> None:
    spec = importlib.util.find_spec("rasa")
    if spec is None or spec.origin is None:
        raise SystemExit("rasa is not installed in this environment")
    keys = Path(spec.origin).parent / "keys"
    if keys.exists():
        keys.unlink()
        print(f"removed {keys}")


if __name__ == "__main__":
    main()
