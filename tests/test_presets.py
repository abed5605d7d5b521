"""The task presets: paper settings, rewards on converter output, box conventions by model
family, and two real training steps each on the tiny offline models.

Every preset's data comes from its own converter run on a tiny source in the published
schema (presets_fixtures.py). One preset trains through the real CLI in a subprocess; the
others call `gpg_vl.train.main` in-process (the same code path, without a fresh interpreter).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from gpg_vl.config import PRESET_DIR, load_config
from gpg_vl.data.loading import load_records
from gpg_vl.rewards import RewardContext, RewardStack
from presets_fixtures import CONVERTED, GROUNDING_SIZE, REFCOCO_BOX

ROOT = Path(__file__).resolve().parents[1]

# name: (model.path, template, {accuracy rule: weight, format: weight}, max_new_tokens,
#        data.train, converter module, paper numbers the header must quote)
PRESETS = {
    "refcoco_grounding": ("Qwen/Qwen2-VL-2B-Instruct", "rec", {"iou": 1.0, "format": 1.0}, 256,
                          "/data/refcoco/train.jsonl", "vlm_r1_rec", ()),
    "lisa_grounding": ("Qwen/Qwen2-VL-2B-Instruct", "lisa", {"giou": 1.0, "format": 1.0}, 256,
                       "/data/lisa/train.jsonl", "lisa", ("26.9", "37.6", "51.8")),
    "fewshot_classification": ("Qwen/Qwen2-VL-2B-Instruct", "virft", {"answer_match": 1.0, "format": 1.0}, 256,
                               "/data/virft_flower/train.jsonl", "visual_rft_cls", ("56.0", "81.9", "89.0")),
    "clevr_count": ("Qwen/Qwen2-VL-2B-Instruct", "r1_number", {"count": 1.0, "format": 1.0}, 256,
                    "/data/clevr_count/train.jsonl", "clevr_count", ()),
    "sat_cvbench": ("Qwen/Qwen2-VL-2B", "r1_option", {"answer_match": 1.0, "format": 1.0}, 700,
                    "/data/sat/train.jsonl", "sat", ("31.38", "59.47", "76.15")),
    "geoqa": ("Qwen/Qwen2.5-VL-3B-Instruct", "r1_number", {"answer_match": 1.0, "format": 1.0}, 256,
              "/data/geoqa/train.jsonl", "geoqa", ("35.41", "47.48", "51.33")),
    "geometry3k": ("Qwen/Qwen2.5-VL-3B-Instruct", "r1", {"answer_match": 1.0, "format": 1.0}, 256,
                   "/data/geometry3k/train.jsonl", "geometry3k", ()),
}
R1_TAIL = "Output the thinking process in <think> </think> and"


def family_of(model_path: str) -> str:
    return "qwen2_5_vl" if "Qwen2.5-VL" in model_path else "qwen2_vl"


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> dict[str, Path]:
    """Preset name -> its converter's train.jsonl, built once for the module."""
    root = tmp_path_factory.mktemp("converted")
    out = {}
    for name, build in CONVERTED.items():
        (root / name).mkdir()
        out[name] = build(root / name)
    return out


# --- settings ---------------------------------------------------------------------------

def test_every_task_preset_has_a_converter_fixture():
    # the mix: test_mixed_tasks.py; the synthetic study's: test_study_parts.py
    shipped = {p.stem for p in PRESET_DIR.glob("*.yaml") if not p.stem.startswith("study_")} - {"demo", "grounding_geoqa"}
    assert shipped == set(PRESETS) == set(CONVERTED)


