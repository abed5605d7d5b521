"""Every model family through the same tests: a tiny checkpoint of the real architecture,
processor and chat template; packed forward == per-row (or a clean refusal); shared-prefix
decoding == generate (or a clean refusal); boxes in the family's convention; 3 CLI steps
that change every trainable tensor, and 3 LoRA steps that move every adapter."""

from __future__ import annotations

import pytest
import torch
from cli_helpers import small_run
from forward_helpers import logprobs_and_grads
from safetensors.torch import load_file

from gpg_vl import families
from gpg_vl.config import ModelConfig
from gpg_vl.data.collator import PromptCollator
from gpg_vl.data.loading import load_records
from gpg_vl.forward import choose_forward, packed_logprobs, row_logprobs
from gpg_vl.models import eos_token_ids, load_policy, pad_token_id
from gpg_vl.rewards import RewardContext, get_reward
from gpg_vl.rollout import Sampling, build_engine, policy_tokens, shared_prefix
from gpg_vl.rollout.batch import RolloutBatch
from gpg_vl.rollout.tokens import suppressed_ids
from gpg_vl.tiny import build_tiny_model

ALL = list(families.FAMILIES)
PACKED = {"qwen2_vl", "qwen2_5_vl", "qwen3_vl", "qwen3_vl_moe", "smolvlm"}  # the others must refuse
G, C = 3, 7
LENGTHS = [1, 4, 7, 2, 7, 3, 5, 7, 6, 1, 7, 2]  # per row: ragged, some length 1


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("families")
    built = {}

    def get(name: str):
        if name not in built:
            built[name] = build_tiny_model(root / name, name)
        return built[name]
    return get


def load(path, **kwargs):
    model, processor = load_policy(ModelConfig(path=str(path), **kwargs))
    return model.float(), processor


def rollout(model, processor, jsonl) -> tuple[RolloutBatch, torch.Tensor]:
    """4 prompts of different image sizes (one with two images) x G ragged random completions."""
    collate = PromptCollator(processor, families.family_of(model), max_pixels=200 * 28 * 28, max_prompt_length=2048)
    prompts = collate(load_records(jsonl))
    suppress = torch.tensor(suppressed_ids(model, processor.tokenizer))
    vocab = model.config.get_text_config().vocab_size
    allowed = torch.tensor([i for i in range(vocab) if i not in set(suppress.tolist())])
    ids = allowed[torch.randint(len(allowed), (4 * G, C), generator=torch.Generator().manual_seed(0))]
    mask = (torch.arange(C)[None] < torch.tensor(LENGTHS)[:, None]).long()
    ids = ids.masked_fill(mask == 0, pad_token_id(processor.tokenizer))
    return RolloutBatch(prompts=prompts, group_size=G, completion_ids=ids, completion_mask=mask,
                        texts=[""] * 4 * G), suppress


@pytest.mark.parametrize("name", ALL)
def test_tiny_checkpoint_loads_like_a_real_one(tiny, name):
    model, processor = load(tiny(name))
    family = families.family_of(model)
    assert family.name == name and model.config.model_type in family.model_types
    tok = processor.tokenizer
    assert tok.eos_token_id in eos_token_ids(model, tok)
    never = suppressed_ids(model, tok)
    assert all(tok.convert_tokens_to_ids(t) in never for t in family.never_sample if t in tok.get_vocab())
    assert tok.convert_tokens_to_ids(family.end_of_turn) not in never  # sampling can stop
    classes = {type(m).__name__ for m in model.modules()}
    assert set(family.fsdp_wrap) <= classes, f"FSDP wrap classes not in the model: {set(family.fsdp_wrap) - classes}"


@pytest.mark.parametrize("name", ALL)
def test_packed_forward_equals_per_row_or_refuses(tiny, name, mixed_size_jsonl):
    model, processor = load(tiny(name))
    model.train()
    batch, suppress = rollout(model, processor, mixed_size_jsonl)
    reason = families.family_of(model).packing_reason(model)
    if name not in PACKED:
        assert reason and choose_forward(model) is row_logprobs
        # per row, a prompt's log-probs do not depend on the others in its batch (left padding)
        with torch.no_grad():
            full, _ = row_logprobs(model, batch, list(range(12)), 0.7, suppress)
            alone, _ = row_logprobs(model, batch.select_groups([1]), list(range(3)), 0.7, suppress)
        torch.testing.assert_close(full[3:6, :alone.shape[1]], alone, atol=1e-5, rtol=0)
        return
    assert reason is None and choose_forward(model) is packed_logprobs
    n_params = len(list(model.parameters()))
    for chunks in ([list(range(12))], [[0, 1, 4, 5], [2, 3, 6], [7, 8, 9, 10, 11]]):
        lp_row, grads_row = logprobs_and_grads(model, row_logprobs, batch, chunks, suppress)
        lp_packed, grads_packed = logprobs_and_grads(model, packed_logprobs, batch, chunks, suppress)
        torch.testing.assert_close(lp_packed, lp_row, atol=1e-5, rtol=0)
        assert len(grads_packed) == len(grads_row) == n_params, \
            sorted(set(dict(model.named_parameters())) - set(grads_row))
        for key, grad in grads_row.items():
            torch.testing.assert_close(grads_packed[key], grad, atol=1e-5, rtol=0, msg=key)
    # ... and the two-call shared-prefix attention equals the dense [L, L] mask it replaces
    dense = logprobs_and_grads(model, lambda *a: packed_logprobs(*a, dense_mask=True), batch, chunks, suppress)
    torch.testing.assert_close(lp_packed, dense[0], atol=1e-5, rtol=0)
    for key, grad in dense[1].items():
        torch.testing.assert_close(grads_packed[key], grad, atol=1e-5, rtol=0, msg=key)
    assert lp_row.abs().sum() > 0


