"""Shared-prefix attention and chunked log-probs: the same values and every gradient as the
dense-mask attention and the whole-vocabulary log-softmax they replace."""

import pytest
import torch
import torch.nn.functional as F
from transformers.integrations.sdpa_attention import repeat_kv

from gpg_vl import prefix_attention
from gpg_vl.config import ModelConfig
from gpg_vl.forward import packed_logprobs
from gpg_vl.logprobs import chunked_logprobs
from gpg_vl.models import load_policy
from gpg_vl.packing import shared_prompt_mask
from gpg_vl.prefix_attention import prefix_attention as attend, prefix_layout

from test_packing import logprobs_and_grads, rollout

# 3 packed rows: prompts of 4, 6 and 2 tokens; completions of 3, 1, 2 / 4, 2 / none; padding
SEGMENT = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 2, 3, 3, -1, -1],
                        [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2],
                        [0, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1]])
TOL = {torch.float32: 1e-6, torch.bfloat16: 2e-2}


def reference_varlen(q, k, v, cu_q, cu_k, max_q, max_k, dropout_p=0.0, softmax_scale=None, causal=True):
    """flash-attention's varlen contract in plain torch: causal aligned bottom-right, GQA native."""
    out = []
    for i in range(len(cu_q) - 1):
        qi, ki, vi = q[cu_q[i]:cu_q[i + 1]], k[cu_k[i]:cu_k[i + 1]], v[cu_k[i]:cu_k[i + 1]]
        nq, nk = qi.shape[0], ki.shape[0]
        mask = torch.ones(nq, nk, dtype=torch.bool).tril(diagonal=nk - nq)
        rep = qi.shape[1] // ki.shape[1]
        o = F.scaled_dot_product_attention(qi.transpose(0, 1), ki.transpose(0, 1).repeat_interleave(rep, 0),
                                           vi.transpose(0, 1).repeat_interleave(rep, 0), attn_mask=mask,
                                           scale=softmax_scale)
        out.append(o.transpose(0, 1))
    return torch.cat(out)


def dense(q, k, v, scale):
    """The reference: one SDPA call under the [B, 1, L, L] shared-prompt mask -> [B, L, H, D]."""
    rep = q.shape[1] // k.shape[1]
    out = F.scaled_dot_product_attention(q, repeat_kv(k, rep), repeat_kv(v, rep),
                                         attn_mask=shared_prompt_mask(SEGMENT), scale=scale)
    return out.transpose(1, 2)


