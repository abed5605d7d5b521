"""The evidence study's parts on real tiny models: the SFT warm-start, the synthetic study
tasks, the probe's controls and per-label report, equal-rollout budgets, rollout entropy."""

import json
import math
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from cli_helpers import cli, rows, small_run
from data_prep.synthetic import write_synthetic
from gpg_vl import families
from gpg_vl.config import load_config
from gpg_vl.data.collator import PromptCollator
from gpg_vl.data.loading import load_records
from gpg_vl.models import load_processor
from gpg_vl.probe import blind_best, derangement, label_report, rescored
from gpg_vl.rewards import build_rewards, get_reward
from gpg_vl.rewards.context import RewardContext
from gpg_vl.rollout import RolloutBatch
from gpg_vl.sft import target_completion, main as sft_main


# --- synthetic tasks -----------------------------------------------------------------

@pytest.mark.parametrize("task,labels", [("classification", 6), ("counting", 4)])
def test_study_tasks_hold_every_label_and_need_the_image(tmp_path, task, labels):
    records = load_records(write_synthetic(task, 300, tmp_path, "train", seed=0))
    assert len({str(r.answer) for r in records}) == labels
    assert len({r.problem for r in records}) == 1  # the question says nothing: the answer is in the pixels


def test_grounding_boxes_are_the_named_shape_in_original_pixels(tmp_path):
    from PIL import Image

    from data_prep.synthetic import COLORS6, DISTRACTOR
    records = load_records(write_synthetic("grounding", 20, tmp_path, "train", seed=0))
    for r in records:
        color = r.problem.split()[2]
        x1, y1, x2, y2 = (int(v) for v in r.answer)
        with Image.open(r.images[0]) as im:
            centre = im.convert("RGB").getpixel(((x1 + x2) // 2, (y1 + y2) // 2))
            colours = {c for _, c in im.convert("RGB").getcolors(maxcolors=1 << 16)}
        assert centre == COLORS6[color]  # the box's centre is painted in the asked colour
        assert 31 <= x2 - x1 <= 51 and 0 <= x1 and x2 <= 112  # 2x2 cells of 56 px
        # the other shape is a plain grey distractor: no other of the six colours is drawn
        assert DISTRACTOR in colours and colours & set(COLORS6.values()) == {COLORS6[color]}


def test_counting_answer_is_the_number_of_occupied_grid_cells(tmp_path):
    from PIL import Image

    from data_prep.synthetic import BACKGROUND
    records = load_records(write_synthetic("counting", 40, tmp_path, "train", seed=0))
    for r in records:
        with Image.open(r.images[0]) as im:
            rgb = im.convert("RGB")
            assert rgb.size == (56, 56)
            # a shape's far edge may touch the next cell's first pixel row/column (PIL draws both ends)
            occupied = sum(any(rgb.getpixel((x, y)) != BACKGROUND for x in range(cx + 1, cx + 28) for y in range(cy + 1, cy + 28))
                           for cx in (0, 28) for cy in (0, 28))
        assert occupied == r.answer  # one shape per occupied 28 px cell


@pytest.mark.parametrize("task", ["grounding", "classification", "counting"])
def test_study_presets_name_their_warm_start(task):
    from gpg_vl.config import PRESET_DIR

    cfg = load_config(f"study_{task}")
    assert cfg.data.synthetic == task and cfg.sft.steps > 0 and cfg.probe.size > 0
    assert cfg.algo.loss == "gpg" and cfg.rollout.group_size == 8
    header = (PRESET_DIR / f"study_{task}.yaml").read_text()
    assert f"python -m gpg_vl.sft --preset study_{task}" in header
    assert f"python -m gpg_vl.train --preset study_{task} model.path={cfg.sft.out_dir}" in header


# --- SFT ---------------------------------------------------------------------------

# the same physical box, [50, 30, 150, 120] on a 200 x 150 image, in each family's notation
@pytest.mark.parametrize("name", ["qwen2_vl", "qwen2_5_vl", "qwen3_vl", "smolvlm"])
def test_the_taught_box_scores_iou_one_under_the_familys_own_reward(name):
    family = families.get(name)
    record = SimpleNamespace(task="grounding", answer=[50.0, 30.0, 150.0, 120.0], meta={"image_size": [200, 150]})
    text = target_completion(record, family, (200, 150), (224, 168), "<think> </think><answer>{answer}</answer>")
    ctx = RewardContext([[(200, 150)]], [[(224, 168)]], model_family=name)
    assert get_reward("iou")([text], [record], ctx) == [pytest.approx(1.0, abs=0.02)]
    assert get_reward("format")([text], [record], ctx) == [1.0]
    expected = {"qwen2_vl": "(250,200),(750,800)", "qwen2_5_vl": "[56, 34, 168, 134]",
                "qwen3_vl": "[250, 200, 750, 800]", "smolvlm": "[0.25, 0.2, 0.75, 0.8]"}[name]
    assert expected in text


def test_sft_teaches_the_answer_and_saves_a_checkpoint_the_trainer_loads(tiny_qwen2_vl, tmp_path):
    data = write_synthetic("color", 64, tmp_path / "data", "train", seed=0)
    args = ["--preset", "demo", f"model.path={tiny_qwen2_vl}", f"data.train={data}", "sft.steps=30",
            "sft.lr=3e-3", "sft.prompts_per_step=16", f"sft.out_dir={tmp_path / 'sft'}", "probe.size=0"]
    assert sft_main(args) == 0
    summary = json.loads((tmp_path / "sft" / "gpg_vl_sft.json").read_text())
    history = [json.loads(line) for line in (tmp_path / "sft" / "sft_log.jsonl").open()]
    assert len(history) == 30 and summary["final_loss"] == history[-1]["loss"]
    # the answer is a colour word + <|im_end|>: from ~log(768) = 6.6 nats a token to well under log(3)
    assert history[0]["loss"] > 4.0 and sum(h["loss"] for h in history[-5:]) / 5 < 1.0
    r = cli("--preset", "demo", f"model.path={tmp_path / 'sft'}", f"data.train={data}", "optim.steps=1",
            "probe.size=0", f"log.out_dir={tmp_path / 'rl'}", "log.progress=false")
    assert r.returncode == 0, r.stderr[-2000:]
    assert rows(tmp_path / "rl")[-1]["reward/answer_match"] > 0.2  # it already answers colour words


@pytest.mark.parametrize("bad,message", [("sft.steps=0", "sft.steps must be > 0"),
                                         ("lora.r=8", "sft trains every parameter"),
                                         ("sft.answer_format=<answer></answer>", "must hold {answer}")])
def test_sft_refuses_bad_settings_with_one_message(tiny_qwen2_vl, tmp_path, capsys, bad, message):
    args = ["--preset", "demo", f"model.path={tiny_qwen2_vl}", f"data.train={tmp_path}/d/train.jsonl",
            "sft.steps=5", bad]
    assert sft_main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


# --- the probe's parts ----------------------------------------------------------------

def test_derangement_moves_every_record_and_is_seeded():
    for n in (2, 3, 10, 300):
        perm = derangement(n, 7)
        assert sorted(perm) == list(range(n)) and all(i != p for i, p in enumerate(perm))
        assert perm == derangement(n, 7)
    # records sorted by label (as converters write them): the next record's image mostly holds
    # the same label, a derangement's about as often as chance
    labels = [i // 50 for i in range(300)]  # 6 labels, 50 each, sorted
    nxt = sum(labels[i] == labels[(i + 1) % 300] for i in range(300)) / 300
    der = sum(labels[i] == labels[j] for i, j in enumerate(derangement(300, 0))) / 300
    assert nxt > 0.95 and der < 0.3


def probe_run(model: Path, weights: dict, args: dict, answer_format: str = "{answer}"):
    """The parts of a trainer Run the probe's scoring reads, all real."""
    processor = load_processor(load_config("demo", [f"model.path={model}"]).model,
                               load_config("demo").vision)
    family = families.family_at(model)
    cfg = load_config("demo", [f"sft.answer_format={answer_format}"])
    return SimpleNamespace(rewards=build_rewards(weights, args), collator=PromptCollator(processor, family),
                           family=family.name, cfg=cfg)


def batch_of(run, records: list, texts: list[str]) -> RolloutBatch:
    prompts = run.collator(records)
    n = len(records)
    return rescored(run, RolloutBatch(prompts, 1, torch.zeros(n, 1, dtype=torch.long),
                                      torch.ones(n, 1, dtype=torch.long), texts))


def test_label_report_shows_a_label_never_predicted(tiny_qwen2_vl, tmp_path):
    run = probe_run(tiny_qwen2_vl, {"answer_match": 1.0}, {"answer_match": {"extract": "first_word"}})
    records = load_records(write_synthetic("color", 60, tmp_path, "probe", seed=3))[:8]
    truth = [r.answer for r in records]
    # every blue record answered "red"; the others right, except one unreadable answer
    texts = ["red" if t == "blue" else t for t in truth]
    texts[next(i for i, t in enumerate(truth) if t != "blue")] = "42"
    report = label_report(run, [batch_of(run, records, texts)], top=1.0)
    n_blue = truth.count("blue")
    assert n_blue and report["accuracy/blue"] == 0.0 and report["predicted/blue"] == 0.0
    assert report["predicted/other"] == pytest.approx(1 / 8)
    assert report["predicted/red"] == pytest.approx(texts.count("red") / 8)
    assert report["accuracy/red"] == pytest.approx(sum(t == x == "red" for t, x in zip(truth, texts)) / truth.count("red"))
    assert sum(v for k, v in report.items() if k.startswith("predicted/")) == pytest.approx(1.0)


def test_blind_ceiling_is_the_best_fixed_box(tiny_qwen2_5_vl, tmp_path):
    run = probe_run(tiny_qwen2_5_vl, {"iou": 1.0}, {})
    records = load_records(write_synthetic("grounding", 4, tmp_path, "probe", seed=0))
    same = [10.0, 10.0, 40.0, 40.0]
    for r in records[:3]:
        r.answer = same
    records[3].answer = [70.0, 70.0, 100.0, 100.0]  # disjoint from the others
    best, rules = blind_best(run, [batch_of(run, records, [""] * 4)])
    assert best == pytest.approx(0.75, abs=0.01) and rules["iou"] == pytest.approx(0.75, abs=0.01)


# --- the loop: equal rollouts, entropy, periodic probes ------------------------------

def test_rollout_budget_entropy_and_periodic_probe(tiny_qwen2_vl, tmp_path):
    out = tmp_path / "run"
    r = cli(*small_run(tiny_qwen2_vl, out, steps=20), "optim.max_rollouts=10", "probe.every=1",
            "algo.beta_th=1.0", "algo.max_resample_attempts=3")
    assert r.returncode == 0, r.stderr[-2000:]
    logged = rows(out)
    steps = [x for x in logged if "reward/total" in x]
    # 4 prompts per rollout, resampled up to 3 times a step: the budget of 10 groups ends the run early
    assert 1 <= len(steps) < 20
    assert steps[-1]["rollout/groups_sampled"] >= 10
    assert len(steps) == 1 or steps[-2]["rollout/groups_sampled"] < 10
    # a random policy over a 768-token vocabulary: close to uniform, below log(V)
    for x in steps:
        assert 4.0 < x["rollout/entropy"] < math.log(768)
    probed = [x["step"] for x in logged if "probe/accuracy" in x]
    assert probed == list(range(len(steps) + 1))  # the warm start (step 0), then every step
    assert "probe/shuffled_image_accuracy" in logged[0] and "probe/shuffled_image_accuracy" not in logged[-1]


def test_a_failed_study_cell_gives_its_claim_back(tmp_path, monkeypatch):
    """bench/study.py: a cell whose run fails raises and removes its claim, so the next study
    process runs it instead of skipping it as "running elsewhere"; --set overrides follow the arm's."""
    import importlib.util

    from cli_helpers import ROOT
    spec = importlib.util.spec_from_file_location("study", ROOT / "bench" / "study.py")
    study = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "study", study)  # its dataclasses look their module up
    spec.loader.exec_module(study)
    task = tmp_path / "classification"
    (task / "sft").mkdir(parents=True)
    (task / "sft" / "gpg_vl_sft.json").write_text("{}")  # a "finished" warm start with no weights
    (task / "data").mkdir()
    (task / "data" / "heldout.jsonl").write_text("")
    with pytest.raises(RuntimeError, match="failed") as failed:  # the trainer exits 2: no model there
        study.run_cell(tmp_path, "classification", "gpg_beta0", 0, extra=("optim.lr=3e-4",))
    assert failed.value.args[0].split(" failed")[0].endswith("algo.beta_th=0 optim.lr=3e-4")  # --set comes last
    assert not (task / "gpg_beta0-s0.claim").exists()
    assert (task / "gpg_beta0-s0.log").exists()