@pytest.mark.parametrize("name", PRESETS)
def test_preset_holds_the_paper_settings(name):
    path, template, weights, new_tokens, train, converter, numbers = PRESETS[name]
    cfg = load_config(name)
    assert cfg.model.path == path and cfg.model.dtype == "bfloat16"
    assert cfg.rollout.group_size == 8 and cfg.rollout.engine == "hf"
    assert (cfg.rollout.temperature, cfg.rollout.top_p, cfg.rollout.top_k) == (1.0, 1.0, 0)
    assert cfg.rollout.max_prompt_length == 1024 and cfg.rollout.max_new_tokens == new_tokens
    assert (cfg.vision.min_pixels, cfg.vision.max_pixels) == (3136, 401408)
    assert (cfg.optim.lr, cfg.optim.schedule, cfg.optim.warmup_steps, cfg.optim.grad_clip) == (1e-6, "linear", 0, 1.0)
    assert (cfg.optim.weight_decay, cfg.optim.betas) == (0.0, [0.9, 0.999])
    assert (cfg.algo.loss, cfg.algo.adv_norm, cfg.algo.alpha_correction, cfg.algo.kl_beta) == ("gpg", "none", True, 0.0)
    assert cfg.algo.beta_th == 0.4 and cfg.algo.max_resample_attempts == 20
    assert cfg.algo.aggregation == "seq_mean_token_mean"
    assert cfg.rewards.weights == weights and cfg.rewards.model_family == "auto"
    assert cfg.data.train == train and cfg.probe.size == 0
    if template in ("lisa", "virft"):  # the paper run's own prompt, as a format string
        assert "{question}" in cfg.data.template and "<answer>" in cfg.data.template
    else:
        assert cfg.data.template == template
    assert cfg.description and "\n" not in cfg.description
    header = (PRESET_DIR / f"{name}.yaml").read_text()
    out_dir = str(Path(train).parent)
    assert f"python -m data_prep.{converter} --src " in header and f"--out {out_dir}" in header
    assert f"python -m gpg_vl.train --preset {name}" in header
    for number in numbers:
        assert number in header, f"{name}: paper number {number} missing from the header"
    if not numbers:
        assert "Paper result: none" in header  # says so rather than inventing one


def test_prompts_ask_for_think_and_answer_tags():
    from gpg_vl.data.templates import resolve_template

    for name in PRESETS:
        text = resolve_template(load_config(name).data.template).format(question="Q?")
        assert text.startswith("Q?") and "<think> </think>" in text and "<answer>" in text, name
        assert R1_TAIL in text or "First output the thinking process" in text, name


