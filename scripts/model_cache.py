"""Train the Rasa model only when its inputs changed.

The model is named after a hash of everything training reads (config, domain, training
data, the custom NLU components in bot/nlu/, and the pinned Rasa version), so an unchanged
project reuses the model it already has.

    python scripts/model_cache.py path    # print the path the current inputs' model has
    python scripts/model_cache.py train   # validate + train unless that model exists
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = ROOT / "var" / "models"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
TRAINING_INPUTS = ["config.yml", "domain.yml", "requirements/rasa.txt"]


def inputs_hash() -> str:
    """SHA-256 over the training inputs' paths and bytes, in a stable order."""
    files = [ROOT / name for name in TRAINING_INPUTS]
    files += sorted((ROOT / "bot" / "data").rglob("*.yml"))
    files += sorted((ROOT / "bot" / "nlu").glob("*.py"))  # custom NLU components
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def model_path() -> Path:
    return MODEL_DIR / f"model-{inputs_hash()}.tar.gz"


def _run(step: str, args: list[str]) -> None:
    print(f"[train] {step}: {' '.join(args[1:])}", flush=True)
    started = time.monotonic()
    result = subprocess.run(args, cwd=ROOT)
    if result.returncode != 0:
        sys.exit(f"[train] {step} failed (exit {result.returncode})")
    print(f"[train] {step} done in {time.monotonic() - started:.0f} s", flush=True)


def train() -> Path:
    target = model_path()
    if target.exists():
        print(f"[train] model up to date: {target.relative_to(ROOT)}", flush=True)
        return target
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    print("[train] training data or config changed: training a new model", flush=True)
    _run("validate", [str(RASA), "data", "validate", "--data", "bot/data", "--fail-on-warnings"])
    _run(
        "train",
        [
            str(RASA),
            "train",
            "--data",
            "bot/data",
            "--out",
            str(MODEL_DIR),
            "--fixed-model-name",
            target.name.removesuffix(".tar.gz"),
        ],
    )
    for stale in MODEL_DIR.glob("model-*.tar.gz"):
        if stale != target:
            stale.unlink()  # keep one model: old ones are only disk
    return target


def main(argv: list[str]) -> None:
    command = argv[1] if len(argv) > 1 else "train"
    if command == "path":
        print(model_path())
    elif command == "train":
        train()
    else:
        sys.exit(f"unknown command {command!r}: use 'path' or 'train'")


if __name__ == "__main__":
    main(sys.argv)
