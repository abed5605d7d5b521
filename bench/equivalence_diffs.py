"""Max abs differences behind the equivalence tests (tests/test_prefix_attention.py), as figures.

    python bench/equivalence_diffs.py

Shared-prefix attention (two SDPA calls; the varlen calls through a torch stand-in of
flash-attention's contract) against the dense-mask SDPA call, and chunked log-probs against
all-at-once, in fp32 and bf16: values and the gradients of every input. Then the whole
packed forward of a tiny Qwen2-VL / Qwen2.5-VL (8 synthetic counting prompts x G=4,
20-token completions of random lengths): shared prefix + chunked log-probs against dense
mask + all-at-once, values and every parameter's gradient.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))


def max_diffs(pairs) -> str:
    """name max|a - b| (/ max|b|) for each pair."""
    out = []
    for name, a, b in pairs:
        a, b = a.detach().float(), b.detach().float()
        out.append(f"{name} {float((a - b).abs().max()):.1e} (/{float(b.abs().max()):.1e})")
    return ", ".join(out)


def attention_diffs(dtype) -> str:
    from test_prefix_attention import SEGMENT, dense, reference_varlen

    from gpg_vl import prefix_attention

    prefix_attention.varlen_kernel = lambda: reference_varlen
    g = torch.Generator().manual_seed(0)
    B, L = SEGMENT.shape
    q, k, v = (torch.randn(B, h, L, 8, generator=g).to(dtype).requires_grad_() for h in (4, 2, 2))
    real = (SEGMENT >= 0)[:, :, None, None]
    weight = torch.randn(B, L, 4, 8, generator=g).to(dtype) * real
    out = {}
    for name, fn in [("dense", lambda: dense(q, k, v, 0.3))] + [
            (kernel, lambda kernel=kernel: prefix_attention.prefix_attention(
                None, q, k, v, prefix_attention.prefix_layout(SEGMENT, kernel), 0.3)) for kernel in ("sdpa", "varlen")]:
        y = fn()
        (y * weight).sum().backward()
        out[name] = [y * real] + [x.grad.clone() for x in (q, k, v)]
        for x in (q, k, v):
            x.grad = None
    return "; ".join(f"{kernel}: " + max_diffs(zip(("out", "dq", "dk", "dv"), out[kernel], out["dense"]))
                     for kernel in ("sdpa", "varlen"))


def logprob_diffs(dtype) -> str:
    from gpg_vl.logprobs import chunked_logprobs

    g = torch.Generator().manual_seed(0)
    head = torch.nn.Linear(64, 5000, bias=False).to(dtype)
    hidden = torch.randn(300, 64, generator=g).to(dtype).requires_grad_()
    targets = torch.randint(10, 5000, (300,), generator=g)
    weight = torch.randn(300, generator=g)
    out = []
    for chunk in (64, 0):
        lp = chunked_logprobs(head, hidden, targets, 0.7, torch.arange(10), chunk_tokens=chunk)
        (lp * weight).sum().backward()
        out.append([lp.detach(), hidden.grad.clone(), head.weight.grad.clone()])
        hidden.grad = head.weight.grad = None
    return max_diffs(zip(("logprobs", "d hidden", "d lm_head"), *out))


def model_diffs(family: str, dtype: str, work: Path) -> str:
    from data_prep.synthetic import write_synthetic
    from forward_sweep import sweep_batch
    from gpg_vl.config import ModelConfig
    from gpg_vl.data.collator import PromptCollator
    from gpg_vl.data.loading import load_records
    from gpg_vl.families import family_of
    from gpg_vl.forward import packed_logprobs
    from gpg_vl.models import load_policy
    from gpg_vl.rollout.tokens import suppressed_ids
    from gpg_vl.tiny import build_tiny_model

    model, processor = load_policy(ModelConfig(path=str(build_tiny_model(work / family, family)), dtype=dtype))
    model.train()
    if not (work / "data" / "train.jsonl").exists():
        write_synthetic("count", 8, work / "data", "train", seed=0)
    prompts = PromptCollator(processor, family_of(model), max_prompt_length=512)(load_records(work / "data" / "train.jsonl"))
    vocab = model.config.text_config.vocab_size
    suppress = suppressed_ids(model, processor.tokenizer)
    batch = sweep_batch(prompts, 4, 20, suppress, vocab)
    batch.completion_mask = (torch.arange(20)[None] < torch.randint(1, 21, (32,), generator=torch.Generator().manual_seed(1))[:, None]).long()
    weights = torch.linspace(-1, 1, 32 * 20).view(32, 20)
    results = []
    for kwargs in (dict(chunk_tokens=16), dict(chunk_tokens=0, dense_mask=True)):
        model.zero_grad(set_to_none=True)
        lp, mask = packed_logprobs(model, batch, list(range(32)), 0.7, torch.tensor(suppress), **kwargs)
        (lp * mask * weights[:, :lp.shape[1]]).sum().backward()
        results.append((lp.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}))
    (lp, grads), (lp_ref, grads_ref) = results
    worst = max(float((grads[n].float() - grads_ref[n].float()).abs().max()) for n in grads)
    scale = max(float(grads_ref[n].float().abs().max()) for n in grads)
    return (f"logprobs {float((lp - lp_ref).abs().max()):.1e}, every gradient (max over {len(grads)} tensors) "
            f"{worst:.1e} (largest gradient entry {scale:.1e})")


if __name__ == "__main__":
    torch.set_num_threads(2)
    for dtype in (torch.float32, torch.bfloat16):
        print(f"attention {dtype}: {attention_diffs(dtype)}")
        print(f"chunked log-probs {dtype}: {logprob_diffs(dtype)}")
    with tempfile.TemporaryDirectory() as tmp:
        for family, dtype in (("qwen2_vl", "float32"), ("qwen2_5_vl", "float32"), ("qwen2_vl", "bfloat16")):
            print(f"packed forward {family} {dtype}: {model_diffs(family, dtype, Path(tmp))}")
