"""What every part of the runner shares: the project's paths, the log line, the children's environment.

Standard library only. The REST channel's credential is resolved here once, the way the
layouts resolve it (`scripts/stack.py`'s `load_env()`: the environment, then `.env`, then the
demo default), and handed to every child explicitly, so the layout's Rasa replicas and the
load generator can never disagree about it.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from pathlib import Path
from typing import Dict

ROOT = Path(__file__).resolve().parent.parent
RASA_PYTHON = ROOT / ".venv/rasa/bin/python"
RASA = ROOT / ".venv/rasa/bin/rasa"
API_PYTHON = ROOT / ".venv/api/bin/python"
LOCUST = Path(sys.executable).parent / "locust"
# The scripted conversations are the demo shop's (bench/conversations.py), whatever SHOP says elsewhere.
SHOP = "demo"
STARTED = time.monotonic()


def log(message: str) -> None:
    elapsed = int(time.monotonic() - STARTED)
    print(f"[bench {elapsed // 60:02d}:{elapsed % 60:02d}] {message}", flush=True)


@functools.lru_cache(maxsize=1)
def rest_token() -> str:
    """REST_CHANNEL_TOKEN as the layout's services get it (scripts/stack.py `load_env()`)."""
    from scripts.stack import load_env  # standard library only, like this module

    token = load_env().get("REST_CHANNEL_TOKEN", "")
    if not token:
        raise SystemExit("REST_CHANNEL_TOKEN is empty: the REST channel would refuse every message")
    return token


def child_env(**extra: str) -> Dict[str, str]:
    """The environment of every process the runner starts (layout, seed, training, Locust)."""
    env = dict(os.environ)
    env.update({"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
                "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "PYTHONPATH": str(ROOT), "SHOP": SHOP,
                "REST_CHANNEL_TOKEN": rest_token()})
    env.update(extra)
    return env
