"""The real CLI on the tiny model: parameters change, metrics and checkpoints are written,
bad data stops the run before any model work, and 2 processes stay in lock-step."""

import json
import os
import subprocess
import sys

import pytest
import torch
from cli_helpers import PLUGIN, ROOT, cli, small_run
from safetensors.torch import load_file


def test_cli_trains_and_every_parameter_changes(tiny_qwen2_vl, tmp_path):
    out = tmp_path / "run"
    result = cli(*small_run(tiny_qwen2_vl, out))
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    assert [l["step"] for l in lines] == [1, 2, 3]
    for key in (f"reward/{PLUGIN}", "reward/answer_match", "reward/total", "loss/policy", "gpg/alpha",
                "gpg/valid_group_frac", "gpg/resample_attempts", "rollout/completion_len",
                "time/rollout", "time/reward", "time/forward", "time/backward", "time/optim"):
        assert key in lines[-1], key
    assert all(l["gpg/alpha"] == pytest.approx(1 / l["gpg/valid_group_frac"]) for l in lines if l["gpg/valid_group_frac"])
    assert list((out / "tb").iterdir()), "no TensorBoard events"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["probe_before"]["n"] == 8 and 0 <= summary["probe_after"]["accuracy"] <= 1
    before = load_file(tiny_qwen2_vl / "model.safetensors")
    after = load_file(out / "checkpoint-3" / "model.safetensors")
    assert before.keys() == after.keys()
    unchanged = [k for k in before if torch.equal(before[k], after[k])]
    assert not unchanged, f"parameters that did not change: {unchanged}"
    assert (out / "checkpoint-3" / "trainer_state.pt").exists()
    assert (out / "reward_curve.png").exists()


def test_bad_data_fails_before_model_work(tiny_qwen2_vl, tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"id": "a", "task": "classification", "images": ["missing.png"],
                                "problem": "What color?", "answer": "red"}) + "\n")
    r = cli("--preset", "demo", f"model.path={tiny_qwen2_vl}", f"data.train={data}", "data.synthetic=''",
            "probe.size=0", f"log.out_dir={tmp_path}/o")
    assert r.returncode == 2
    assert f"data error: {data}:1 (id=a): field 'images[0]'" in r.stderr and "image file not found" in r.stderr
    assert "loading weights" not in r.stderr and "Traceback" not in r.stderr
    good = tmp_path / "good.jsonl"
    (tmp_path / "img.png").write_bytes((ROOT / "tests" / "plugins" / "red.png").read_bytes())
    good.write_text(json.dumps({"id": "long-one", "task": "classification", "images": ["img.png"],
                                "problem": "What color? " * 20, "answer": "red"}) + "\n")
    r = cli("--preset", "demo", f"model.path={tiny_qwen2_vl}", f"data.train={good}", "data.synthetic=''",
            "probe.size=0", "rollout.max_prompt_length=32", f"log.out_dir={tmp_path}/o")
    assert r.returncode == 2 and "good.jsonl:1 (id=long-one)" in r.stderr and "max_prompt_length=32" in r.stderr
    assert "Loading weights" not in r.stderr  # rejected before the weights load
    r = cli("--preset", "demo", "optim.lr=fast")
    assert r.returncode == 2 and "key 'optim.lr' expects float" in r.stderr
    r = cli("--preset", "demo", f"model.path={tmp_path}/no-model-needed", "model.build_tiny=''",
            f"data.train={good}", "data.synthetic=''", "probe.size=0", "rollout.engine=vllm",
            "rollout.engine_args={tensor_paralel_size: 2}", f"log.out_dir={tmp_path}/o")
    assert r.returncode == 2  # a typo in an engine option: named, with the valid ones, before anything loads
    assert "rollout.engine_args.tensor_paralel_size: VLLMEngine takes no such option" in r.stderr
    assert "tensor_parallel_size" in r.stderr.split("valid:")[1]


def test_two_processes_stay_identical_and_alpha_is_global(tiny_qwen2_vl, tmp_path):
    out = tmp_path / "dist"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           str(ROOT / "tests" / "dist_train.py"), str(out), *small_run(tiny_qwen2_vl, out, 3)[2:],
           "rewards.weights={'tests/plugins/toy_rewards.py:even_records_only': 1.0}", "rewards.args={}",
           "algo.beta_th=0"]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-4000:]
    report = json.loads((out / "dist_report.json").read_text())
    assert report["world"] == 2
    assert report["max_param_diff_across_ranks"] == 0.0
    assert report["params_changed"]
    for step in report["steps"]:  # alpha = global groups / global valid groups, same on both ranks
        valid = sum(step["local_valid"])
        expected = 8 / valid if valid else 1.0
        assert step["alpha"] == [pytest.approx(expected)] * 2
    assert any(a["alpha"][0] != 1.0 for a in report["steps"]), "no step exercised alpha != 1"
    assert any(len(set(a["local_valid"])) > 1 for a in report["steps"]), "ranks never differed"
    assert report["distinct_prompts_per_step"]  # ranks drew different prompts
