"""Token-level helpers every engine shares: which ids to suppress, masks, decoding."""

from __future__ import annotations

import torch
from torch import Tensor

def suppressed_token_ids(tokenizer, vocab_size: int, extra: list = (), never: tuple[str, ...] = ()) -> list[int]:
    """Ids never sampled: the family's vision/chat special tokens (`never`, from
    `Family.never_sample`), untrained padded-vocabulary rows, extras (tokens or ids)."""
    ids = set()
    for tok in list(never) + [e for e in extra if isinstance(e, str)]:
        tid = tokenizer.convert_tokens_to_ids(tok)
        if isinstance(tid, int) and tid != tokenizer.unk_token_id and tid >= 0:
            ids.add(tid)
    ids.update(int(e) for e in extra if not isinstance(e, str))
    ids.update(range(len(tokenizer), vocab_size))
    return sorted(ids)


def completion_mask(ids: Tensor, eos_ids: list[int]) -> Tensor:
    """1 on tokens up to and including the first EOS, 0 after. [N, C] -> long [N, C]."""
    is_eos = torch.isin(ids, torch.tensor(eos_ids, dtype=ids.dtype))
    after_eos = (is_eos.long().cumsum(dim=1) - is_eos.long()) > 0  # strictly after first EOS
    return (~after_eos).long()


def decode_completions(tokenizer, ids: Tensor, mask: Tensor, eos_ids: list[int]) -> list[str]:
    """Completion texts without the EOS token; special tokens kept (Qwen2-VL box tokens)."""
    eos = set(eos_ids)
    rows = [[t for t, m in zip(r, mr) if m and t not in eos] for r, mr in zip(ids.tolist(), mask.tolist())]
    return tokenizer.batch_decode(rows, skip_special_tokens=False)


def suppressed_ids(model, tokenizer, extra: list = ()) -> list[int]:
    """`suppressed_token_ids` for this model: its family's never-sampled tokens, its vocabulary."""
    from ..families import family_of

    text = getattr(model.config, "text_config", model.config)
    return suppressed_token_ids(tokenizer, text.vocab_size, extra, family_of(model).never_sample)
