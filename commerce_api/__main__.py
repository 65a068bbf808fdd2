"""`python -m commerce_api`: serve the API with uvicorn using the environment's settings."""

from __future__ import annotations

import logging

import uvicorn

from commerce_api.app import create_app
from commerce_api.settings import Settings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=10,
        log_level="info",
    )


if __name__ == "__main__":
    main()
