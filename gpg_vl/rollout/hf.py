"""The embedded default engine: batched sampling with transformers `generate`.

G completions per prompt come from one `generate` call. For Qwen2-VL / Qwen2.5-VL each
prompt is prefilled once and its KV cache repeated G times (`num_return_sequences=G`
would run the prompt's tokens G times: about half of a short rollout's work); other
models use num_return_sequences. The pixel values are those the collator computed once.
Vision special tokens (and any padded-vocabulary rows) are suppressed, so a policy can
never emit `<|image_pad|>`.
"""

from __future__ import annotations

import torch

from ..data.collator import PromptBatch
from ..packing import PACKABLE_MODELS, mrope_positions
from .batch import RolloutBatch
from .tokens import completion_mask, decode_completions


class HFEngine:
    def __init__(self, model, processor, *, max_new_tokens: int, temperature: float = 1.0,
                 top_p: float = 1.0, top_k: int = 0, suppress_ids: list[int] = (),
                 eos_token_ids: list[int], pad_token_id: int, batch_rows: int = 0):
        self.model = model
        self.tokenizer = processor.tokenizer
        self.max_new_tokens = max_new_tokens
        self.sampling = dict(temperature=temperature, top_p=top_p, top_k=top_k or None)
        self.suppress_ids = list(suppress_ids)
        self.eos_token_ids = list(eos_token_ids)
        self.pad_token_id = pad_token_id
        self.batch_rows = batch_rows

    @torch.no_grad()
    def _generate(self, prompts: PromptBatch, n: int, greedy: bool) -> torch.Tensor:
        if not greedy and n > 1 and self._can_share_prefill(prompts):
            inputs = self._shared_prefill(prompts, n)
        else:
            inputs = {k: v.to(self.model.device) for k, v in prompts.model_inputs().items()}
            inputs["num_return_sequences"] = 1 if greedy else n
        sampling = dict(do_sample=False) if greedy else dict(do_sample=True, **self.sampling)
        out = self.model.generate(
            **inputs, **sampling, max_new_tokens=self.max_new_tokens,
            suppress_tokens=self.suppress_ids or None, eos_token_id=self.eos_token_ids,
            pad_token_id=self.pad_token_id, use_cache=True)
        out = out[:, prompts.input_ids.shape[1]:].cpu()  # [B*n, C]
        return out.repeat_interleave(n, dim=0) if greedy else out  # greedy rows are identical

    def _can_share_prefill(self, prompts: PromptBatch) -> bool:
        """M-RoPE positions known, and the prompts end in text (the last token is not cached)."""
        return (getattr(self.model.config, "model_type", "") in PACKABLE_MODELS
                and not prompts.mm_token_type_ids[:, -1].any())

    def _shared_prefill(self, prompts: PromptBatch, n: int) -> dict:
        """generate() inputs [B*n, P] continuing one prefill per prompt, its cache repeated n times.

        The cache covers all but the prompts' last token (generate needs one uncached token
        to start from); positions are the prompts' M-RoPE ones, passed explicitly so every
        row continues from its own prompt's end. The repeated cache is a preallocated
        StaticCache: a growing DynamicCache copies all B*n rows' keys and values at every
        decoding step (a third of decoding time on a CPU). Not compiled (`disable_compile`):
        batch and prompt length change every step.
        """
        from transformers import StaticCache

        device = self.model.device
        inputs = {k: v.to(device) for k, v in prompts.model_inputs().items()}
        positions = mrope_positions(self.model, prompts).to(device)  # [3, B, P]
        head = {k: inputs[k][:, :-1] for k in ("input_ids", "attention_mask", "mm_token_type_ids")}
        prefill = self.model(**head, pixel_values=inputs["pixel_values"], image_grid_thw=inputs["image_grid_thw"],
                             position_ids=positions[:, :, :-1], use_cache=True, logits_to_keep=1).past_key_values
        cache = StaticCache(config=self.model.config, max_cache_len=positions.shape[2] + self.max_new_tokens)
        for layer, (keys, values, *_) in enumerate(prefill):  # [B, H, P-1, D] -> [B*n, ...], prompt-major
            cache.update(keys.repeat_interleave(n, dim=0), values.repeat_interleave(n, dim=0), layer)
        return dict(input_ids=inputs["input_ids"].repeat_interleave(n, dim=0),
                    attention_mask=inputs["attention_mask"].repeat_interleave(n, dim=0),
                    position_ids=positions.repeat_interleave(n, dim=1), past_key_values=cache,
                    disable_compile=True)

    def generate(self, prompts: PromptBatch, n: int, greedy: bool = False) -> RolloutBatch:
        was_training = self.model.training
        self.model.eval()
        try:
            step = max(1, self.batch_rows // n) if self.batch_rows else len(prompts)
            chunks = []
            for start in range(0, len(prompts), step):
                idx = list(range(start, min(start + step, len(prompts))))
                part = prompts if len(idx) == len(prompts) else prompts.select(idx)
                chunks.append(self._generate(part, n, greedy))
        finally:
            self.model.train(was_training)
        width = max(c.shape[1] for c in chunks)
        ids = torch.cat([torch.nn.functional.pad(c, (0, width - c.shape[1]), value=self.pad_token_id)
                         for c in chunks])
        mask = completion_mask(ids, self.eos_token_ids)
        texts = decode_completions(self.tokenizer, ids, mask, self.eos_token_ids)
        return RolloutBatch(prompts=prompts, group_size=n, completion_ids=ids,
                            completion_mask=mask, texts=texts)

    def load_weights(self, model) -> None:
        self.model = model  # same module object: nothing to copy

    def close(self) -> None:
        self.model = None

