"""Shared-prompt packing: same log-probs and same gradients as the per-row forward."""

import logging
from types import SimpleNamespace

import pytest
import torch

from forward_helpers import logprobs_and_grads

from gpg_vl import forward
from gpg_vl.config import ModelConfig
from gpg_vl.data.collator import PromptCollator
from gpg_vl.data.loading import load_records
from gpg_vl.families import family_of
from gpg_vl.forward import completion_logprobs, micro_batches, packed_logprobs, row_logprobs
from gpg_vl.models import load_policy
from gpg_vl.packing import pack, pack_group, shared_prompt_mask, unsupported_reason
from gpg_vl.rollout import Sampling
from gpg_vl.rollout.batch import RolloutBatch
from gpg_vl.rollout.tokens import suppressed_ids

G, C = 3, 7
LENGTHS = [7, 3, 5, 1, 7, 2, 6, 6, 4, 2, 7, 5]  # real tokens per row: 4 prompts x G=3


def test_pack_group_layout_worked_by_hand():
    # prompt of 3 tokens at M-RoPE positions whose largest is 4 (an image stretched them);
    # completions [21 22 23] (3 real) and [31 32 _] (2 real): the last real token of each
    # predicts nothing, so the row is [p p p 21 22 31].
    prompt_pos = torch.tensor([[0, 1, 4], [0, 2, 4], [0, 3, 4]])
    comp = torch.tensor([[21, 22, 23], [31, 32, 0]])
    ids, pos, seg, source = pack_group(torch.tensor([1, 2, 3]), prompt_pos, comp, torch.tensor([3, 2]))
    assert ids.tolist() == [1, 2, 3, 21, 22, 31]
    assert seg.tolist() == [0, 0, 0, 1, 1, 2]
    assert pos[:, 3:].tolist() == [[5, 6, 5]] * 3  # each completion starts at 4 + 1
    # 21 and 31 are predicted by the prompt's last token (2); 22 by 21 (3), 23 by 22 (4),
    # 32 by 31 (5); the padding slot points at the prompt's last token and is masked later
    assert source.tolist() == [[2, 3, 4], [2, 5, 2]]


def test_shared_prompt_mask_completions_see_prompt_and_themselves():
    allowed = shared_prompt_mask(torch.tensor([[0, 0, 1, 1, 2, -1]]))[0, 0].int().tolist()
    assert allowed == [[1, 0, 0, 0, 0, 0],
                       [1, 1, 0, 0, 0, 0],
                       [1, 1, 1, 0, 0, 0],
                       [1, 1, 1, 1, 0, 0],
                       [1, 1, 0, 0, 1, 0],   # completion 2 skips completion 1
                       [0, 0, 0, 0, 0, 1]]   # padding sees only itself (no empty softmax row)
    additive = shared_prompt_mask(torch.tensor([[0, 1]]), torch.float32)[0, 0]
    assert additive[0, 0] == 0 and additive[0, 1] == torch.finfo(torch.float32).min


def test_unsupported_models_fall_back_with_a_reason():
    def fake(model_type, attn, layer_types=None):
        text = SimpleNamespace(_attn_implementation=attn, layer_types=layer_types)
        return SimpleNamespace(config=SimpleNamespace(model_type=model_type, text_config=text))

    assert unsupported_reason(fake("qwen2_vl", "sdpa")) is None
    assert "llava" in unsupported_reason(fake("llava", "sdpa"))
    assert unsupported_reason(fake("qwen2_5_vl", "flash_attention_2")) is None  # the varlen shared-prefix kernel
    assert "flex_attention" in unsupported_reason(fake("qwen2_5_vl", "flex_attention"))
    assert "sliding" in unsupported_reason(fake("qwen2_vl", "sdpa", ["sliding_attention"]))


def rollout(model, processor, jsonl) -> tuple[RolloutBatch, torch.Tensor]:
    """4 prompts of different image sizes (one with two images) x G completions of LENGTHS."""
    prompts = PromptCollator(processor, family_of(model), max_pixels=200 * 28 * 28, max_prompt_length=512)(
        load_records(jsonl))
    suppress = torch.tensor(suppressed_ids(model, processor.tokenizer))
    vocab_size = model.config.text_config.vocab_size
    allowed = torch.tensor([i for i in range(vocab_size) if i not in set(suppress.tolist())])
    g = torch.Generator().manual_seed(0)
    ids = allowed[torch.randint(len(allowed), (4 * G, C), generator=g)]
    mask = (torch.arange(C)[None] < torch.tensor(LENGTHS)[:, None]).long()
    ids = ids.masked_fill(mask == 0, suppress[0].item())  # padding is a suppressed id: must stay harmless
    batch = RolloutBatch(prompts=prompts, group_size=G, completion_ids=ids, completion_mask=mask,
                         texts=[""] * 4 * G)
    return batch, suppress


