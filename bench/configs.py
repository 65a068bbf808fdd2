"""The configs compared: the assistant's model and Rasa's default pipeline, trained when its inputs change.

Standard library only; training runs Rasa's CLI from .venv/rasa.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from pathlib import Path

from bench.common import RASA, ROOT, child_env, log

DEFAULT_CONFIG = ROOT / "bench/default_config.yml"
BENCH_MODELS = ROOT / ".data/bench-models"
CONFIGS = {
    "assistant": ROOT / "models/assistant.tar.gz",
    "default-pipeline": BENCH_MODELS / "default-pipeline.tar.gz",
}


def default_model_inputs_digest() -> str:
    """What the default-pipeline model depends on: its config (comments aside), domain, data, Rasa's version."""
    digest = hashlib.sha256()
    config_lines = [line for line in DEFAULT_CONFIG.read_text().splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
    digest.update("\n".join(config_lines).encode())
    for folder in ("domain", "data"):
        for path in sorted((ROOT / folder).rglob("*.yml")):
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    rasa_dist = sorted((ROOT / ".venv/rasa/lib").glob("python3*/site-packages/rasa-*.dist-info"))
    digest.update(str([d.name for d in rasa_dist]).encode())
    return digest.hexdigest()


def train_default_model(force: bool = False) -> Path:
    model = CONFIGS["default-pipeline"]
    stamp = BENCH_MODELS / "default-pipeline.inputs"
    digest = default_model_inputs_digest()
    if not force and model.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        log(f"default-pipeline model is up to date ({model.relative_to(ROOT)})")
        return model
    log("training the default-pipeline model (Rasa's default pipeline and policies, same domain and data)…")
    BENCH_MODELS.mkdir(parents=True, exist_ok=True)
    command = [str(RASA), "train", "--config", "bench/default_config.yml", "--domain", "domain", "--data", "data",
               "--fixed-model-name", "default-pipeline", "--out", str(BENCH_MODELS.relative_to(ROOT))]
    began = time.monotonic()
    with open(BENCH_MODELS / "train.log", "wb") as out:
        result = subprocess.run(command, cwd=ROOT, env=child_env(), stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0 or not model.exists():
        raise SystemExit(f"training the default-pipeline model failed; see {BENCH_MODELS / 'train.log'}")
    stamp.write_text(digest + "\n")
    log(f"default-pipeline model trained in {time.monotonic() - began:.0f}s")
    return model


def model_for(config: str) -> Path:
    model = CONFIGS[config]
    if config == "default-pipeline":
        train_default_model()
    if not model.exists():
        raise SystemExit(f"{model} is missing (run `make train`)")
    return model
