"""Support and operations tools run from the repository root against the configured stores.

    python -m tools.inspect_conversation <conversation_id>   (make inspect CONVERSATION=<id>)
    python -m tools.analytics_report                          (make report)
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def configure_environment() -> None:
    """Fills unset variables the way `make run` does (defaults, then `.env`), so that
    endpoints.yml's ${...} placeholders resolve. The tools never call the action server,
    so its token only needs to be non-empty; no token file is generated for it."""
    spec = importlib.util.spec_from_file_location("_shop_stack", ROOT / "scripts" / "stack.py")
    stack = sys.modules.setdefault("_shop_stack", importlib.util.module_from_spec(spec))
    spec.loader.exec_module(stack)
    os.environ.setdefault("ACTION_SERVER_TOKEN", "unused-by-the-tools")
    for key, value in stack.load_env().items():
        os.environ.setdefault(key, value)


def mask_emails(text: str) -> str:
    """Every email address in free text masked like actions.common.mask_email."""
    from actions.common import mask_email

    return EMAIL.sub(lambda match: mask_email(match.group(0)), text or "")


def quiet_libraries() -> None:
    """Rasa's import-time deprecation and configuration warnings are not the tool's output, and
    neither is its debug log of every parsed message (it would print the held-out sets' texts)."""
    import logging

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import rasa.core.tracker_store  # noqa: F401  (its import-time warnings, silenced once)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
