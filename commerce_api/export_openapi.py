"""`python -m commerce_api.export_openapi`: regenerate the committed commerce_api/openapi.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from commerce_api.app import create_app
from commerce_api.settings import Settings

OPENAPI_PATH = Path(__file__).with_name("openapi.json")


def render(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def current_spec() -> dict[str, Any]:
    # Default settings: the schema doesn't depend on the environment, and nothing connects here.
    return create_app(Settings()).openapi()


def main() -> None:
    OPENAPI_PATH.write_text(render(current_spec()), encoding="utf-8")
    print(f"wrote {OPENAPI_PATH}")


if __name__ == "__main__":
    main()
