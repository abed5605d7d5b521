"""HF rollout: masks, suppressed tokens, prompt-major groups, rows aligned with their records."""

import pytest
import torch

from gpg_vl.data.collator import PromptCollator
from gpg_vl.data.loading import load_records
from gpg_vl.families import family_of
from gpg_vl.forward import completion_logprobs
from gpg_vl.models import pad_token_id
from gpg_vl.rollout import Sampling, engine_class, policy_tokens
from gpg_vl.rollout.tokens import completion_mask


def test_completion_mask_keeps_first_eos_and_nothing_after():
    ids = torch.tensor([[5, 2, 0, 2], [5, 6, 7, 8], [2, 0, 0, 0], [9, 3, 2, 2]])
    assert completion_mask(ids, [2]).tolist() == [[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0], [1, 1, 1, 0]]
    assert completion_mask(ids, [2, 3]).tolist()[3] == [1, 1, 0, 0]


def make_engine(policy, suppress=True):
    model, processor = policy
    tokens = {**policy_tokens(model, processor), **({} if suppress else {"suppress_ids": []})}
    return engine_class("hf")(model, processor, **tokens), tokens["suppress_ids"]


@pytest.fixture
def prompts(policy, mixed_size_jsonl):
    collate = PromptCollator(policy[1], family_of(policy[0]), max_pixels=200 * 28 * 28, max_prompt_length=512)
    return collate(load_records(mixed_size_jsonl))


def test_vision_tokens_never_sampled_even_when_favoured(policy, prompts):
    model, processor = policy
    image_pad = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")

    def favour_image_pad(module, inputs, output):  # make <|image_pad|> the likeliest token
        output[..., image_pad] += 50.0
        return output

    handle = model.lm_head.register_forward_hook(favour_image_pad)
    try:
        torch.manual_seed(0)
        free, _ = make_engine(policy, suppress=False)
        assert (free.generate(prompts, 2, Sampling(6)).completion_ids == image_pad).float().mean() > 0.9
        engine, suppressed = make_engine(policy)
        batch = engine.generate(prompts, 4, Sampling(6))
    finally:
        handle.remove()
    assert image_pad in suppressed
    assert not torch.isin(batch.completion_ids, torch.tensor(suppressed)).any()


def test_groups_are_prompt_major_and_match_single_prompt_generation(policy, prompts):
    engine, ids = make_engine(policy)
    greedy = Sampling(max_new_tokens=4, greedy=True)
    batch = engine.generate(prompts, 3, greedy)
    assert batch.completion_ids.shape[0] == 12 and batch.group_index.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert [r.id for r in batch.row_records()] == ["r0"] * 3 + ["r1"] * 3 + ["r2"] * 3 + ["r3"] * 3
    for g in range(4):  # row r continues ITS prompt: same greedy tokens as generating that prompt alone
        alone = engine.generate(batch.select_groups([g]).prompts, 1, greedy)
        n = int(alone.completion_mask[0].sum())
        for r in range(3 * g, 3 * g + 3):
            assert batch.completion_ids[r, :n].tolist() == alone.completion_ids[0, :n].tolist()
    # the training forward sees each row with its own prompt: batched == per-group log-probs
    lp, mask = completion_logprobs(policy[0], batch, list(range(12)), suppress_ids=torch.tensor(ids))
    for g in (1, 3):
        sub = batch.select_groups([g])
        lp_g, _ = completion_logprobs(policy[0], sub, [0, 1, 2], suppress_ids=torch.tensor(ids))
        assert torch.allclose(lp[3 * g:3 * g + 3] * mask[3 * g:3 * g + 3], lp_g * mask[3 * g:3 * g + 3], atol=1e-5)


