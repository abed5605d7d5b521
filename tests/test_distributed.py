"""Two CPU processes (gloo) give the one-process update: DDP, DeepSpeed ZeRO-2 and ZeRO-3.

One fixed global batch (4 prompts with images of 4 sizes x G=4 hand-made completions,
one degenerate group: alpha = 4/3) goes through the real `setup` and `policy_update`
(tests/dist_update.py): once in one process, then split over two processes under each
shipped accelerate config. Sampling differs per process, so the rollout is fixed and
what is compared is the update math: global denominators, global alpha, micro-batch
accumulation, gradient clipping, the LR schedule. Each two-process run then builds a
fresh `setup` from its step-2 checkpoint and must redo step 3 exactly.

Tolerances. Losses, alpha and the pre-clip gradient norm: 1e-5 relative (the norm is the
one figure Adam cannot hide a gradient-scale error from). Weights: Adam divides by
sqrt(v), so for a weight whose gradient is ~0 the fp32 summation-order noise decides the
sign of a step of size ~lr; all but a handful of the ~200k weights agree to 1e-6, and
none is off by more than 1e-4 (the weights moved ~2e-3; since the log-probs are computed
in lm_head chunks, one attention weight lands 5.9e-5 off under DDP and ZeRO-2).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "gpg_vl" / "configs" / "accelerate"


def has_deepspeed() -> bool:
    try:
        import deepspeed  # noqa: F401
    except ImportError:
        return False
    return True


needs_deepspeed = pytest.mark.skipif(not has_deepspeed(), reason=(
    "DeepSpeed is not installed: `DS_BUILD_OPS=0 pip install deepspeed` runs these on CPU "
    "(its CPU accelerator with gloo)"))


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dist_data")
    (root / "img").mkdir()
    lines = []
    for i, size in enumerate([(56, 56), (100, 80), (64, 120), (200, 150)]):
        image = Image.new("RGB", size, (240, 240, 240))
        ImageDraw.Draw(image).rectangle([2, 2, size[0] // 2, size[1] // 2], fill=(220, 30, 30))
        image.save(root / "img" / f"{i}.png")
        lines.append({"id": f"r{i}", "task": "classification", "problem": "What color is the shape?",
                      "answer": "red", "images": [f"img/{i}.png"] + (["img/0.png"] if i == 3 else [])})
    (root / "d.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return root / "d.jsonl"


def run_update(out: Path, model: Path, data: Path, config: str | None = None, lora: bool = False):
    script = [str(ROOT / "tests" / "dist_update.py"), str(out), str(model), str(data), *(["--lora"] if lora else [])]
    if config is None:
        cmd = [sys.executable, *script]
    else:
        cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(CONFIGS / f"{config}.yaml"),
               "--num_processes", "2", "--mixed_precision", "no", "--main_process_port", "29531", *script,
               "--resume"]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-4000:]
    return json.loads((out / "report.json").read_text())


def weights(folder: Path) -> dict:
    """checkpoint-3 weights (or LoRA adapters) under one naming (ZeRO-3 keeps the module's own names)."""
    ckpt = folder / "checkpoint-3"
    sd = load_file(ckpt / ("adapter_model.safetensors" if (ckpt / "adapter_config.json").exists() else "model.safetensors"))
    return {k.replace("model.language_model.", "model.").replace("model.visual.", "visual."): v
            for k, v in sd.items()}


def assert_same_weights(got: dict, ref: dict) -> None:
    assert got.keys() == ref.keys()
    diff = torch.cat([(got[k] - ref[k]).abs().flatten() for k in ref])
    assert (diff > 1e-6).float().mean() < 1e-4, f"{int((diff > 1e-6).sum())} weights differ by > 1e-6"
    assert diff.max() < 1e-4, f"max weight difference {diff.max()}"


@pytest.fixture(scope="module", params=[False, True], ids=["full", "lora"])
def reference(request, tiny_qwen2_vl, records, tmp_path_factory):
    out = tmp_path_factory.mktemp("one_process")
    return request.param, run_update(out, tiny_qwen2_vl, records, lora=request.param), weights(out), out


@pytest.mark.parametrize("config", ["ddp", pytest.param("zero2", marks=needs_deepspeed),
                                    pytest.param("zero3", marks=needs_deepspeed)])
def test_two_processes_give_the_one_process_update(config, reference, tiny_qwen2_vl, records, tmp_path):
    """... and with LoRA (lora.r=8 on the frozen base): the same adapters, and the same merged
    weights pushed to vLLM, gathered from the shards."""
    lora, ref, ref_weights, ref_out = reference
    got = run_update(tmp_path / "run", tiny_qwen2_vl, records, config, lora)
    assert got["world"] == 2 and got["distributed_type"].endswith("DEEPSPEED" if "zero" in config else "MULTI_CPU")
    ranks = got["per_rank"]
    assert [s["local_valid"] for s in (ranks[0][0], ranks[1][0])] == [1, 2]  # alpha needs global counts
    assert ranks[0][0]["local_chunks"] != ranks[1][0]["local_chunks"]  # ... and equal micro-batch counts
    assert ranks[0][0]["micro_batches"] == ranks[1][0]["micro_batches"]
    for a, b in zip(got["steps"], ref["steps"]):
        assert a["alpha"] == b["alpha"] == pytest.approx(4 / 3)
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5, abs=1e-7)
        assert a["grad_norm"] == pytest.approx(b["grad_norm"], rel=1e-5)
        assert a["lr"] == pytest.approx(b["lr"])
    assert_same_weights(weights(tmp_path / "run"), ref_weights)
    assert lora == all(".lora_" in k for k in ref_weights)
    if lora:
        assert_same_weights(load_file(tmp_path / "run" / "merged.safetensors"), load_file(ref_out / "merged.safetensors"))
    # the weights the vLLM engine would push are the full, gathered ones
    assert not got["pushed_names_missing"] and got["pushed_max_diff"] == 0.0

    resumed = got["resumed"]  # a fresh setup from checkpoint-2: HF weights + optimizer, scheduler
    assert [s["step"] for s in resumed] == [3]
    assert resumed[0]["loss"] == pytest.approx(got["steps"][2]["loss"], rel=1e-6, abs=1e-8)
    assert resumed[0]["grad_norm"] == pytest.approx(got["steps"][2]["grad_norm"], rel=1e-6)
    assert_same_weights(weights(tmp_path / "run" / "resumed"), weights(tmp_path / "run"))
    if "zero" in config:  # optimizer state: DeepSpeed's per-rank shards, next to the HF weights
        assert sorted(p.name for p in (tmp_path / "run" / "checkpoint-2" / "deepspeed" / "optimizer").glob("*optim*")) \
            == ["zero_pp_rank_0_mp_rank_00_optim_states.pt", "zero_pp_rank_1_mp_rank_00_optim_states.pt"]


