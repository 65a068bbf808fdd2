"""`python -m commerce_api`: serve the API with uvicorn using the environment's settings."""

from __future__ import annotations

import uvicorn

from commerce_api.app import create_app
from commerce_api.logs import configure_logging
from commerce_api.settings import Settings


def main() -> None:
    configure_logging()
    settings = Settings.from_env()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=10,
        log_level="info",
        log_config=None,  # uvicorn's lines go through configure_logging's handler
        access_log=False,  # commerce_api.telemetry logs each request with its route template
    )


if __name__ == "__main__":
    main()