def test_sampling_is_passed_per_call_and_never_kept_by_the_engine(policy, prompts):
    """One engine serves the run, the probe and eval: each call's cap and decoding are its own."""
    from gpg_vl.rollout import SAMPLING_KEYS

    engine, _ = make_engine(policy)
    assert not [k for k in SAMPLING_KEYS if hasattr(engine, k)]
    assert engine.generate(prompts, 2, Sampling(2)).completion_ids.shape[1] <= 2
    short = engine.generate(prompts, 1, Sampling(3, greedy=True))
    long = engine.generate(prompts, 1, Sampling(6, greedy=True))
    assert long.completion_ids.shape[1] <= 6
    width = short.completion_ids.shape[1]  # greedy: the longer cap continues the shorter one
    assert torch.equal(short.completion_ids * short.completion_mask, long.completion_ids[:, :width] * short.completion_mask)


def test_cat_and_select_keep_rows_with_their_prompts(policy, prompts):
    engine, _ = make_engine(policy)
    a = engine.generate(prompts, 2, Sampling(3))
    b = engine.generate(prompts.select(list(range(len(prompts)))), 2, Sampling(3))
    merged = a.cat([a.select_groups([3, 1]), b.select_groups([0])], pad_token_id(policy[1].tokenizer))
    assert [r.id for r in merged.prompts.records] == ["r3", "r1", "r0"]
    assert merged.prompts.images_per_prompt == [2, 1, 1]
    assert merged.texts == [a.texts[6], a.texts[7], a.texts[2], a.texts[3], b.texts[0], b.texts[1]]
    got, want = merged.prompts.vision_for([0]), prompts.vision_for([3])
    assert torch.equal(got["pixel_values"], want["pixel_values"])
    assert torch.equal(got["image_grid_thw"], prompts.vision["image_grid_thw"][3:5])


def test_engine_args_are_checked_against_the_engine():
    from gpg_vl.config import ConfigError, load_config
    from gpg_vl.rollout import check_engine_args
    from gpg_vl.trainer import ENGINE_KEYS

    cfg = load_config("demo", ["rollout.engine_args={tensor_parallel_size: 2, gpu_memory_utilization: 0.4}"])
    assert cfg.rollout.engine_args == {"tensor_parallel_size": 2, "gpu_memory_utilization": 0.4}
    vllm_engine = engine_class("vllm")  # the class imports without vLLM: vLLM loads in __init__
    check_engine_args(vllm_engine, cfg.rollout.engine_args, ENGINE_KEYS)
    for key in ("temperature", "max_new_tokens", "top_p", "top_k", "greedy"):  # given to each generate call
        with pytest.raises(ConfigError, match=f"engine_args.{key}: a sampling setting.*use rollout.{key}"):
            check_engine_args(vllm_engine, {key: 1}, ENGINE_KEYS)
    with pytest.raises(ConfigError, match="engine_args.eos_token_ids: set by the run itself"):
        check_engine_args(vllm_engine, {"eos_token_ids": [2]}, ENGINE_KEYS)
    with pytest.raises(ConfigError, match="HFEngine takes no such option") as err:
        check_engine_args(engine_class("hf"), {"tensor_parallel_size": 2}, ENGINE_KEYS)
    assert "pad_token_id" not in str(err.value)  # the loop's own keys are not offered


class RecordingEngine(engine_class("hf")):
    """The HF engine plus one engine-specific option, registered by name like a user's engine."""

    def __init__(self, model, processor, *, note: str = "", seed: int = 0, **common):
        super().__init__(model, processor, **common)
        self.note, self.seed = note, seed


def test_engine_args_reach_the_engine(policy, monkeypatch):
    from gpg_vl.rollout import ENGINES, build_engine

    monkeypatch.setitem(ENGINES, "recording", f"{__name__}:RecordingEngine")
    model, processor = policy
    common = dict(eos_token_ids=[0], pad_token_id=0, batch_rows=4)
    engine = build_engine("recording", model, processor, {"note": "hello"}, {"seed": 7}, **common)
    assert isinstance(engine, RecordingEngine) and engine.note == "hello" and engine.batch_rows == 4
    assert engine.seed == 7  # the run's seed reaches engines that take one (vLLM) ...
    assert build_engine("recording", model, processor, {"seed": 3}, {"seed": 7}, **common).seed == 3  # ... unless set
    assert build_engine("hf", model, processor, {}, {"seed": 7}, **common).batch_rows == 4  # ... and only those
