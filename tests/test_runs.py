"""Runs as users run them, through the real CLI on the tiny model: bf16 at the paper's
learning rate, kill -9 then `ckpt.resume=auto`, GRPO with several updates per rollout and
a KL reference, a NaN loss, a bad `ckpt.resume`."""

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest
import torch
from cli_helpers import ROOT, cli, rows, script, small_run, without_timings
from safetensors.torch import load_file


def weights(folder):
    return load_file(folder / "model.safetensors")


def trained(folder):
    """What a checkpoint trained: its full weights, or its LoRA adapters."""
    return load_file(folder / ("adapter_model.safetensors" if (folder / "adapter_config.json").exists()
                               else "model.safetensors"))


LORA = pytest.mark.parametrize("lora", [[], ["lora.r=8", "optim.lr=3e-3"]], ids=["full", "lora"])


def test_bf16_at_lr_1e6_moves_the_weights(tiny_qwen2_vl, tmp_path):
    """bf16 compute keeps float32 master weights: at lr 1e-6 (half a bf16 step is ~4e-3 of a
    weight of 1) the updates survive, where bf16 parameters moved 2.4% of the elements."""
    runs = {}
    for dtype in ("bfloat16", "float32"):
        out = tmp_path / dtype
        r = cli(*small_run(tiny_qwen2_vl, out, 3, data=tmp_path / "data" / "train.jsonl"), f"model.dtype={dtype}",
                "optim.lr=1e-6", "probe.size=0", "algo.beta_th=0")
        assert r.returncode == 0, r.stderr[-3000:]
        runs[dtype] = weights(out / "checkpoint-3")
    start = weights(tiny_qwen2_vl)
    after = runs["bfloat16"]
    assert all(v.dtype == torch.float32 for v in after.values())  # the checkpoint holds the trained masters
    tensors = sum(not torch.equal(start[k], after[k]) for k in start) / len(start)
    elements = sum(int((start[k] != after[k]).sum()) for k in start) / sum(v.numel() for v in start.values())
    update = {d: torch.cat([(w[k] - start[k]).flatten() for k in start]) for d, w in runs.items()}
    cosine = float(torch.nn.functional.cosine_similarity(update["bfloat16"], update["float32"], dim=0))
    print(f"bf16, lr 1e-6, 3 steps: tensors moved {tensors:.3f}, elements moved {elements:.3f}, "
          f"cosine to the float32 run's update {cosine:.3f}")
    assert tensors >= 0.9 and elements >= 0.5
    assert cosine > 0.5


@LORA
def test_kill9_mid_save_and_mid_step_then_resume_auto_is_exact(tiny_qwen2_vl, tmp_path, lora):
    """Two crashes, each followed by `ckpt.resume=auto` ALONE: one while checkpoint-4 is half
    written (resume from checkpoint-2), one inside step 7's update (resume from checkpoint-6,
    which holds carried groups that step 7 trains on).
    The metrics equal an uninterrupted run's exactly, one row per step, and so do the weights
    (with LoRA: the adapters, over the frozen base that resume reloads from model.path)."""
    data = tmp_path / "data" / "train.jsonl"
    ref, out = tmp_path / "ref", tmp_path / "crash"
    # half the records score 0 (degenerate groups), beta_th 1: resampling leaves surplus groups to carry
    carry = ["rewards.weights={'tests/plugins/toy_rewards.py:even_records_only': 1.0}", "rewards.args={}", "algo.beta_th=1.0",
             "algo.max_resample_attempts=3"]
    args = lambda o: small_run(tiny_qwen2_vl, o, 7, data=data) + ["ckpt.every=2", "probe.size=0", *carry, *lora]  # noqa: E731
    one_thread = {"OMP_NUM_THREADS": "1"}  # as the crash script runs: the same reduction order
    r = cli(*args(ref), "ckpt.resume=auto", env=one_thread)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "no complete checkpoint under" in r.stderr  # auto with nothing to resume: a fresh start, said
    crash = script("crash_run.py", "save", "4", *args(out)[2:])
    assert crash.returncode == -signal.SIGKILL, crash.stderr[-3000:]
    assert (out / "checkpoint-2").is_dir() and (out / "checkpoint-4.tmp").is_dir()
    assert [row["step"] for row in rows(out)] == [1, 2, 3, 4]
    crash = script("crash_run.py", "step", "5", *args(out)[2:], "ckpt.resume=auto")  # its 5th update: step 7
    assert crash.returncode == -signal.SIGKILL, crash.stderr[-3000:]
    assert "resuming from" in crash.stderr and "checkpoint-2" in crash.stderr
    assert [row["step"] for row in rows(out)] == [1, 2, 3, 4, 5, 6]
    r = cli(*args(out), "ckpt.resume=auto", env=one_thread)
    assert r.returncode == 0, r.stderr[-3000:]
    got, want = rows(out), rows(ref)
    assert [row["step"] for row in got] == list(range(1, 8))
    assert [without_timings(g) for g in got] == [without_timings(w) for w in want]
    final, expected = trained(out / "checkpoint-7"), trained(ref / "checkpoint-7")
    assert final.keys() == expected.keys() and all(torch.equal(final[k], expected[k]) for k in expected)
    assert bool(lora) == all(".lora_" in k for k in final)
    assert any(row["gpg/carried_in"] for row in want), "no carried groups"
    assert want[6]["gpg/carried_in"] > 0, "step 7 trains groups carried across checkpoint-6"
    assert (out / "reward_curve.png").exists()