@needs_deepspeed
def test_zero3_processes_finishing_at_different_steps_stay_in_step(tiny_qwen2_vl, tmp_path):
    """Shared-prefix decoding, the probe, periodic eval and the loop under ZeRO-3 (every forward collective)."""
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(CONFIGS / "zero3.yaml"),
           "--num_processes", "2", "--mixed_precision", "no", "--main_process_port", "29533",
           str(ROOT / "tests" / "dist_rollout.py"), str(tmp_path), str(tiny_qwen2_vl)]
    # ~65 s alone, ~120 s with two busy neighbours on 2 cores; a deadlock never ends, so the
    # limit only needs to sit far above a loaded machine's time (180 s was hit in CI)
    try:
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                           env={**os.environ, "OMP_NUM_THREADS": "1"})
    except subprocess.TimeoutExpired as err:  # say how far each process got
        out, errs = (b.decode(errors="replace") if isinstance(b, bytes) else b or "" for b in (err.stdout, err.stderr))
        pytest.fail(f"hung (deadlock?) after 600 s\nstdout: {out[-2000:]}\nstderr: {errs[-4000:]}")
    assert r.returncode == 0, r.stderr[-4000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["sharded"].endswith("DEEPSPEED")
    first, second = report["lengths"]
    assert first["lengths"] == [1] * 8  # process 0 stopped after one token ...
    assert max(second["lengths"]) > 1  # ... while process 1 went on decoding
    assert report["probe"]["n"] == 6 and report["after"]["n"] == 6  # all processes probed, main reported
    assert "eval/fewshot_flower102/accuracy" in report["eval"]  # ... and evaluated (with its breakdowns)
    assert all(k.startswith(("eval/fewshot_flower102/accuracy", "eval/fewshot_flower102/predicted/")) for k in report["eval"])
    assert report["eval_files"] == ["fewshot_flower102.jsonl", "fewshot_flower102.settings.json"]
    assert isinstance(report["loss"], float)
