"""Throughput of `python -m eval`'s HF path (collate -> greedy generate -> score -> append)
on the tiny offline Qwen2-VL, in samples per second, for a few batch sizes.

    python bench/eval_throughput.py [--n 64] [--batch-sizes 1,8,32] [--max-new-tokens 16] [--json out.json]

Records are synthetic grounding items (56x56 images, the REC prompt of refcoco_val);
the tiny random model rarely stops early, so nearly every completion is max_new_tokens
long and the number measures the pipeline at a fixed decode length. Runs on CPU, or on
the GPU when there is one. The model is built once under --model-dir.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def grounding_records(n: int, folder: Path) -> Path:
    """n synthetic colour-shape images as grounding records (answer = the shape's box)."""
    from data_prep.synthetic import write_synthetic

    write_synthetic("color", n, folder, "src", seed=0)
    lines = []
    for line in (folder / "src.jsonl").read_text().splitlines():
        rec = json.loads(line)
        rec.update(task="grounding", answer=rec["meta"].pop("box"),
                   problem="Please provide the bounding box coordinate of the region this sentence describes: the shape.")
        lines.append(json.dumps(rec))
    path = folder / "grounding.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def measure(policy, records, bench, vision, batch_size: int, max_new_tokens: int, work: Path) -> dict:
    from eval.runner import run_benchmark
    from eval.store import SampleStore
    from gpg_vl.data.collator import PromptCollator
    from gpg_vl.rollout import Sampling

    collator = PromptCollator(policy.processor, policy.adapter, vision.min_pixels, vision.max_pixels, bench.template,
                              4096)
    store = SampleStore(work / f"bs{batch_size}.jsonl", {"batch_size": batch_size}, fresh=True)
    greedy = Sampling(max_new_tokens, greedy=True)
    run_benchmark(bench, records[:batch_size], policy.engine, collator, policy.family,  # warm-up
                  SampleStore(work / "warm.jsonl", {}, fresh=True), greedy, batch_size=batch_size, progress=False)
    _, stats = run_benchmark(bench, records, policy.engine, collator, policy.family, store, greedy,
                             batch_size=batch_size, progress=False)
    return {"batch_size": batch_size, "samples": stats.generated, "seconds": round(stats.seconds, 3),
            "samples_per_s": round(stats.samples_per_s, 2)}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--batch-sizes", default="1,8,32")
    p.add_argument("--max-new-tokens", type=int, default=16)
    p.add_argument("--model-dir", default="runs/tiny-qwen2-vl")
    p.add_argument("--json", default="")
    args = p.parse_args(argv)

    import torch

    from eval import benchmarks  # noqa: F401
    from eval.engines import load, resolve_dtype
    from eval.registry import get_benchmark
    from gpg_vl.data.loading import load_records
    from gpg_vl.config import VisionConfig
    from gpg_vl.tiny import build_tiny_model

    torch.set_num_threads(min(torch.get_num_threads(), 16))
    model = build_tiny_model(args.model_dir, "qwen2_vl")
    vision = VisionConfig()
    policy = load(str(model), "hf", vision, dtype=resolve_dtype("auto"))
    bench = get_benchmark("refcoco_val")
    with tempfile.TemporaryDirectory() as tmp:
        records = load_records(grounding_records(args.n, Path(tmp)))
        rows = [measure(policy, records, bench, vision, int(b), args.max_new_tokens, Path(tmp))
                for b in args.batch_sizes.split(",")]
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU x{torch.get_num_threads()} threads"
    result = {"device": device, "python": platform.python_version(), "torch": torch.__version__,
              "n": args.n, "max_new_tokens": args.max_new_tokens, "runs": rows}
    for row in rows:
        print(f"batch {row['batch_size']:3d}: {row['samples_per_s']:8.2f} samples/s "
              f"({row['samples']} in {row['seconds']:.2f} s) on {device}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
