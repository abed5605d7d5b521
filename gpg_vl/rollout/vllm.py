"""Rollouts with vLLM, colocated with training (same GPUs, same processes).

Each training process keeps a vLLM engine inside itself (TRL's "colocate" mode); G samples
per prompt come from one request with SamplingParams(n=G). The engine is fed exactly what
the HF engine is fed, so both produce the same RolloutBatch:

- prompt token ids: the collator's (left padding removed), in the model family's format
  (`Family.vllm_prompt`; Qwen: each image's run of placeholders folded back to one
  `<|image_pad|>`, which vLLM expands again from the image size); every call checks vLLM's
  prompt equals the collator's (placeholder counts included) before anything trains on it;
- images: the records' images re-opened and resized once by the same vision settings the
  collator used (the family's, rebuilt from the processor's min/max pixels), so vLLM's
  processor sees the same pixels and its own resize is a no-op;
- banned tokens: `allowed_token_ids` is every id the HF engine does not suppress (vision
  special tokens, padded vocabulary rows);
- log-probs: `logprobs_mode="processed_logprobs"`, i.e. after temperature and the ban:
  what `gpg_vl.forward.completion_logprobs` computes in training (top_p/top_k < 1 aside).

After every optimizer step `load_weights(model)` streams the policy's parameters into
vLLM without touching disk (LoRA layers merged: `gpg_vl.lora.merged_weights`), gathered from ZeRO-3 or FSDP shards a chunk at a time, then
drops the prefix and vision-encoder caches that the old weights computed. Sleep mode
(GPU only) releases vLLM's memory after each generate call. With tensor_parallel_size=k,
k consecutive processes share one vLLM and pool their prompts.

vLLM is imported only when this engine is built; `import gpg_vl` never imports it.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterator

import torch

from ..data.collator import PromptBatch
from ..families import family_of
from ..data.vision import VisionSettings, open_image
from .batch import RolloutBatch
from .sampling import Sampling
from .tokens import completion_mask, decode_completions

MIN_VLLM = "0.10.2"  # logprobs_mode (processed log-probs), sleep tags, collective_rpc with callables


def import_vllm():
    """vllm, or an error that says what to install."""
    from packaging.version import Version

    try:
        import vllm
    except ImportError as err:
        raise ImportError("rollout.engine=vllm needs vLLM: pip install 'gpg_vl[gpu]' on a CUDA machine "
                          f"(vllm>={MIN_VLLM}); rollout.engine=hf runs anywhere") from err
    found = Version(vllm.__version__.split("+")[0])
    if found < Version(MIN_VLLM):
        raise ImportError(f"rollout.engine=vllm needs vLLM >= {MIN_VLLM}; found {vllm.__version__}")
    return vllm


def vision_settings(processor, family) -> VisionSettings:
    """The collator's vision settings, read back from the processor it configured
    (`Family.processor_kwargs` set its min / max pixels when it loaded)."""
    ip = processor.image_processor
    size = getattr(ip, "size", None) or {}
    return family.vision(processor, size.get("shortest_edge", getattr(ip, "min_pixels", 3136)),
                         size.get("longest_edge", getattr(ip, "max_pixels", 401408)))


def prompt_ids(prompts: PromptBatch) -> list[list[int]]:
    """Each prompt's token ids without left padding, placeholders expanded (the collator's)."""
    return [row[mask.bool()].tolist() for row, mask in zip(prompts.input_ids, prompts.attention_mask)]




# --- weights out of the trainer ----------------------------------------------------------

def full_weights(model, chunk_numel: int = 2 ** 27) -> Iterator[tuple[str, torch.Tensor]]:
    """(name, full tensor) for every parameter, whatever shards them. Every process must
    consume it in the same order: under ZeRO-3 and FSDP each chunk is a collective.

    ZeRO-3: parameters are gathered `chunk_numel` elements at a time and copied out (vLLM
    may hold a tensor until its whole layer has arrived). FSDP2: DTensor.full_tensor().
    FSDP1: one summon_full_params for the whole model. Unsharded: the tensors themselves.
    """
    named = list(model.named_parameters())
    if any(hasattr(p, "ds_id") for _, p in named):
        import deepspeed

        for chunk in _chunks(named, chunk_numel):
            with deepspeed.zero.GatheredParameters([p for _, p in chunk]):
                out = [(n, p.data.detach().clone()) for n, p in chunk]
            yield from out
        return
    fsdp1 = _fsdp1_root(model)
    if fsdp1 is not None:
        with type(fsdp1).summon_full_params(fsdp1, writeback=False, recurse=True):
            for n, p in model.named_parameters():
                yield _clean_name(n), p.detach().clone()
        return
    for n, p in named:
        yield n, p.full_tensor().detach() if hasattr(p, "full_tensor") else p.detach()


def _chunks(named, limit: int):
    chunk, size = [], 0
    for name, p in named:
        n = getattr(p, "ds_numel", p.numel())
        if chunk and size + n > limit:
            yield chunk
            chunk, size = [], 0
        chunk.append((name, p))
        size += n
    if chunk:
        yield chunk


def _fsdp1_root(model):
    try:
        from torch.distributed.fsdp import FullyShardedDataParallel
    except ImportError:
        return None
    return next((m for m in model.modules() if isinstance(m, FullyShardedDataParallel)), None)


def _clean_name(name: str) -> str:
    return name.replace("_fsdp_wrapped_module.", "").replace("_checkpoint_wrapped_module.", "")


def _reload_weights(worker, weights) -> None:
    """Runs inside vLLM's worker. Newer vLLM reloads layer by layer (also into kernels it
    repacked at load, as on CPU); older ones take the weights straight into the module."""
    runner = worker.model_runner
    reload = getattr(runner, "reload_weights", None)  # the worker's own forwards *args
    if reload is not None and "weights_iterator" in inspect.signature(reload).parameters:
        worker.reload_weights(weights_iterator=weights, is_checkpoint_format=True)
    else:
        runner.model.load_weights(weights)


# --- the engine ---------------------------------------------------------------------------

class VLLMEngine:
    """generate / load_weights / close, as `gpg_vl.rollout.RolloutEngine`.

    The keywords up to batch_rows are the HF engine's (what is fixed for a policy; how to
    sample comes with each generate call); the rest are vLLM's own:
    tensor_parallel_size, gpu_memory_utilization (the share of each GPU vLLM may take:
    weights + KV cache), sleep (after each generate, offload vLLM's weights to CPU and drop
    its KV cache until the next call; default on where there is a GPU, it needs CUDA),
    max_model_len, max_images (per prompt), seed (vLLM's sampling seed; + process index // tp), dtype
    (vLLM's weights; the run passes model.dtype).
    """

    def __init__(self, model, processor, *, suppress_ids: list[int] = (), eos_token_ids: list[int],
                 pad_token_id: int, batch_rows: int = 0,
                 tensor_parallel_size: int = 1, gpu_memory_utilization: float = 0.3,
                 sleep: bool | None = None, max_model_len: int | None = None,
                 max_images: int = 8, seed: int = 0, enforce_eager: bool = False, dtype: str | None = None):
        vllm = import_vllm()
        self.tokenizer, self.processor = processor.tokenizer, processor
        self.family = family_of(model)
        self.vision = vision_settings(processor, self.family)
        self.eos_token_ids, self.pad_token_id, self.batch_rows = list(eos_token_ids), pad_token_id, batch_rows
        banned = set(suppress_ids)
        self.allowed_ids = [i for i in range(len(self.tokenizer)) if i not in banned]
        self.sleep = torch.cuda.is_available() if sleep is None else sleep
        self.sleeping: list[str] = []  # vLLM memory pools now released
        self.tp = tensor_parallel_size
        self.tp_group = self._tensor_parallel_group()
        # launched by torchrun / accelerate (RANK set), not merely a process group that an earlier
        # vLLM engine of this process created for itself (a second engine would then look for RANK)
        distributed = (torch.distributed.is_available() and torch.distributed.is_initialized()
                       and "RANK" in os.environ)
        rank = torch.distributed.get_rank() if distributed else 0
        # vLLM inside this process: weights reach it by reference, never pickled
        os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
        # the run's compute precision (model.dtype): the trainer's master weights stay float32
        dtype = dtype or str(next(model.parameters()).dtype).removeprefix("torch.")
        path = model.config._name_or_path
        self.llm = vllm.LLM(
            model=path, tokenizer=path, dtype=dtype, seed=seed + rank // self.tp,
            tensor_parallel_size=self.tp, gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=max_model_len, enable_sleep_mode=self.sleep,
            logprobs_mode="processed_logprobs", enforce_eager=enforce_eager,
            limit_mm_per_prompt={"image": max_images, "video": 0},
            mm_processor_kwargs=self.family.processor_kwargs(self.vision.min_pixels, self.vision.max_pixels),
            # under torchrun/accelerate: join the trainer's process group instead of spawning
            distributed_executor_backend="external_launcher" if distributed else None)
        self._vllm = vllm

    def _tensor_parallel_group(self):
        """Processes [k*tp, (k+1)*tp) share one vLLM; None without tensor parallelism."""
        if self.tp == 1:
            return None
        world = torch.distributed.get_world_size()
        group, _ = torch.distributed.new_subgroups_by_enumeration(
            [list(range(s, s + self.tp)) for s in range(0, world, self.tp)])
        return group

    # --- generation ---

    def requests(self, prompts: PromptBatch) -> list[dict]:
        """One vLLM prompt per PromptBatch row, in the family's format (`Family.vllm_prompt`:
        Qwen folds each image's placeholder run to one token), with the images resized once."""
        out = []
        for i, (ids, record) in enumerate(zip(prompt_ids(prompts), prompts.records)):
            opened = [open_image(ref) for ref in record.images]
            seen = [self.vision.resized_size(*im.size) for im in opened]
            if seen != [tuple(s) for s in prompts.input_sizes[i]]:
                raise RuntimeError(f"record {record.id}: re-opened images resize to {seen}, "
                                   f"the collator's to {prompts.input_sizes[i]}")
            out.append(self.family.vllm_prompt(self.processor, ids, prompts.texts[i],
                                               [self.vision.prepare(im) for im in opened]))
        return out

    def params(self, n: int, sampling: Sampling):
        """vLLM's SamplingParams for one generate call (greedy: one completion per prompt)."""
        greedy = sampling.greedy
        return self._vllm.SamplingParams(
            n=1 if greedy else n, temperature=0.0 if greedy else sampling.temperature,  # 0: vLLM's greedy
            top_p=sampling.top_p, top_k=sampling.top_k if sampling.top_k > 0 else -1,
            max_tokens=sampling.max_new_tokens, logprobs=0, allowed_token_ids=self.allowed_ids,
            stop_token_ids=self.eos_token_ids, detokenize=False)

    def _run(self, requests: list[dict], params) -> list:
        if self.tp_group is None:
            return self.llm.generate(requests, params, use_tqdm=False)
        pooled = [None] * self.tp  # every process of the group runs the same, pooled, batch
        torch.distributed.all_gather_object(pooled, requests, group=self.tp_group)
        outs = self.llm.generate([r for part in pooled for r in part], params, use_tqdm=False)
        start = sum(len(p) for p in pooled[:torch.distributed.get_rank(self.tp_group)])
        return outs[start:start + len(requests)]

    def generate(self, prompts: PromptBatch, n: int, sampling: Sampling) -> RolloutBatch:
        """B*n completions with each token's sampling log-prob (processed: temperature, ban)."""
        self._wake(self.sleeping)
        requests, expected = self.requests(prompts), prompt_ids(prompts)
        step = max(1, self.batch_rows // n) if self.batch_rows else len(requests)
        params = self.params(n, sampling)
        outs = []
        for s in range(0, len(requests), step):
            outs += self._run(requests[s:s + step], params)
        if self.sleep:
            self.llm.sleep(level=1)
            self.sleeping = ["weights", "kv_cache"]
        rows, logps = [], []
        for record, out, want in zip(prompts.records, outs, expected):
            if list(out.prompt_token_ids) != want:
                raise RuntimeError(f"record {record.id}: vLLM built {len(out.prompt_token_ids)} prompt tokens, "
                                   f"the collator {len(want)} (image placeholders differ?)")
            for c in out.outputs * (n if sampling.greedy else 1):  # greedy rows are identical
                rows.append(list(c.token_ids))
                logps.append([lp[t].logprob for t, lp in zip(c.token_ids, c.logprobs)])
        width = max(1, max(map(len, rows)))
        ids = torch.tensor([r + [self.pad_token_id] * (width - len(r)) for r in rows])  # [B*G, C]
        mask = completion_mask(ids, self.eos_token_ids)
        logprobs = torch.tensor([lp + [0.0] * (width - len(lp)) for lp in logps]).masked_fill(mask == 0, 0.0)
        texts = decode_completions(self.tokenizer, ids, mask, self.eos_token_ids)
        return RolloutBatch(prompts=prompts, group_size=n, completion_ids=ids, completion_mask=mask, texts=texts,
                            sampling_logprobs=logprobs)

    # --- weights ---

    @property
    def collective(self) -> bool:
        """Every process of a tensor-parallel group must generate in step."""
        return self.tp > 1

    def load_weights(self, model) -> None:
        """Push the trained weights into vLLM (every process calls this: gathering is collective).
        LoRA layers arrive merged (W + scaling * B @ A) under the base model's names, so vLLM
        serves the adapted policy, vision-tower adapters included."""
        from ..lora import merged_weights

        self._wake(["weights"])
        self.llm.collective_rpc(_reload_weights, args=(merged_weights(model, full_weights(model)),))
        self.llm.reset_prefix_cache()  # KV blocks and vision embeddings of the old weights
        reset_encoder = getattr(self.llm.llm_engine, "reset_encoder_cache", None)
        if reset_encoder is not None:
            reset_encoder()

    def _wake(self, tags: list[str]) -> None:
        tags = [t for t in tags if t in self.sleeping]
        if tags:
            self.llm.wake_up(tags=tags)
            self.sleeping = [t for t in self.sleeping if t not in tags]

    def close(self) -> None:
        self.llm = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
