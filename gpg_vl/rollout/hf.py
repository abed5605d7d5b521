"""The embedded default engine: batched sampling with transformers `generate`.

G completions per prompt: where the model's family allows it (gpg_vl.families), `shared_prefix.sample_groups`
prefills each prompt once and decodes its G rows against one copy of the prompt's keys
and values (`num_return_sequences=G` would prefill and read the prompt G times: most of a
short rollout's work); other models, and greedy decoding, use one `generate` call. The
pixel values are those the collator computed once. Vision special tokens (and any
padded-vocabulary rows) are suppressed, so a policy can never emit `<|image_pad|>`.
"""

from __future__ import annotations

import torch
from transformers import LogitsProcessor, LogitsProcessorList, TemperatureLogitsWarper

from ..data.collator import PromptBatch
from . import shared_prefix
from .batch import RolloutBatch
from .sampling import Sampling
from .tokens import completion_mask, decode_completions


class HFEngine:
    def __init__(self, model, processor, *, suppress_ids: list[int] = (), eos_token_ids: list[int],
                 pad_token_id: int, batch_rows: int = 0):
        self.model = model
        self.tokenizer = processor.tokenizer
        self.suppress_ids = list(suppress_ids)
        self.eos_token_ids = list(eos_token_ids)
        self.pad_token_id = pad_token_id
        self.batch_rows = batch_rows

    @torch.no_grad()
    def _generate(self, prompts: PromptBatch, n: int, sampling: Sampling) -> tuple[torch.Tensor, torch.Tensor]:
        """([B*n, C] token ids, [B*n, C] sampling log-probs) for these prompts."""
        greedy = sampling.greedy
        warpers = shared_prefix.warpers(sampling.temperature, sampling.top_k, sampling.top_p)
        if not greedy and n > 1 and shared_prefix.supports(self.model):
            ids, logprobs = shared_prefix.sample_groups(
                self.model, prompts, n, sampling.max_new_tokens, sampling.temperature, warpers,
                torch.tensor(self.suppress_ids, dtype=torch.long), torch.tensor(self.eos_token_ids),
                self.pad_token_id)
            return ids.cpu(), logprobs.cpu()
        inputs = {k: v.to(self.model.device) for k, v in prompts.model_inputs().items()}
        # generate puts a caller's processors BEFORE its own warpers: pass temperature, top-k and
        # top-p as ours, so the recorder sees the final distribution the token is drawn from
        record = RecordLogprobs()
        chain = LogitsProcessorList([] if greedy else [TemperatureLogitsWarper(sampling.temperature), *warpers])
        chain.append(record)
        out = self.model.generate(
            **inputs, do_sample=not greedy, temperature=1.0, top_k=0, top_p=1.0, logits_processor=chain,
            num_return_sequences=1 if greedy else n,
            max_new_tokens=sampling.max_new_tokens, suppress_tokens=self.suppress_ids or None,
            eos_token_id=self.eos_token_ids, pad_token_id=self.pad_token_id, use_cache=True,
            synced_gpus=shared_prefix.sharded(self.model))  # ZeRO-3 / FSDP: processes step together
        ids = out[:, prompts.input_ids.shape[1]:]  # [B*n, C]
        ids, logprobs = ids.cpu(), record.finish(ids).cpu()
        if greedy:  # greedy rows are identical
            return ids.repeat_interleave(n, dim=0), logprobs.repeat_interleave(n, dim=0)
        return ids, logprobs

    def generate(self, prompts: PromptBatch, n: int, sampling: Sampling) -> RolloutBatch:
        was_training = self.model.training
        self.model.eval()
        try:
            step = max(1, self.batch_rows // n) if self.batch_rows else len(prompts)
            chunks = []
            for start in range(0, len(prompts), step):
                idx = list(range(start, min(start + step, len(prompts))))
                part = prompts if len(idx) == len(prompts) else prompts.select(idx)
                chunks.append(self._generate(part, n, sampling))
        finally:
            self.model.train(was_training)
        width = max(ids.shape[1] for ids, _ in chunks)
        ids = torch.cat([torch.nn.functional.pad(c, (0, width - c.shape[1]), value=self.pad_token_id)
                         for c, _ in chunks])
        logprobs = torch.cat([torch.nn.functional.pad(lp, (0, width - lp.shape[1])) for _, lp in chunks])
        mask = completion_mask(ids, self.eos_token_ids)
        texts = decode_completions(self.tokenizer, ids, mask, self.eos_token_ids)
        return RolloutBatch(prompts=prompts, group_size=n, completion_ids=ids, completion_mask=mask,
                            texts=texts, sampling_logprobs=logprobs.float().masked_fill(mask == 0, 0.0))

    @property
    def collective(self) -> bool:
        """Every process must generate in step (weights sharded by ZeRO-3 / FSDP)."""
        return shared_prefix.sharded(self.model)

    def load_weights(self, model) -> None:
        self.model = model  # same module object: nothing to copy

    def close(self) -> None:
        self.model = None



class RecordLogprobs(LogitsProcessor):
    """Last in generate's chain: keeps each step's final log-softmax and, one step later (when
    the drawn token is in input_ids), the drawn token's log-prob. One [N, V] held at a time:
    `output_scores` would keep all C steps ([C, N, V]: gigabytes at a 152k vocabulary)."""

    def __init__(self):
        self.last = None
        self.picked: list[torch.Tensor] = []

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if self.last is not None:
            self.picked.append(self.last.gather(1, input_ids[:, -1:]).squeeze(1))
        self.last = torch.log_softmax(scores.float(), dim=-1)  # [N, V]
        return scores

    def finish(self, ids: torch.Tensor) -> torch.Tensor:
        """[N, C] log-probs of the generated ids (pad positions are masked by the caller)."""
        if self.last is not None and len(self.picked) < ids.shape[1]:
            self.picked.append(self.last.gather(1, ids[:, -1:].to(self.last.device)).squeeze(1))
        if not self.picked:
            return torch.zeros(ids.shape, dtype=torch.float32)
        return torch.stack(self.picked, dim=1)[:, :ids.shape[1]]