def test_grpo_with_two_updates_per_rollout_clips_and_keeps_its_reference(tiny_qwen2_vl, tmp_path):
    """algo.loss=grpo alone is GRPO: std advantages, no alpha, no resampling, a KL reference,
    and mu=2 real updates whose second one sees ratios away from 1 (clipped)."""
    out = tmp_path / "grpo"
    r = cli(*small_run(tiny_qwen2_vl, out, 3), "algo.loss=grpo", "algo.updates_per_rollout=2", "optim.lr=0.01",
            "probe.size=0")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "not applied" in r.stderr  # the demo preset's GPG settings were not carried over
    got = rows(out)
    assert all(row["gpg/alpha"] == 1.0 and row["gpg/resample_attempts"] == 1 for row in got)
    assert max(row["loss/clip_frac"] for row in got) > 0
    assert all(row["loss/kl"] >= 0 for row in got) and got[-1]["loss/kl"] > 1e-4  # the reference stays put
    assert all(row["rollout/logprob_diff"] < 1e-5 for row in got)  # HF engine, fp32: the same numbers


def test_non_finite_loss_skips_the_step_then_stops_the_run(tiny_qwen2_vl, tmp_path):
    out = tmp_path / "nan"
    r = script("nan_run.py", str(out), "2,4,5,6", *small_run(tiny_qwen2_vl, out, 8)[2:], "probe.size=0",
               "optim.max_skipped=3", "algo.beta_th=0")
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads((out / "nan_report.json").read_text())
    steps = report["steps"]  # updates 2, 4, 5, 6 poisoned; the 6th is the third in a row: the run stops in it
    assert [s["weights_changed"] for s in steps] == [True, False, True, False, False]
    assert [s["optimizer_changed"] for s in steps] == [True, False, True, False, False]
    assert [s["skipped_steps"] for s in steps] == [0, 1, 1, 2, 3]
    assert "3 steps in a row had a non-finite loss" in report["stopped"] and "optim.max_skipped=3" in report["stopped"]


def test_bad_resume_path_fails_naming_ckpt_resume_before_any_model_work(tiny_qwen2_vl, tmp_path):
    out = tmp_path / "run"
    r = cli(*small_run(tiny_qwen2_vl, out, 1), f"ckpt.resume={tmp_path}/nope")
    assert r.returncode == 2 and f"ckpt.resume={tmp_path}/nope: not a complete checkpoint" in r.stderr
    assert "Traceback" not in r.stderr and "Loading weights" not in r.stderr
    half = tmp_path / "checkpoint-9"
    shutil.copytree(tiny_qwen2_vl, half)  # weights and config, but no trainer state
    r = cli(*small_run(tiny_qwen2_vl, out, 1), f"ckpt.resume={half}")
    assert r.returncode == 2 and "missing trainer_state.pt" in r.stderr and "Loading weights" not in r.stderr
    r = cli(*small_run(tiny_qwen2_vl, out, 1), f"ckpt.resume={half}", "lora.r=8")  # full weights, a LoRA run
    assert r.returncode == 2 and "missing LoRA adapters (adapter_config.json): it holds full weights" in r.stderr


@LORA
def test_two_processes_resume_each_their_own_state(tiny_qwen2_vl, tmp_path, lora):
    """2 gloo processes, carried groups in the checkpoint: a resume restores each process's own
    carry, sampler and RNG (not the main process's for all), so steps 3-4 equal the uninterrupted
    run's exactly."""
    data = tmp_path / "data" / "train.jsonl"
    carry = ["rewards.weights={'tests/plugins/toy_rewards.py:even_records_only': 1.0}", "rewards.args={}",
             "algo.beta_th=1.0", "algo.max_resample_attempts=3", "probe.size=0", "ckpt.every=2", *lora]

    def torchrun(out, *extra):
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
               "-m", "gpg_vl.train", *small_run(tiny_qwen2_vl, out, 4, data=data), *carry, *extra]
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                           env={**os.environ, "OMP_NUM_THREADS": "1"})
        assert r.returncode == 0, r.stderr[-4000:]
        return r

    full, resumed = tmp_path / "full", tmp_path / "resumed"
    torchrun(full)
    states = [torch.load(full / "checkpoint-2" / f"rank{i}.pt", weights_only=False) for i in (0, 1)]
    carried = [[r.id for r in s["carry"].prompts.records] if s["carry"] is not None else [] for s in states]
    assert any(carried), "no carried groups at checkpoint-2"
    assert not set(carried[0]) & set(carried[1])  # each process carries its own groups
    assert not torch.equal(states[0]["rng"]["torch"], states[1]["rng"]["torch"])
    resumed.mkdir()
    shutil.copytree(full / "checkpoint-2", resumed / "checkpoint-2")
    (resumed / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows(full)[:2]))
    r = torchrun(resumed, "ckpt.resume=auto")
    assert "resuming from" in r.stderr
    assert [without_timings(g) for g in rows(resumed)] == [without_timings(w) for w in rows(full)]
    final, expected = trained(resumed / "checkpoint-4"), trained(full / "checkpoint-4")
    assert final.keys() == expected.keys() and all(torch.equal(final[k], expected[k]) for k in expected)