@pytest.mark.parametrize("family,attn,checkpointing", [
    ("tiny_qwen2_vl", "sdpa", False), ("tiny_qwen2_5_vl", "sdpa", False), ("tiny_qwen2_vl", "eager", False),
    ("tiny_qwen2_5_vl", "sdpa", True)])
def test_packed_forward_equals_per_row(request, family, attn, checkpointing, mixed_size_jsonl):
    model, processor = load_policy(ModelConfig(path=str(request.getfixturevalue(family)), attn_implementation=attn,
                                               gradient_checkpointing=checkpointing))
    model.train()
    assert any(getattr(m, "gradient_checkpointing", False) for m in model.modules()) == checkpointing
    batch, suppress = rollout(model, processor, mixed_size_jsonl)
    n_params = len(list(model.parameters()))
    # all rows at once; micro-batches of two whole groups; groups split across micro-batches
    splits = ([list(range(12))], [list(range(6)), list(range(6, 12))], [[0, 1, 4, 5], [2, 3, 6], [7, 8, 9, 10, 11]])
    for chunks in splits:
        lp_row, grads_row = logprobs_and_grads(model, row_logprobs, batch, chunks, suppress)
        lp_packed, grads_packed = logprobs_and_grads(model, packed_logprobs, batch, chunks, suppress)
        torch.testing.assert_close(lp_packed, lp_row, atol=1e-5, rtol=0)
        assert len(grads_packed) == len(grads_row) == n_params  # vision tower included
        for name, grad in grads_row.items():
            torch.testing.assert_close(grads_packed[name], grad, atol=1e-5, rtol=0, msg=name)
    assert lp_row.abs().sum() > 0 and (lp_row[torch.tensor(LENGTHS) == 1, 1:] == 0).all()


def test_the_forward_is_chosen_once_and_says_which_path_runs(policy, mixed_size_jsonl, caplog):
    model, processor = policy
    batch, suppress = rollout(model, processor, mixed_size_jsonl)
    with caplog.at_level(logging.INFO, logger="gpg_vl.forward"):
        assert forward.choose_forward(model) is packed_logprobs
        with torch.no_grad():
            lp, _ = completion_logprobs(model, batch, list(range(12)), 0.7, suppress)
            ref, _ = row_logprobs(model, batch, list(range(12)), 0.7, suppress)
    assert caplog.text.count("shared-prompt packed") == 1
    torch.testing.assert_close(lp, ref, atol=1e-5, rtol=0)


def test_micro_batches_hold_whole_groups_when_one_fits(policy, mixed_size_jsonl):
    batch, _ = rollout(policy[0], policy[1], mixed_size_jsonl)
    width = batch.prompts.input_ids.shape[1] + C
    assert micro_batches(batch, 8 * width) == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]  # 8 rows -> 6
    assert micro_batches(batch, 2 * width) == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]]


