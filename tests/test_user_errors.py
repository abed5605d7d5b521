"""Issue 14: every input fault a user makes ends in exit 2 and one message naming the key or
file:line, id and field, before any weights load (and, where it can, before data loads).

Most runs call `gpg_vl.train.main` in-process with `load_model` replaced by a tripwire;
the ones about tracebacks, the hub and environment variables run the real CLI.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import gpg_vl.models
from gpg_vl import train as train_cli
from gpg_vl.config import load_config

ROOT = Path(__file__).resolve().parents[1]
RED = ROOT / "tests" / "plugins" / "red.png"  # 56x56


@pytest.fixture
def no_weights(monkeypatch):
    """Fails the test if any model weights load."""
    def tripwire(cfg, *args, **kwargs):
        raise AssertionError(f"weights loaded from {cfg.path} before the error")
    from gpg_vl import trainer

    monkeypatch.setattr(gpg_vl.models, "load_model", tripwire)
    monkeypatch.setattr(trainer, "load_model", tripwire)


def records_file(tmp_path, *records, name="d.jsonl"):
    shutil.copy(RED, tmp_path / "red.png")
    base = {"id": "r0", "task": "grounding", "images": ["red.png"], "problem": "Where is the shape?",
            "answer": [2, 2, 30, 30]}
    lines = [json.dumps({**base, "id": f"r{i}", **r}) if isinstance(r, dict) else r for i, r in enumerate(records)]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def run_main(capsys, tmp_path, *overrides, preset="refcoco_grounding", model=None):
    args = ["--preset", preset, f"log.out_dir={tmp_path}/run", "log.progress=false", "probe.size=0",
            *([f"model.path={model}"] if model else []), *overrides]
    code = train_cli.main(args)
    err = capsys.readouterr().err
    return code, err


# --- fault 1: answers that are not what the task needs ------------------------------------

@pytest.mark.parametrize("answer,message", [
    ([10, 10, 500, 500], "[10.0, 10.0, 500.0, 500.0] does not fit the 56x56 image (tolerance 2 px)"),
    ([10, "10", 30, 30], "is not a box [x1, y1, x2, y2] of 4 numbers"),
    ("NaN", "has a NaN or infinite coordinate"),
    ([10, 10, 30], "is not a box [x1, y1, x2, y2] of 4 numbers"),
    ([30, 10, 10, 30], "has no area: needs x1 < x2 and y1 < y2"),
])
def test_bad_grounding_box_stops_the_run(capsys, tmp_path, tiny_qwen2_vl, no_weights, answer, message):
    bad = '{"id": "r1", "task": "grounding", "images": ["red.png"], "problem": "Where?", "answer": [1, NaN, 3, 4]}' \
        if answer == "NaN" else {"answer": answer}
    data = records_file(tmp_path, {}, bad)
    code, err = run_main(capsys, tmp_path, f"data.train={data}", model=tiny_qwen2_vl)
    assert code == 2, err
    assert f"data error: {data}:2 (id=r1): field 'answer': " in err and message in err


def test_iou_on_a_classification_record_is_refused(capsys, tmp_path, tiny_qwen2_vl, no_weights):
    data = records_file(tmp_path, {}, {"task": "classification", "answer": "red"})
    code, err = run_main(capsys, tmp_path, f"data.train={data}", model=tiny_qwen2_vl)
    assert code == 2
    assert (f"{data}:2 (id=r1): field 'task': reward 'iou' cannot score task 'classification' "
            "(it scores: grounding)") in err


def test_skip_counts_logs_and_skips_bad_answers(capsys, tmp_path, tiny_qwen2_vl, no_weights, caplog):
    data = records_file(tmp_path, {}, {"answer": [10, 10, 500, 500]}, {"task": "classification", "answer": "red"})
    with pytest.raises(AssertionError, match="weights loaded"):  # past the data, with the one good record
        run_main(capsys, tmp_path, f"data.train={data}", "data.on_bad_record=skip", model=tiny_qwen2_vl)
    assert "skipped 2 bad record(s): {'answer': 1, 'reward/task': 1}" in caplog.text


# --- fault 2: model.path ------------------------------------------------------------------

def test_missing_model_folder_is_named_before_data_loads(capsys, tmp_path, no_weights, monkeypatch):
    import gpg_vl.data.prepare
    monkeypatch.setattr(gpg_vl.data.prepare, "load_records", lambda *a, **k: pytest.fail("data loaded"))
    data = records_file(tmp_path, {})
    code, err = run_main(capsys, tmp_path, f"data.train={data}", model=f"{tmp_path}/no/such/ckpt")
    assert code == 2
    assert f"config error: model.path={tmp_path}/no/such/ckpt: no such folder" in err


def test_folder_that_is_not_a_checkpoint(capsys, tmp_path, no_weights):
    data = records_file(tmp_path, {})
    code, err = run_main(capsys, tmp_path, f"data.train={data}", model=tmp_path)
    assert code == 2 and "no config.json, so not a Hugging Face checkpoint" in err


def cli(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "gpg_vl.train", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


@pytest.mark.parametrize("env,message", [
    ({"HF_ENDPOINT": "http://127.0.0.1:9"}, "the Hub (http://127.0.0.1:9) cannot be reached"),
    ({"HF_HUB_OFFLINE": "1"}, "not in the local Hugging Face cache"),
])
def test_unreachable_hub_fails_in_seconds(tmp_path, env, message):
    data = records_file(tmp_path, {})
    start = time.monotonic()
    r = cli("--preset", "refcoco_grounding", f"data.train={data}", f"log.out_dir={tmp_path}/run",
            env={"HF_HOME": str(tmp_path / "hf"), **env})
    assert r.returncode == 2, r.stderr[-2000:]
    assert "config error: model.path=Qwen/Qwen2-VL-2B-Instruct:" in r.stderr and message in r.stderr
    assert "HF_HUB_OFFLINE" in r.stderr and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and "loading weights" not in r.stderr
    assert time.monotonic() - start < 60  # the import of torch included; the hub check itself is seconds


def test_debug_env_shows_the_traceback(tmp_path):
    r = cli("--preset", "demo", "model.path=/no/such/model", "model.build_tiny=", f"log.out_dir={tmp_path}",
            env={"GPG_VL_DEBUG": "1"})
    assert r.returncode == 1 and "Traceback" in r.stderr and "ConfigError: model.path=/no/such/model" in r.stderr


# --- fault 4: synthetic data only where it is safe ----------------------------------------

class _MainOnly:
    is_main_process = True

    def main_process_first(self):
        from contextlib import nullcontext
        return nullcontext()


def test_demo_typo_next_to_real_data_generates_nothing(capsys, tmp_path, no_weights):
    real = records_file(tmp_path, {"task": "classification", "answer": "red"}, name="mydata.jsonl")
    code, err = run_main(capsys, tmp_path, f"data.train={tmp_path}/mydta.jsonl", preset="demo")
    assert code == 2
    assert f"data.train={tmp_path}/mydta.jsonl does not exist" in err and f"did you mean {real}?" in err
    assert not (tmp_path / "mydta.jsonl").exists() and not (tmp_path / "images").exists()


def test_demo_generation_says_what_and_where(tmp_path, caplog):
    from data_prep.synthetic import write_synthetic
    from gpg_vl.data.prepare import load_training_data

    cfg = load_config("demo", [f"data.train={tmp_path}/new/train.jsonl", "data.synthetic_size=6"])
    records = load_training_data(cfg, _MainOnly(), write_synthetic).records
    assert len(records) == 6
    assert f"generated 6 synthetic 'color' records at {tmp_path}/new/train.jsonl" in caplog.text


# --- fault 5: an empty override is the empty string ---------------------------------------

def test_empty_override_is_empty_string(capsys, tmp_path, no_weights):
    assert load_config("demo", ["model.build_tiny="]).model.build_tiny == ""
    assert load_config("demo", ["data.template={question} Why?"]).data.template == "{question} Why?"
    code, err = run_main(capsys, tmp_path, "model.path=/no/model", "model.build_tiny=", preset="demo")
    assert code == 2 and "model.path=/no/model: no such folder" in err and "expects" not in err


# --- fault 6: where a JSON or image error is ----------------------------------------------

def test_malformed_json_real_column_and_image_errors_name_id_and_field(capsys, tmp_path, tiny_qwen2_vl, no_weights):
    data = records_file(tmp_path, {}, '{"id": "r1", "task": ')
    code, err = run_main(capsys, tmp_path, f"data.train={data}", model=tiny_qwen2_vl)
    assert code == 2 and f"{data}:2: malformed JSON at column 22: Expecting value (the line ends there" in err
    data = records_file(tmp_path, {}, {"images": ["red.png", "nope.png"]})
    code, err = run_main(capsys, tmp_path, f"data.train={data}", model=tiny_qwen2_vl)
    assert code == 2 and f"{data}:2 (id=r1): field 'images[1]': image file not found" in err


# --- fault 7: a converter with a wrong --src creates nothing ------------------------------

def test_converter_missing_src_creates_nothing(tmp_path):
    r = subprocess.run([sys.executable, "-m", "data_prep.refcoco", "--src", tmp_path / "nope", "--out", tmp_path / "out"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 2 and "nope: no such file or folder" in r.stderr
    assert not (tmp_path / "out").exists()


# --- beyond the list: config, rewards, engine, run folder, trackers -----------------------

@pytest.mark.parametrize("override,message", [
    ("rewards.weights={iuo: 1.0}", "config error: rewards.weights: unknown reward 'iuo'; known:"),
    ("rewards.args={iou: {treshold: 0.5}}", "reward 'iou' does not accept option 'treshold'"),
    ("data.template=fancy", "data.template='fancy': a template name"),
    ("data.on_bad_record=ignore", "data.on_bad_record='ignore' is not one of: 'error', 'skip'"),
    ("model.dtype=bf16", "model.dtype='bf16' is not one of: 'float32', 'bfloat16', 'float16'"),
    ("model.attn_implementation=flash", "model.attn_implementation='flash' is not one of"),
    ("rollout.engine=sglang", "rollout.engine='sglang' is not one of: 'hf', 'vllm'"),
    ("log.report_to=[wandbb]", "unknown tracker 'wandbb'"),
    ("probe.size=10", "probe.size=10 needs a synthetic task (data.synthetic)"),
    ("data.image_root=/no/such/root", "data.image_root=/no/such/root: no such folder"),
    ("rewards.weights={}", "rewards.weights is empty"),
    ("optim.lr=fast", "key 'optim.lr' expects float"),
    ("rewards.weights={iou: 1.0", "key 'rewards.weights' expects dict"),
    ("rewards.model_family=qwen3", "rewards.model_family='qwen3' is not one of: 'auto', 'qwen2_vl'"),
    ("optim.betas=[0.9]", "optim.betas=[0.9]: must be two numbers in [0, 1)"),
    ("log.every=0", "log.every=0: must be >= 1"),
    ("eval.every=5", "eval.every=5 needs eval.benchmarks"),
])
def test_config_mistakes_are_named_before_any_data_or_weights(capsys, tmp_path, tiny_qwen2_vl, no_weights,
                                                              override, message):
    data = records_file(tmp_path, {})
    if message is None:  # accepted as it is
        with pytest.raises(AssertionError, match="weights loaded"):
            run_main(capsys, tmp_path, f"data.train={data}", model=tiny_qwen2_vl, *[override])
        return
    code, err = run_main(capsys, tmp_path, f"data.train={data}", model=tiny_qwen2_vl, *[override])
    assert code == 2 and message in err, err


def test_unknown_eval_benchmark(capsys, tmp_path, tiny_qwen2_vl, no_weights):
    data = records_file(tmp_path, {})
    code, err = run_main(capsys, tmp_path, f"data.train={data}", f"eval.benchmarks={{refcoco_vall: {data}}}",
                         model=tiny_qwen2_vl)
    assert code == 2 and "config error: eval.benchmarks: " in err and "refcoco_vall" in err


def test_checkpoint_without_weights(capsys, tmp_path, tiny_qwen2_vl, no_weights):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_qwen2_vl, ckpt, ignore=shutil.ignore_patterns("*.safetensors"))
    data = records_file(tmp_path, {})
    code, err = run_main(capsys, tmp_path, f"data.train={data}", model=ckpt)
    assert code == 2 and "config.json but no weights" in err


def test_data_train_typo_and_unset(capsys, tmp_path, tiny_qwen2_vl, no_weights):
    data = records_file(tmp_path, {}, name="train.jsonl")
    code, err = run_main(capsys, tmp_path, f"data.train={tmp_path}/trian.jsonl", model=tiny_qwen2_vl)
    assert code == 2 and f"no such file or folder; did you mean {data}?" in err
    code, err = run_main(capsys, tmp_path, "data.train=", model=tiny_qwen2_vl)
    assert code == 2 and "data.train is not set" in err


def test_run_folder_that_is_a_file(capsys, tmp_path, tiny_qwen2_vl, no_weights):
    data = records_file(tmp_path, {})
    code, err = run_main(capsys, tmp_path, f"data.train={data}", f"log.out_dir={data}", model=tiny_qwen2_vl)
    assert code == 2 and f"log.out_dir={data}: is a file" in err


def test_json_list_and_non_utf8_files(capsys, tmp_path, tiny_qwen2_vl, no_weights):
    listed = tmp_path / "rec.json"
    listed.write_text(json.dumps([{"image": "a.jpg", "solution": [1, 2, 3, 4]}], indent=1))
    code, err = run_main(capsys, tmp_path, f"data.train={listed}", model=tiny_qwen2_vl)
    assert code == 2 and "holds a JSON list; records are one JSON object per line" in err
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"id": "caf\xe9"}\n')
    code, err = run_main(capsys, tmp_path, f"data.train={latin}", model=tiny_qwen2_vl)
    assert code == 2 and "not UTF-8 text" in err


def test_readme_states_install_facts_and_troubleshooting():
    text = (ROOT / "README.md").read_text()
    assert "torch pins are the CPU build" not in text and "+cu130" in text
    for heading in ("## When something goes wrong", "GPG_VL_DEBUG=1", "HF_HUB_OFFLINE", "ckpt.resume",
                    "python -m gpg_vl.data check", "log.report_to"):
        assert heading in text, heading