@pytest.mark.parametrize("kernel", ["sdpa", "sdpa_repeated_heads", "varlen"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_two_calls_equal_the_dense_mask(kernel, dtype, monkeypatch):
    """Values and the gradients of q, k, v (GQA: 4 query heads over 2 key/value heads).
    sdpa_repeated_heads: the CUDA way (key/value heads repeated before SDPA), run on the CPU."""
    monkeypatch.setattr(prefix_attention, "varlen_kernel", lambda: reference_varlen)
    if kernel == "sdpa_repeated_heads":
        monkeypatch.setattr(prefix_attention, "native_gqa", lambda device: False)
        kernel = "sdpa"
    g = torch.Generator().manual_seed(0)
    B, L = SEGMENT.shape
    q, k, v = (torch.randn(B, h, L, 8, generator=g).to(dtype).requires_grad_() for h in (4, 2, 2))
    real = (SEGMENT >= 0)[:, :, None, None]  # padding outputs differ (the dense mask lets them see themselves)
    weight = torch.randn(B, L, 4, 8, generator=g).to(dtype) * real
    layout = prefix_layout(SEGMENT, kernel)
    diffs = []
    for fn in (lambda: attend(None, q, k, v, layout, 0.3), lambda: dense(q, k, v, 0.3)):
        out = fn()
        (out * weight).sum().backward()
        diffs.append([out * real] + [x.grad.clone() for x in (q, k, v)])
        for x in (q, k, v):
            x.grad = None
    for ours, ref in zip(*diffs):
        torch.testing.assert_close(ours.float(), ref.float(), atol=TOL[dtype], rtol=1e-6 if dtype == torch.float32 else 2e-2)


def test_layout_worked_by_hand():
    layout = prefix_layout(SEGMENT)
    assert layout.P == 6 and layout.prompt_len.tolist() == [4, 6, 2]
    assert layout.rows.tolist() == [0, 0, 0, 1, 1] and layout.counts.tolist() == [3, 1, 2, 4, 2]
    # row 0's first completion token (position 4) is completion 0's token 0 -> call 2's row 0;
    # row 1's position 3 is prompt token 3 -> call 1's row 1*P + 3; padding -> the zero row
    n = 3 * 6 + 5 * 4
    assert layout.source[4] == 18 and layout.source[12 + 3] == 9 and layout.source[11] == n


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_chunked_logprobs_equal_whole_vocabulary(dtype):
    """Chunks of 5 == all 37 tokens at once: values, d hidden, d lm_head; no chunk sees more than 5 rows."""
    g = torch.Generator().manual_seed(0)
    head = torch.nn.Linear(16, 50, bias=False).to(dtype)
    hidden = torch.randn(37, 16, generator=g).to(dtype).requires_grad_()
    suppress = torch.tensor([3, 7])
    targets = torch.randint(8, 50, (37,), generator=g)
    weight = torch.randn(37, generator=g)
    seen = []
    head.register_forward_hook(lambda m, i, o: seen.append(o.shape[0]))
    results = []
    for chunk in (5, 0):
        lp = chunked_logprobs(head, hidden, targets, 0.7, suppress, chunk_tokens=chunk)
        (lp * weight).sum().backward()
        results.append((lp.detach(), hidden.grad.clone(), head.weight.grad.clone()))
        hidden.grad = head.weight.grad = None
    assert max(seen[:-1]) == 5 and seen[-1] == 37  # chunked forward + recomputation; then the reference
    assert results[0][0].dtype == torch.float32
    for ours, ref in zip(*results):
        torch.testing.assert_close(ours.float(), ref.float(), atol=TOL[dtype], rtol=1e-6 if dtype == torch.float32 else 2e-2)


@pytest.mark.parametrize("family,dtype", [("tiny_qwen2_vl", torch.float32), ("tiny_qwen2_5_vl", torch.float32),
                                          ("tiny_qwen2_vl", torch.bfloat16)])
def test_model_shared_prefix_equals_dense_mask(request, family, dtype, mixed_size_jsonl):
    """The whole packed forward (both families; groups split over micro-batches): shared-prefix
    attention + chunked log-probs == dense mask + whole-vocabulary log-probs, values and every
    parameter's gradient."""
    model, processor = load_policy(ModelConfig(path=str(request.getfixturevalue(family)),
                                               dtype="float32" if dtype == torch.float32 else "bfloat16"))
    model.train()
    batch, suppress = rollout(model, processor, mixed_size_jsonl)
    chunks = [[0, 1, 4, 5], [2, 3, 6], [7, 8, 9, 10, 11]]

    def dense_mask(*args):
        return packed_logprobs(*args, chunk_tokens=0, dense_mask=True)

    def shared_prefix(*args):
        return packed_logprobs(*args, chunk_tokens=4)

    lp_ref, grads_ref = logprobs_and_grads(model, dense_mask, batch, chunks, suppress)
    lp, grads = logprobs_and_grads(model, shared_prefix, batch, chunks, suppress)
    tol = dict(atol=1e-5, rtol=0) if dtype == torch.float32 else dict(atol=3e-2, rtol=3e-2)
    torch.testing.assert_close(lp, lp_ref, **tol)
    assert len(grads) == len(grads_ref) == len(list(model.parameters()))
    for name, grad in grads_ref.items():
        torch.testing.assert_close(grads[name].float(), grad.float(), msg=name, **tol)


def test_flash_attention_models_take_the_varlen_calls(policy, mixed_size_jsonl, monkeypatch):
    """A flash_attention_2 model runs both calls through the varlen kernel (a torch stand-in here)."""
    model, processor = policy
    calls = []

    def recording(*args, **kwargs):
        calls.append(args[3].shape[0])
        return reference_varlen(*args, **kwargs)

    monkeypatch.setattr(prefix_attention, "varlen_kernel", lambda: recording)
    batch, suppress = rollout(model, processor, mixed_size_jsonl)
    text = model.config.text_config
    with torch.no_grad():
        ref, _ = packed_logprobs(model, batch, list(range(12)), 0.7, suppress)
        monkeypatch.setattr(text, "_attn_implementation", "flash_attention_2")
        lp, _ = packed_logprobs(model, batch, list(range(12)), 0.7, suppress)
    assert len(calls) == 2 * text.num_hidden_layers and calls[0] == 5  # B + 1 prompt boundaries
    torch.testing.assert_close(lp, ref, atol=1e-5, rtol=0)