def test_packed_micro_batches_fit_the_packed_layout(policy, mixed_size_jsonl):
    """Budgeted in packed tokens (prompt once + completions): whole groups, each chunk's packed
    tensor (measured by `pack` itself) within the budget, fewer chunks than per-row."""
    model, processor = policy
    batch, _ = rollout(model, processor, mixed_size_jsonl)
    prompt = batch.prompts.attention_mask.sum(dim=1)
    costs = [int(prompt[g]) + sum(max(LENGTHS[r] - 1, 0) for r in range(g * G, (g + 1) * G)) for g in range(4)]
    everything = len(costs) * max(costs)
    assert micro_batches(batch, everything, packed=True) == [list(range(12))]
    for budget in (max(costs), 2 * max(costs), everything - 1):
        chunks = micro_batches(batch, budget, packed=True)
        assert sorted(r for c in chunks for r in c) == list(range(12))
        assert all(len(c) % G == 0 and c[0] % G == 0 for c in chunks)  # whole groups
        for c in chunks:
            C = int(batch.completion_mask[c].sum(dim=1).max())
            assert pack(model, batch, c, C).input_ids.numel() <= budget
        assert len(chunks) < len(micro_batches(batch, budget))
    small = min(costs) - 1  # no group fits: each splits into row pieces, prompt counted in each
    chunks = micro_batches(batch, small, packed=True)
    assert sorted(r for c in chunks for r in c) == list(range(12)) and len(chunks) > 4
    assert all(len({r // G for r in c}) == 1 for c in chunks)  # a piece never mixes groups


def hf_engine_and_prompts(model, processor, jsonl):
    """The HF engine with the suppressed ids, and the mixed-size prompts (4 prompts, one with 2 images)."""
    from gpg_vl.rollout import build_engine, policy_tokens

    prompts = PromptCollator(processor, family_of(model), max_pixels=200 * 28 * 28, max_prompt_length=512)(
        load_records(jsonl))
    tokens = policy_tokens(model, processor)
    return build_engine("hf", model, processor, **tokens), prompts, tokens["suppress_ids"]


@pytest.mark.parametrize("family", ["tiny_qwen2_vl", "tiny_qwen2_5_vl"])
def test_shared_prefix_decoding_matches_generate(request, mixed_size_jsonl, family):
    """One prefill per prompt + shared-prefix attention == generate(num_return_sequences).

    top_k=1 makes both deterministic, so the tokens must agree exactly: positions, cache
    and attention over [prompt | own tokens] (left padding, a two-image prompt).
    """
    from gpg_vl.rollout import shared_prefix

    model, processor = load_policy(ModelConfig(path=str(request.getfixturevalue(family))))
    engine, prompts, _ = hf_engine_and_prompts(model, processor, mixed_size_jsonl)
    top1 = Sampling(max_new_tokens=6, top_k=1)
    assert shared_prefix.supports(model)
    shared = engine.generate(prompts, 3, top1).completion_ids
    attn = model.config.text_config._attn_implementation
    model.config.model_type = "generic"  # -> generate(num_return_sequences=3)
    try:
        assert not shared_prefix.supports(model)
        repeated = engine.generate(prompts, 3, top1).completion_ids
    finally:
        model.config.model_type = family.removeprefix("tiny_")
    assert torch.equal(shared, repeated)
    assert model.config.text_config._attn_implementation == attn  # restored after decoding


def test_draw_samples_the_softmax_and_never_a_masked_id():
    from gpg_vl.rollout.shared_prefix import draw

    torch.manual_seed(0)
    probs = torch.tensor([0.0, 0.5, 0.2, 0.3, 0.0])  # the last id masked, like padded-vocab rows
    logits = probs.log().expand(40000, -1).clone()
    counts = torch.bincount(draw(logits), minlength=5).float() / 40000
    assert counts[0] == 0 and counts[4] == 0
    torch.testing.assert_close(counts, probs, atol=0.01, rtol=0)


def test_sampled_tokens_have_the_training_forwards_logprobs(policy, mixed_size_jsonl, monkeypatch):
    """The distribution each token was drawn from (temperature, suppression) is the one trained on."""
    from gpg_vl.rollout import shared_prefix

    model, processor = policy
    engine, prompts, suppress = hf_engine_and_prompts(model, processor, mixed_size_jsonl)
    seen = []
    real_draw = shared_prefix.draw

    def recording_draw(scores):
        seen.append(torch.log_softmax(scores, dim=-1))
        return real_draw(scores)

    monkeypatch.setattr(shared_prefix, "draw", recording_draw)
    torch.manual_seed(0)
    batch = engine.generate(prompts, 3, Sampling(max_new_tokens=5, temperature=0.7))
    C = batch.completion_ids.shape[1]
    sampled = torch.stack(seen[:C], dim=1).gather(-1, batch.completion_ids.unsqueeze(-1)).squeeze(-1)  # [12, C]
    with torch.no_grad():
        trained, mask = completion_logprobs(model, batch, list(range(12)), 0.7, torch.tensor(suppress))
    torch.testing.assert_close(sampled[:, :trained.shape[1]] * mask, trained, atol=1e-5, rtol=0)


def test_bf16_sampling_and_packed_forward_agree_with_per_row(tiny_qwen2_vl, mixed_size_jsonl):
    """The GPU dtype: shared-prefix sampling runs, and packed == per-row within bf16 rounding."""
    model, processor = load_policy(ModelConfig(path=str(tiny_qwen2_vl), dtype="bfloat16"))
    engine, prompts, suppress = hf_engine_and_prompts(model, processor, mixed_size_jsonl)
    batch = engine.generate(prompts, 3, Sampling(max_new_tokens=5, temperature=0.9))
    model.train()
    packed, mask = packed_logprobs(model, batch, list(range(12)), 0.9, torch.tensor(suppress))
    with torch.no_grad():
        rows, _ = row_logprobs(model, batch, list(range(12)), 0.9, torch.tensor(suppress))
    assert next(model.parameters()).dtype == torch.bfloat16 and packed.dtype == torch.float32
    torch.testing.assert_close(packed, rows, atol=0.02, rtol=0)
    assert (packed * mask).sum() < 0  # real log-probs, not zeros
    (packed * mask).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
