"""CLI: `python -m gpg_vl.export CKPT OUT`: a plain Hugging Face checkpoint (model + processor).

    python -m gpg_vl.export runs/geoqa/checkpoint-400 /ckpt/geoqa-merged
    python -m gpg_vl.export runs/geoqa/checkpoint-400 /ckpt/geoqa-bf16 --dtype bfloat16

CKPT is a LoRA checkpoint (adapter_config.json: its base model is loaded from the path the
file names and the adapters merged in, W + scaling * B @ A) or a full one (then it is
loaded and saved again, in --dtype). OUT loads with
`AutoModelForImageTextToText.from_pretrained(OUT)` and `AutoProcessor.from_pretrained(OUT)`,
with no peft, and serves in vLLM like any checkpoint. Errors a user can fix (a missing
checkpoint, a base model that is gone, an OUT that holds files) exit 2 with one line.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .config import ConfigError, ModelConfig
from .errors import run_cli


def export(ckpt: str, out: str, dtype: str = "float32") -> Path:
    """Write CKPT's model, merged if it holds adapters, and its processor into OUT."""
    from transformers import AutoProcessor

    from .models import DTYPES, check_model_source, load_model, processor_source

    if dtype not in DTYPES:
        raise ConfigError(f"--dtype={dtype!r} unknown; valid: {', '.join(DTYPES)}")
    check_model_source(ckpt, key="CKPT")
    target = Path(out)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ConfigError(f"OUT={out}: already exists and is not an empty folder; choose a new one")
    model = load_model(ModelConfig(path=ckpt, dtype=dtype))
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target)
    AutoProcessor.from_pretrained(processor_source(ckpt)).save_pretrained(target)
    logging.getLogger(__name__).info("exported %s -> %s (%s)", ckpt, target, dtype)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gpg_vl.export", description=__doc__.splitlines()[0])
    parser.add_argument("ckpt", help="a gpg_vl checkpoint-N folder (LoRA adapters or full weights)")
    parser.add_argument("out", help="new folder for the merged Hugging Face checkpoint")
    parser.add_argument("--dtype", default="float32", help="float32 (default: what was trained) | bfloat16 | float16")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def run() -> int:
        print(export(args.ckpt, args.out, args.dtype))
        return 0

    return run_cli(run)


if __name__ == "__main__":
    sys.exit(main())
