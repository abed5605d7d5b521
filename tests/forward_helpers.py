"""What the packed-vs-per-row equivalence tests share."""

import torch


def logprobs_and_grads(model, fn, batch, chunks, suppress):
    """Log-probs [B*G, C] and every parameter's gradient of a loss weighting each token
    differently (so a gradient mixed up between tokens or rows shows)."""
    rows_n, C = batch.completion_ids.shape
    model.zero_grad(set_to_none=True)
    weights = torch.linspace(-1.0, 1.0, rows_n * C).view(rows_n, C)
    out = torch.zeros(rows_n, C)
    for rows in chunks:
        lp, mask = fn(model, batch, rows, 0.7, suppress)
        (lp * mask * weights[rows, :lp.shape[1]]).sum().backward()
        out[rows, :lp.shape[1]] = lp.detach()
    return out, {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