def test_list_presets_prints_one_line_per_preset():
    proc = subprocess.run([sys.executable, "-m", "gpg_vl.train", "--list-presets"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    for name in PRESETS:
        (line,) = [ln for ln in lines if ln.split()[0] == name]
        assert line.split(None, 1)[1] == load_config(name).description


# --- rewards on converter output ----------------------------------------------------------

THINK = "<think>Let me look at the image carefully.</think>\n"

# name: (record index, [(completion, {rule: expected score})]); the first completion is the
# correct, well-formatted one, and must outscore every other.
REWARD_CASES = {
    "refcoco_grounding": (0, [  # gold [50, 0, 150, 75] of 200x150 = grid1000 [250, 0, 750, 500]
        (THINK + '<answer>[{"bbox_2d": [250, 0, 750, 500], "label": "the red block on the top"}]</answer>',
         {"iou": 1.0, "format": 1.0}),
        (THINK + "<answer><|box_start|>(250,0),(750,500)<|box_end|></answer>", {"iou": 1.0, "format": 1.0}),
        # top half of the gold box: intersection 100x37.5, union 100x75
        (THINK + '<answer>{"bbox_2d": [250, 0, 750, 250]}</answer>', {"iou": 0.5, "format": 1.0}),
        (THINK + "<answer>[800, 600, 1000, 1000]</answer>", {"iou": 0.0, "format": 1.0}),
        ("The box is [250, 0, 750, 500].", {"iou": 1.0, "format": 0.0}),
    ]),
    "lisa_grounding": (0, [  # gold [40, 30, 120, 90] of 200x150 = grid1000 (200,200),(600,600)
        (THINK + "<answer>(200,200),(600,600)</answer>", {"giou": 2.0, "format": 1.0}),
        # [140, 30, 180, 90]: IoU 0, hull 140x60 = 8400, union 4800 + 2400 = 7200 -> GIoU -1/7
        (THINK + "<answer>(700,200),(900,600)</answer>", {"giou": 1.0 - 1.0 / 7.0, "format": 1.0}),
        (THINK + "<answer>the chair</answer>", {"giou": 0.0, "format": 1.0}),
    ]),
    "fewshot_classification": (0, [  # gold "737-200"
        ("<think>Short fuselage, two engines under the wings.</think> <answer>737-200</answer>",
         {"answer_match": 1.0, "format": 1.0}),
        (THINK + "<answer>737 - 200</answer>", {"answer_match": 1.0, "format": 1.0}),
        (THINK + "<answer>A320</answer>", {"answer_match": 0.0, "format": 1.0}),
        (THINK + "<answer>737-200 or A320</answer>", {"answer_match": 0.0, "format": 1.0}),  # strict
        ("<answer>737-200</answer>", {"answer_match": 1.0, "format": 0.0}),
    ]),
    "clevr_count": (0, [  # gold 3
        ("<think>A cube, a sphere and a cylinder.</think>\n<answer>3</answer>", {"count": 1.0, "format": 1.0}),
        (THINK + "<answer> three </answer>", {"count": 1.0, "format": 1.0}),
        (THINK + "<answer>4</answer>", {"count": 0.0, "format": 1.0}),
        ("There are 3 objects.", {"count": 1.0, "format": 0.0}),
    ]),
    "geoqa": (0, [  # gold "40°"
        ("<think>Angle ABC = 180° - 140° = 40°.</think>\n<answer>40°</answer>",
         {"answer_match": 1.0, "format": 1.0}),
        (THINK + "<answer>40</answer>", {"answer_match": 1.0, "format": 1.0}),
        (THINK + "<answer>140°</answer>", {"answer_match": 0.0, "format": 1.0}),
        (THINK + "<answer></answer>", {"answer_match": 0.0, "format": 1.0}),
    ]),
    "geometry3k": (0, [  # gold "12 \pi"
        ("<think>The radius is 2\\sqrt{3}, so the area is \\pi r^2 = 12\\pi.</think>\n<answer>12\\pi</answer>",
         {"answer_match": 1.0, "format": 1.0}),
        (THINK + "<answer>\\boxed{12 \\pi}</answer>", {"answer_match": 1.0, "format": 1.0}),
        (THINK + "<answer>12</answer>", {"answer_match": 0.0, "format": 1.0}),
        (THINK + "<answer>6\\pi</answer>", {"answer_match": 0.0, "format": 1.0}),
    ]),
}


def sat_cases(record) -> list:
    """SAT's options are shuffled by the converter: build the cases from the record."""
    gold = record.answer
    text = record.choices["ABCD".index(gold)]
    other = next(letter for letter in "ABCD" if letter != gold)
    return [
        ("<think>The cup rests on the table top.</think>\n<answer>" + gold + "</answer>",
         {"answer_match": 1.0, "format": 1.0}),
        (THINK + f"<answer>({gold}) {text}</answer>", {"answer_match": 1.0, "format": 1.0}),
        (THINK + f"<answer>{text}</answer>", {"answer_match": 1.0, "format": 1.0}),
        (THINK + f"<answer>{other}</answer>", {"answer_match": 0.0, "format": 1.0}),
        (THINK + f"<answer>{gold} or {other}</answer>", {"answer_match": 0.0, "format": 1.0}),
    ]


@pytest.mark.parametrize("name", PRESETS)
def test_preset_rewards_rank_correct_above_wrong(name, converted):
    cfg = load_config(name)
    records = load_records(converted[name])
    if name == "sat_cvbench":
        record = records[0]
        assert record.choices["ABCD".index(record.answer)] == "above"  # options shuffled, answer a letter
        cases = sat_cases(record)
    else:
        index, cases = REWARD_CASES[name]
        record = records[index]
    stack = RewardStack.from_config(cfg.rewards.weights, cfg.rewards.args)
    texts = [text for text, _ in cases]
    samples = [record] * len(cases)
    ctx = RewardContext(original_sizes=[[tuple(record.meta["image_size"])]] * len(cases),
                        model_family=family_of(cfg.model.path))
    scores = stack(texts, samples, ctx)
    for i, (text, expected) in enumerate(cases):
        got = {rule: scores[rule][i] for rule in expected}
        assert got == pytest.approx(expected), f"{name}: {text!r}"
    totals = stack.total(scores)
    assert totals[0] == pytest.approx(sum(cases[0][1].values()))
    wrong = [t for t, (_, exp) in zip(totals, cases) if exp != cases[0][1]]
    assert wrong and max(wrong) < totals[0]
    assert sum(stack.error_counts.values()) == 0


# --- box convention follows the model family ---------------------------------------------

@pytest.mark.parametrize("family", ["qwen2_vl", "qwen2_5_vl"])
def test_box_convention_follows_the_model_family(family, converted, tiny_qwen2_vl, tiny_qwen2_5_vl, tmp_path):
    """The refcoco preset's reward, scored by the trainer's own `score_batch` on a collated batch:
    Qwen2-VL boxes are read on the 0..1000 grid, Qwen2.5-VL boxes in resized-input pixels."""
    from gpg_vl import trainer
    from gpg_vl.rewards import score_batch
    from gpg_vl.rollout.batch import RolloutBatch

    model = tiny_qwen2_vl if family == "qwen2_vl" else tiny_qwen2_5_vl
    cfg = load_config("refcoco_grounding", [f"model.path={model}", "model.dtype=float32",
                                            f"data.train={converted['refcoco_grounding']}",
                                            "model.gradient_checkpointing=false",
                                            "vision.max_pixels=12544", f"log.out_dir={tmp_path}"])
    run = trainer.setup(cfg)
    assert run.family == family
    record = next(r for r in run.records if r.answer == REFCOCO_BOX)
    prompts = run.collator([record])
    # 200x150 under max_pixels 12544: smart_resize -> 112x84 (4 x 3 merged 28-px patches)
    assert prompts.original_sizes == [[GROUNDING_SIZE]] and prompts.input_sizes == [[(112, 84)]]
    texts = [THINK + f"<answer>{box}</answer>" for box in (
        "[250, 0, 750, 500]",   # the gold box on the 0..1000 grid
        "[28, 0, 84, 42]",      # the gold box in 112x84 input pixels
        "[50, 0, 150, 75]")]    # the gold box in original pixels
    batch = RolloutBatch(prompts=prompts, group_size=len(texts),
                         completion_ids=torch.zeros(len(texts), 1, dtype=torch.long),
                         completion_mask=torch.ones(len(texts), 1, dtype=torch.long), texts=texts)
    score_batch(run.rewards, batch, run.family)
    iou = batch.rewards["iou"].tolist()
    if family == "qwen2_vl":
        # input box as grid -> [5.6, 0, 16.8, 6.3]; original box as grid -> [10, 0, 30, 11.25]: no overlap
        assert iou == pytest.approx([1.0, 0.0, 0.0])
    else:
        # grid box as input pixels -> x beyond the 200-px image, clipped to zero width: invalid
        # original box as input pixels -> [89.29, 0, 200 (clipped from 267.9), 133.93]
        x1, y2 = 50 * 200 / 112, 75 * 150 / 84
        inter = (150 - x1) * 75
        union = 100 * 75 + (200 - x1) * y2 - inter
        assert iou == pytest.approx([0.0, 1.0, inter / union])
    assert batch.rewards["format"].tolist() == [1.0, 1.0, 1.0]
    assert batch.reward_total.tolist() == pytest.approx([1.0 + v for v in iou])
    run.engine.close()


# --- two training steps per preset on the tiny models ------------------------------------

SUBPROCESS_PRESET = "refcoco_grounding"


def train_args(name: str, model: Path, data: Path, out: Path) -> list[str]:
    return ["--preset", name, f"model.path={model}", "model.dtype=float32", f"data.train={data}",
            "optim.steps=2", "optim.prompts_per_step=2", "rollout.group_size=2", "rollout.max_new_tokens=8",
            "vision.max_pixels=12544", f"log.out_dir={out}", "log.tensorboard=false", "log.plot=false",
            "ckpt.final=false"]


@pytest.mark.parametrize("name", PRESETS)
def test_preset_trains_two_steps_on_its_converted_data(name, converted, tiny_qwen2_vl, tiny_qwen2_5_vl,
                                                       tmp_path):
    cfg = load_config(name)
    model = tiny_qwen2_5_vl if family_of(cfg.model.path) == "qwen2_5_vl" else tiny_qwen2_vl
    out = tmp_path / "run"
    args = train_args(name, model, converted[name], out)
    if name == SUBPROCESS_PRESET:  # the real CLI, as a user runs it
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.run([sys.executable, "-m", "gpg_vl.train", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
    else:
        from gpg_vl.train import main

        assert main(args) == 0
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in lines] == [1, 2]
    for m in lines:
        for rule in cfg.rewards.weights:
            assert 0.0 <= m[f"reward/{rule}"] <= (2.0 if rule == "giou" else 1.0), (name, rule, m)
            assert m[f"reward/{rule}_errors"] == 0
        assert m["gpg/resample_attempts"] >= 1
    # lr 1e-6 decays linearly to 0 over optim.steps=2, with no warm-up
    assert [m["optim/lr"] for m in lines] == pytest.approx([5e-7, 0.0])
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["preset"] == name and saved["rewards"]["weights"] == cfg.rewards.weights
