"""FLOP and memory model of the three training-forward layouts, projected to real models.

    python bench/flop_model.py            # prints the markdown tables

Per group (one prompt of P tokens, its image of `patches` ViT patches, G completions of C
tokens), forward FLOPs are counted as 2 per multiply-add:

- linear layers: 2 x (parameters of q, k, v, o and the MLP) per token through the body;
  per-row runs G x (P + C) tokens, packed P + G x C;
- attention scores: 4 x entries x heads x head_dim per layer (QK^T and PV), entries:
  per-row G (P + C)^2 / 2 (a causal kernel skips the upper half), dense mask (P + G C)^2
  (SDPA computes every block under a custom mask), shared prefix by two SDPA calls
  P^2 / 2 + G C (P + C), by flash-attention's varlen kernel P^2 / 2 + G C (P + C / 2);
- lm_head: 2 x hidden x V per scored token (G x C for every layout);
- the vision tower: 2 x its parameters per patch (+ its attention), G times per-row, once packed.

Training = 3 x forward (backward twice the forward), plus one more lm_head forward for
the chunked log-probs' recomputation. The tokens/s figure is completion tokens over
(FLOPs / H200 bf16 dense peak, 989 TFLOP/s): an upper bound at 100% utilisation; a real
step reaches some fraction of it, alike for every layout. Logits memory: the bf16 logits
of the scored tokens, their fp32 copy and the scaled fp32 logits log-softmax keeps for
backward (10 bytes per entry), for [G C, V] today and [chunk, V] chunked.
"""

from __future__ import annotations

from dataclasses import dataclass

H200_BF16 = 989e12
CHUNK_LOGITS = 2 ** 26  # gpg_vl.logprobs.LOGITS_PER_CHUNK


@dataclass
class Shape:
    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    vit_params: float  # vision tower + merger
    vit_layers: int
    vit_hidden: int

    def linear_params(self) -> int:
        attn = self.hidden * self.head_dim * (2 * self.heads + 2 * self.kv_heads)
        return attn + 3 * self.hidden * self.intermediate


QWEN2_VL_2B = Shape("Qwen2-VL-2B", 28, 1536, 12, 2, 128, 8960, 151_936, 675e6, 32, 1280)
QWEN2_5_VL_7B = Shape("Qwen2.5-VL-7B", 28, 3584, 28, 4, 128, 18944, 152_064, 670e6, 32, 1280)
LAYOUTS = ("per-row", "dense mask", "shared prefix (SDPA)", "shared prefix (varlen)")


def entries(layout: str, P: int, C: int, G: int) -> float:
    """Attention score entries per head per layer for one group."""
    return {"per-row": G * (P + C) ** 2 / 2, "dense mask": (P + G * C) ** 2,
            "shared prefix (SDPA)": P ** 2 / 2 + G * C * (P + C),
            "shared prefix (varlen)": P ** 2 / 2 + G * C * (P + C / 2)}[layout]


def train_flops(m: Shape, layout: str, P: int, C: int, G: int, patches: int) -> dict:
    """Training FLOPs of one group, by part."""
    tokens = G * (P + C) if layout == "per-row" else P + G * C
    images = G if layout == "per-row" else 1
    body = 2 * m.layers * m.linear_params() * tokens
    attention = 4 * m.layers * entries(layout, P, C, G) * m.heads * m.head_dim
    vision = images * (2 * m.vit_params * patches + 4 * m.vit_layers * patches ** 2 * m.vit_hidden)
    head = 2 * m.hidden * m.vocab * G * C
    return {"body": 3 * body, "attention": 3 * attention, "vision": 3 * vision, "lm_head": 4 * head}


def logits_gib(m: Shape, G: int, C: int) -> tuple[float, float]:
    """(today, chunked) logits memory of one micro-batch of G completions, GiB."""
    chunk = max(1, CHUNK_LOGITS // m.vocab)
    return 10 * G * C * m.vocab / 2 ** 30, 10 * min(chunk, G * C) * m.vocab / 2 ** 30


def projection(shapes=(QWEN2_VL_2B, QWEN2_5_VL_7B), cells=((1024, 512, 8), (1024, 700, 8), (300, 128, 8)),
               patches: int = 1024) -> list[str]:
    lines = ["| model | P | C | G | layout | attention entries / head / layer (M) | train TFLOP / group "
             "(body / attention / vision / lm_head) | completion tokens/s bound, H200 bf16 | x dense mask |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for m in shapes:
        for P, C, G in cells:
            total = {lay: train_flops(m, lay, P, C, G, patches) for lay in LAYOUTS}
            dense = sum(total["dense mask"].values())
            for lay in LAYOUTS:
                f = total[lay]
                s = sum(f.values())
                parts = " / ".join(f"{f[k] / 1e12:.1f}" for k in ("body", "attention", "vision", "lm_head"))
                lines.append(f"| {m.name} | {P} | {C} | {G} | {lay} | {entries(lay, P, C, G) / 1e6:.1f} | "
                             f"{s / 1e12:.1f} ({parts}) | {G * C / (s / H200_BF16):,.0f} | {dense / s:.2f} |")
    lines += ["", "| model | G x C scored tokens | logits today GiB (bf16 + fp32 copy + scaled fp32) | "
              "chunked GiB | chunk tokens |", "| --- | --- | --- | --- | --- |"]
    for m in shapes:
        for G, C in ((8, 512), (8, 700), (16, 512)):
            today, chunked = logits_gib(m, G, C)
            lines.append(f"| {m.name} | {G} x {C} | {today:.2f} | {chunked:.2f} | {CHUNK_LOGITS // m.vocab} |")
    return lines


if __name__ == "__main__":
    print("\n".join(projection()))