@pytest.mark.parametrize("name", ALL)
def test_shared_prefix_decoding_matches_generate_or_refuses(tiny, name, mixed_size_jsonl, monkeypatch):
    model, processor = load(tiny(name))
    family = families.family_of(model)
    prompts = PromptCollator(processor, family, max_pixels=200 * 28 * 28, max_prompt_length=2048)(
        load_records(mixed_size_jsonl))
    engine = build_engine("hf", model, processor, **policy_tokens(model, processor))
    top1 = Sampling(5, top_k=1)  # deterministic: both paths must pick the same tokens
    if name not in PACKED:
        assert family.decoding_reason(model) and not shared_prefix.supports(model)
        out = engine.generate(prompts, 2, top1)  # generate(num_return_sequences) instead
        assert out.completion_ids.shape[0] == 8
        return
    assert shared_prefix.supports(model)
    shared = engine.generate(prompts, 3, top1).completion_ids
    monkeypatch.setattr(shared_prefix, "supports", lambda m: False)
    repeated = engine.generate(prompts, 3, top1).completion_ids
    assert torch.equal(shared, repeated)


# the same physical box, [50, 30, 150, 120] on the 200 x 150 image, in each convention:
# grid1000: x / 200 * 1000, y / 150 * 1000; normalized: x / 200, y / 150; input_pixels: x * w_in / 200
IN_CONVENTION = {"grid1000": lambda w, h: [250, 200, 750, 800], "normalized": lambda w, h: [0.25, 0.2, 0.75, 0.8],
                 "input_pixels": lambda w, h: [50 * w / 200, 30 * h / 150, 150 * w / 200, 120 * h / 150]}


@pytest.mark.parametrize("name", ALL)
def test_a_box_in_the_familys_convention_scores_iou_one(tiny, name, mixed_size_jsonl):
    model, processor = load(tiny(name))
    family = families.family_of(model)
    record = load_records(mixed_size_jsonl)[3]  # a 200 x 150 image (and a second one)
    record.answer = [50.0, 30.0, 150.0, 120.0]
    batch = PromptCollator(processor, family, max_pixels=200 * 28 * 28)([record])
    assert batch.original_sizes[0][0] == (200, 150)
    w, h = batch.input_sizes[0][0]
    text = family.format_box(IN_CONVENTION[family.box_convention](w, h))
    ctx = RewardContext(batch.original_sizes, batch.input_sizes, model_family=name)
    assert get_reward("iou")([text], [record], ctx) == [pytest.approx(1.0)]
    other = "grid1000" if family.box_convention == "normalized" else "normalized"
    wrong = RewardContext(batch.original_sizes, batch.input_sizes, box_convention=other)
    assert get_reward("iou")([text], [record], wrong)[0] < 0.5  # the convention matters


@pytest.mark.parametrize("name", ALL)
def test_cli_trains_three_steps_and_every_trainable_tensor_changes(tiny, name, tmp_path):
    from gpg_vl.train import main

    out = tmp_path / "run"
    assert main(small_run(tiny(name), out) + ["optim.lr=1e-3"]) == 0
    before = load_file(tiny(name) / "model.safetensors")
    after = load_file(out / "checkpoint-3" / "model.safetensors")
    assert before.keys() == after.keys()
    unchanged = [k for k in before if torch.equal(before[k], after[k])]
    assert not unchanged, f"{name}: tensors that did not change: {unchanged}"


@pytest.mark.parametrize("name", ALL)
def test_cli_lora_trains_three_steps_and_every_adapter_moves(tiny, name, tmp_path):
    """lora.r=4: adapters on exactly the family's lora_targets (language model only), and every
    lora_B (zero at init) has moved; the checkpoint holds adapters, no base weights."""
    from gpg_vl.train import main

    out = tmp_path / "run"
    assert main(small_run(tiny(name), out) + ["lora.r=4", "optim.lr=1e-2", "probe.size=0"]) == 0
    adapters = load_file(out / "checkpoint-3" / "adapter_model.safetensors")
    assert not (out / "checkpoint-3" / "model.safetensors").exists()
    layers = {k.split(".lora_")[0].rsplit(".", 1)[-1] for k in adapters}
    assert layers == set(families.get(name).lora_targets)
    assert all(k.startswith("base_model.model." + families.get(name).language_model[0]) for k in adapters)
    still = [k for k, v in adapters.items() if ".lora_B." in k and not v.abs().sum()]
    assert not still, f"{name}: adapters that never moved: {still}"
