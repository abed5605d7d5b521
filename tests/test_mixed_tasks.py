"""One run, two tasks: grounding and GeoQA records mixed by weight, each scored by its own
reward stack (`rewards.by_task`), metrics per task, a task without a stack refused at load."""

import json

import pytest
import torch
from presets_fixtures import CONVERTED

from gpg_vl.data.sampler import MixedSampler
from gpg_vl.rewards import RewardContext, build_rewards
from gpg_vl.train import main


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("mix")
    out = {}
    for name in ("refcoco_grounding", "geoqa"):
        (root / name).mkdir()
        out[name] = CONVERTED[name](root / name)
    return out


def args(model, sources, out, *extra):
    train = "{" + f"{sources['refcoco_grounding']}: 1.0, {sources['geoqa']}: 1.0" + "}"
    return ["--preset", "grounding_geoqa", f"model.path={model}", "model.dtype=float32", f"data.train={train}",
            "optim.steps=3", "optim.prompts_per_step=2", "rollout.group_size=2", "rollout.max_new_tokens=8",
            "vision.max_pixels=12544", f"log.out_dir={out}", "log.tensorboard=false", "log.plot=false",
            "ckpt.final=false", "log.progress=false", *extra]


def test_mixed_run_scores_each_task_with_its_own_stack(sources, tiny_qwen2_5_vl, tmp_path):
    out = tmp_path / "run"
    assert main(args(tiny_qwen2_5_vl, sources, out)) == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3]
    keys = set().union(*rows)
    assert {"reward/grounding/iou", "reward/grounding/format", "reward/math/answer_match",
            "reward/math/format", "reward/total"} <= keys
    assert "reward/iou" not in keys  # no rule scores records of another task
    assert all(r["reward/grounding/iou_errors"] == 0 for r in rows if "reward/grounding/iou_errors" in r)


def test_a_record_whose_task_has_no_stack_is_refused_before_weights(sources, tiny_qwen2_5_vl, tmp_path, capsys):
    only_math = "{math: {weights: {answer_match: 1.0}}}"
    code = main(args(tiny_qwen2_5_vl, sources, tmp_path / "run", f"rewards.by_task={only_math}"))
    err = capsys.readouterr().err
    assert code == 2 and "rewards.by_task has no stack for task 'grounding' (it has: math)" in err
    assert "loading weights" not in err


def test_by_task_rows_score_nan_outside_their_task():
    from gpg_vl.data.record import Record

    rewards = build_rewards({}, None, {"math": {"weights": {"answer_match": 1.0}},
                                       "count": {"weights": {"count": 2.0}}})
    recs = [Record(id="m", task="math", images=[], problem="x?", answer="3"),
            Record(id="c", task="count", images=[], problem="how many?", answer=3)]
    columns, totals = rewards.score(["<answer>3</answer>"] * 2, recs, RewardContext(original_sizes=[None, None],
                                                                   input_sizes=[None, None]))
    assert columns["math/answer_match"][0] == 1.0 and torch.isnan(torch.tensor(columns["math/answer_match"][1]))
    assert columns["count/count"][1] == 1.0 and totals == [1.0, 2.0]
    assert columns["math/total"][0] == 1.0 and rewards.error_counts == {"math/answer_match": 0, "count/count": 0}


def test_mixed_sampler_follows_the_weights_and_resumes_exactly():
    s = MixedSampler([10, 1000], [3.0, 1.0], seed=0)
    first = s.take(400)
    share = sum(i < 10 for i in first) / 400
    assert 0.68 < share < 0.82  # 3:1 by weight, whatever the sizes
    state = s.state()
    again = MixedSampler([10, 1000], [3.0, 1.0], seed=0)
    again.load_state(state)
    assert again.take(50) == s.take(50)
