"""The update stage on the tiny model: sampling log-probs from both HF paths equal the
training forward's, the cross-process re-split keeps the token budget, and bf16 compute
over float32 master weights keeps the updates that bf16 parameters lose."""

import pytest
import torch

from gpg_vl.config import ModelConfig
from gpg_vl.data.collator import PromptCollator
from gpg_vl.data.loading import load_records
from gpg_vl.families import family_of
from gpg_vl.forward import completion_logprobs, micro_batches
from gpg_vl.models import load_policy, pad_token_id
from gpg_vl.packing import pack
from gpg_vl.rollout import Sampling, policy_tokens, shared_prefix
from gpg_vl.rollout.batch import RolloutBatch
from gpg_vl.rollout.hf import HFEngine
from gpg_vl.update import split_to_count


def engine_and_prompts(model, processor, jsonl):
    prompts = PromptCollator(processor, family_of(model), max_pixels=200 * 28 * 28, max_prompt_length=512)(
        load_records(jsonl))
    tokens = policy_tokens(model, processor)
    return HFEngine(model, processor, **tokens), prompts, torch.tensor(tokens["suppress_ids"])


@pytest.mark.parametrize("path", ["shared_prefix", "generate"])
def test_engine_returns_the_training_forwards_logprobs(policy, mixed_size_jsonl, monkeypatch, path):
    """Both HF sampling paths hand back, per token, the log-prob of the distribution it was drawn
    from (temperature 0.7, suppressed ids removed): the training forward's, to fp32 rounding."""
    model, processor = policy
    if path == "generate":  # the path of models without shared-prefix decoding
        monkeypatch.setattr(shared_prefix, "supports", lambda m: False)
    engine, prompts, suppress = engine_and_prompts(model, processor, mixed_size_jsonl)
    torch.manual_seed(0)
    batch = engine.generate(prompts, 3, Sampling(max_new_tokens=6, temperature=0.7))
    assert batch.sampling_logprobs.shape == batch.completion_ids.shape
    with torch.no_grad():
        trained, mask = completion_logprobs(model, batch, list(range(12)), 0.7, suppress)
    sampled = batch.sampling_logprobs[:, :trained.shape[1]]
    torch.testing.assert_close(sampled, trained, atol=2e-5, rtol=0)
    assert (sampled * mask).sum() < -1  # real log-probs
    assert (batch.sampling_logprobs[batch.completion_mask == 0] == 0).all()
    # they travel with the rows when groups are selected and concatenated (resampling)
    again = RolloutBatch.cat([batch.select_groups([2]), batch.select_groups([0])], pad_token_id(processor.tokenizer))
    torch.testing.assert_close(again.sampling_logprobs[:3, :trained.shape[1]], sampled[6:9])


def test_resplit_for_other_processes_never_exceeds_the_token_budget(policy, mixed_size_jsonl):
    """Another process needs more micro-batches: ours are split further, never re-dealt into
    equal row counts (which put a long group's rows next to another group's over budget)."""
    model, processor = policy
    prompts = PromptCollator(processor, family_of(model), max_pixels=200 * 28 * 28, max_prompt_length=512)(
        load_records(mixed_size_jsonl))
    G, C = 4, 12
    lengths = torch.tensor([12] * 4 + [1] * 4 + [12] * 4 + [1] * 4)  # long, short, long, short groups
    mask = (torch.arange(C)[None] < lengths[:, None]).long()
    batch = RolloutBatch(prompts=prompts, group_size=G, completion_ids=torch.full((16, C), 5), completion_mask=mask,
                         texts=[""] * 16)

    def cost(rows):
        return pack(model, batch, rows, int(batch.completion_mask[rows].sum(dim=1).max())).input_ids.numel()

    budget = max(cost(list(range(g * G, (g + 1) * G))) for g in range(4))  # the longest group alone
    chunks = micro_batches(batch, budget, packed=True)
    for n in range(len(chunks) + 1, 12):
        split = split_to_count(chunks, n, G)
        assert len(split) == n and sorted(r for c in split for r in c) == list(range(16))
        assert max(cost(c) for c in split) <= budget, n
    # the old re-split (equal row counts) goes over the budget on this batch
    old = [r.tolist() for r in torch.arange(16).tensor_split(len(chunks) + 1)]
    assert max(cost(c) for c in old) > budget


def moved_and_update(model, fn) -> tuple[float, torch.Tensor]:
    """Fraction of elements one AdamW step at lr 1e-6 moves, and the update vector."""
    before = torch.cat([p.detach().float().flatten().clone() for p in model.parameters()])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6)
    fn(model).backward()
    opt.step()
    after = torch.cat([p.detach().float().flatten() for p in model.parameters()])
    return float((after != before).float().mean()), after - before


def test_bf16_compute_with_float32_masters_keeps_the_update(tiny_qwen2_vl, mixed_size_jsonl):
    """bf16 PARAMETERS drop AdamW updates below half a bf16 step (lr 1e-6: most of them);
    bf16 autocast over float32 masters (what the trainer runs) keeps them, close to fp32's."""
    fp32, processor = load_policy(ModelConfig(path=str(tiny_qwen2_vl)))
    engine, prompts, suppress = engine_and_prompts(fp32, processor, mixed_size_jsonl)
    torch.manual_seed(0)
    batch = engine.generate(prompts, 3, Sampling(max_new_tokens=6))
    weights = torch.linspace(-1, 1, 12)[:, None]

    def loss(model):
        lp, mask = completion_logprobs(model, batch, list(range(12)), 1.0, suppress)
        return (lp * mask * weights).sum()

    def autocast_loss(model):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return loss(model)

    state = {k: v.clone() for k, v in fp32.state_dict().items()}
    moved32, update32 = moved_and_update(fp32.train(), loss)
    fp32.load_state_dict(state)
    moved_mixed, update_mixed = moved_and_update(fp32, autocast_loss)
    bf16, _ = load_policy(ModelConfig(path=str(tiny_qwen2_vl), dtype="bfloat16"))
    moved16, _ = moved_and_update(bf16.train(), loss)
    cosine = float(torch.nn.functional.cosine_similarity(update32, update_mixed, dim=0))
    print(f"elements moved: fp32 {moved32:.3f}, bf16 autocast + fp32 masters {moved_mixed:.3f}, "
          f"bf16 params {moved16:.3f}; cosine(update fp32, autocast) {cosine:.4f}")
    assert moved32 > 0.9 and moved_mixed > 0.9
    assert moved16 < 0.2  # the bug this guards against: bf16 parameters lose most of the step
    assert cosine > 0.9
