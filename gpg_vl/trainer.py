"""The GPG training loop: rollout -> rewards -> advantages -> loss -> one optimizer step.

Read `train()` top to bottom; each stage is a named call below it. Distribution is
accelerate's (DDP / DeepSpeed / FSDP through `accelerate launch`); the only collective
this file adds is a sum of counts, so alpha and beta_th use GLOBAL numbers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .checkpoint import load_trainer_state, resume_path, save_checkpoint
from .config import Config
from .data.collator import PromptCollator
from .data.prepare import load_training_data, synthetic_due
from .data.sampler import make_sampler
from .families import bare, family_at
from .forward import choose_forward
from .hooks import Hooks, check_hooks
from .metrics import MetricsLogger
from .models import load_model, load_processor, training_model
from .resample import collect_groups
from .rewards import RewardStack, TaskRewards, build_rewards, score_batch
from .rollout import Sampling, build_engine, check_engine_args, engine_class, policy_tokens
from .rollout.batch import RolloutBatch
from .update import policy_update

ENGINE_KEYS = {"suppress_ids", "eos_token_ids", "pad_token_id", "batch_rows"}
"""What the loop gives every engine; rollout.engine_args adds the rest (sampling goes to each generate call)."""


@dataclass
class Run:
    """Everything the loop's stages share, built once by `setup`."""

    cfg: Config
    accelerator: object
    model: torch.nn.Module  # as prepared by accelerate (a PeftModel inside, with lora.r)
    ref_model: torch.nn.Module | None  # GRPO's frozen copy; None with LoRA (its adapters are turned off instead)
    processor: object
    optimizer: torch.optim.Optimizer
    scheduler: object
    engine: object
    sampling: Sampling  # the run's (cfg.rollout.*); the probe and eval pass their own
    collator: PromptCollator
    records: list
    sampler: object  # data.sampler.PromptSampler | MixedSampler
    rewards: RewardStack | TaskRewards  # one stack, or one per task (rewards.by_task)
    family: str  # the box convention's family (rewards.model_family, or the model's)
    suppress_ids: torch.Tensor
    pad_id: int
    forward: object  # forward.packed_logprobs or forward.row_logprobs, chosen once for the model
    hooks: Hooks
    resume_from: Path | None = None
    skipped_total: int = 0   # optimizer steps skipped for a non-finite loss or gradient
    skipped_in_row: int = 0
    groups_sampled: int = 0  # prompts' groups rolled out on this process, resamples included (optim.max_rollouts)
    probe_before: dict | None = None
    timers: dict = field(default_factory=lambda: {"rollout": 0.0, "reward": 0.0})

    def counters(self) -> dict:
        return {"skipped_total": self.skipped_total, "skipped_in_row": self.skipped_in_row,
                "groups_sampled": self.groups_sampled,
                "probe_before": self.probe_before, "reward_errors": dict(self.rewards.error_counts)}

    @property
    def policy(self) -> torch.nn.Module:
        """The transformers model that samples (its LoRA layers inside it): what engines get."""
        return bare(self.accelerator.unwrap_model(self.model))

    def global_sum(self, value: float) -> float:
        if self.accelerator.num_processes == 1:
            return value
        t = torch.tensor([float(value)], device=self.accelerator.device)
        return self.accelerator.reduce(t, reduction="sum").item()


def train(cfg: Config, hooks: Hooks | None = None) -> dict:
    """Train per `cfg`; `hooks` bring the probe, eval and synthetic data (gpg_vl.hooks)."""
    run = setup(cfg, hooks)
    step, carry = resume(run)
    logger = MetricsLogger(cfg.log, run.accelerator.is_main_process, cfg, resume_step=step if step else None)
    if run.resume_from is None:
        run.probe_before = probe(run, "before")
    else:  # an engine that loaded model.path (vLLM under LoRA) serves the resumed policy
        run.engine.load_weights(run.policy)
    if (cfg.eval.every or cfg.probe.every) and not step:
        logger.log(step, periodic_eval(run, step) | probe_metrics(run.probe_before))
    done = step
    for step in logger.progress(range(step, cfg.optim.steps), start=step):
        if cfg.optim.max_rollouts and run.groups_sampled >= cfg.optim.max_rollouts:
            break  # equal-rollout comparisons: a loss that resamples spends its budget sooner
        t0 = time.perf_counter()
        got = collect_groups(lambda: rollout_and_score(run), cfg.optim.prompts_per_step,
                             cfg.algo.beta_th, cfg.algo.max_resample_attempts, cfg.algo.std_tol,
                             carry, run.global_sum, run.pad_id, cfg.algo.keep_surplus)
        carry = got.carry
        t_collect = time.perf_counter() - t0
        metrics = policy_update(run, got.batch, got.num_valid)
        if cfg.log.report_every and (step + 1) % cfg.log.report_every == 0 and run.accelerator.is_main_process:
            run.hooks.report(run, step + 1, got.batch)  # rollouts as a page: a gamed reward shows at a glance
        run.engine.load_weights(run.policy)
        metrics.update(step_metrics(run, got, t_collect, time.perf_counter() - t0))
        if cfg.eval.every and (step + 1) % cfg.eval.every == 0:
            metrics.update(periodic_eval(run, step + 1))
        if cfg.probe.every and (step + 1) % cfg.probe.every == 0:
            metrics.update(probe_metrics(probe(run, f"step {step + 1}")))
        logger.log(step + 1, metrics)
        done = step + 1
        if cfg.ckpt.every and (step + 1) % cfg.ckpt.every == 0 and step + 1 < cfg.optim.steps:
            save_checkpoint(run, step + 1, carry, run.counters())
    if cfg.ckpt.final:
        save_checkpoint(run, done, carry, run.counters())
    summary = {"probe_before": run.probe_before, "probe_after": probe(run, "after")}
    logger.close(summary)
    run.engine.close()
    return {**summary, "last": logger.last}


def setup(cfg: Config, hooks: Hooks | None = None) -> Run:
    """Build everything the loop needs, checking the user's inputs before any weights load.

    The policy's parameters are float32 master weights (loaded from the checkpoint when
    resuming); model.dtype is the compute precision, applied by accelerate's autocast
    (plain / DDP), DeepSpeed's bf16 engine or FSDP's mixed-precision policy. With LoRA
    (lora.r > 0) only the float32 adapters train, over a base frozen in model.dtype.
    """
    from accelerate.utils import set_seed

    hooks = hooks or Hooks()
    check_hooks(cfg, hooks, synthetic_due(cfg))
    accelerator = make_accelerator(cfg.model.dtype)
    check_engine_args(engine_class(cfg.rollout.engine), cfg.rollout.engine_args, ENGINE_KEYS)
    resume_from = resume_path(cfg, accelerator.num_processes)  # a bad ckpt.resume fails before data
    set_seed(cfg.seed + accelerator.process_index)  # distinct sampling per process
    # synthetic data if due, then every record checked: all data checks come before the model loads
    data = load_training_data(cfg, accelerator, hooks.make_synthetic)
    records = data.records
    processor = load_processor(cfg.model, cfg.vision)
    adapter = family_at(cfg.model.path)
    collator = PromptCollator(processor, adapter, cfg.vision.min_pixels, cfg.vision.max_pixels, cfg.data.template,
                              cfg.rollout.max_prompt_length)
    collator.check_lengths(records)  # the last data check; only now do weights load
    model = training_model(cfg.model, cfg.lora, resume_from)
    rewards = build_rewards(cfg.rewards.weights, cfg.rewards.args, cfg.rewards.by_task)
    tokens = policy_tokens(model, processor, cfg.rollout.suppress_tokens)
    family = adapter.name if cfg.rewards.model_family == "auto" else cfg.rewards.model_family
    trainable = [p for p in model.parameters() if p.requires_grad]  # all of them, or the adapters
    optimizer = torch.optim.AdamW(trainable, lr=cfg.optim.lr, betas=tuple(cfg.optim.betas),
                                  weight_decay=cfg.optim.weight_decay)
    scheduler = make_scheduler(optimizer, cfg.optim)
    # GRPO's KL reference: the run's starting model (model.path), also after a resume; under
    # LoRA that is the policy with its adapters off (update.reference_logprobs)
    copy = cfg.algo.kl_beta > 0 and not cfg.lora.r
    ref_model = load_model(cfg.model).eval().requires_grad_(False) if copy else None
    configure_deepspeed(accelerator, cfg.optim)
    configure_fsdp(accelerator, adapter)
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    if ref_model is not None:
        ref_model = ref_model.to(accelerator.device)
    policy = bare(accelerator.unwrap_model(model))
    engine = build_engine(cfg.rollout.engine, policy, processor, cfg.rollout.engine_args,
                          {"seed": cfg.seed, "dtype": cfg.model.dtype}, batch_rows=cfg.rollout.batch_rows, **tokens)
    sampling = Sampling(cfg.rollout.max_new_tokens, cfg.rollout.temperature, cfg.rollout.top_p, cfg.rollout.top_k)
    sampler = make_sampler(data.sizes, data.weights, cfg.seed, cfg.data.shuffle, accelerator.process_index,
                           accelerator.num_processes)
    return Run(cfg, accelerator, model, ref_model, processor, optimizer, scheduler, engine, sampling, collator,
               records, sampler, rewards, family, torch.tensor(tokens["suppress_ids"], dtype=torch.long),
               tokens["pad_token_id"], choose_forward(policy), hooks, resume_from)


MIXED_PRECISION = {"float32": "no", "bfloat16": "bf16", "float16": "fp16"}


def make_accelerator(dtype: str = "float32"):
    """accelerate's Accelerator with model.dtype as its mixed precision; gloo without a GPU.

    mixed_precision is set here, from model.dtype, so the run's precision is one setting
    whatever the launcher config says.

    The scheduler steps once per optimizer step: accelerate's default steps it once per
    process (it assumes a dataloader sharded by process), which under W processes ran the
    linear decay and the warm-up W times too fast. DeepSpeed without a GPU (its CPU
    accelerator) needs cpu=False and an explicit gloo backend: with cpu=True accelerate
    silently drops DeepSpeed, and with no backend it counts one process per rank.
    """
    import os

    from accelerate import Accelerator
    from accelerate.state import AcceleratorState
    from accelerate.utils import InitProcessGroupKwargs

    # accelerate keeps one state per process and refuses another precision; a second run in
    # the same process (a notebook, a sweep, the tests) may ask for one. The process group
    # (PartialState) is kept.
    AcceleratorState._reset_state()

    once = dict(step_scheduler_with_optimizer=False, mixed_precision=MIXED_PRECISION[dtype])
    if torch.cuda.is_available():
        return Accelerator(**once)
    if os.environ.get("ACCELERATE_USE_DEEPSPEED", "false").lower() == "true":
        return Accelerator(kwargs_handlers=[InitProcessGroupKwargs(backend="gloo")], **once)
    return Accelerator(cpu=True, **once)


def configure_deepspeed(accelerator, optim) -> None:
    """DeepSpeed settings the loop owns, filled in before `prepare`.

    There is no dataloader (micro-batches are sized by tokens), so DeepSpeed's batch size
    is bookkeeping: 1. Accumulation over micro-batches is ours (accelerate marks the
    boundary on the last one), so DeepSpeed's own must be 1. DeepSpeed clips inside its
    step, so `gradient_clipping` follows optim.grad_clip: one setting, whatever the launcher.
    """
    plugin = getattr(accelerator.state, "deepspeed_plugin", None)
    if plugin is None:
        return
    ds = plugin.deepspeed_config
    if ds.get("gradient_accumulation_steps", "auto") not in ("auto", 1):
        raise ValueError("DeepSpeed gradient_accumulation_steps must be 1: gpg_vl accumulates over "
                         "token-sized micro-batches itself (optim.micro_batch_tokens)")
    ds["gradient_accumulation_steps"] = 1
    if ds.get("train_micro_batch_size_per_gpu", "auto") == "auto":
        ds["train_micro_batch_size_per_gpu"] = 1
    ds["gradient_clipping"] = optim.grad_clip


def configure_fsdp(accelerator, family) -> None:
    """FSDP shards the family's decoder and vision blocks one by one, whatever the launcher
    config names (one fsdp.yaml serves every family)."""
    plugin = getattr(accelerator.state, "fsdp_plugin", None)
    if plugin is not None:
        plugin.transformer_cls_names_to_wrap = list(family.fsdp_wrap)


def make_scheduler(optimizer, optim):
    def factor(step: int) -> float:
        if step < optim.warmup_steps:
            return (step + 1) / (optim.warmup_steps + 1)
        if optim.schedule == "constant":
            return 1.0
        return max(0.0, 1.0 - (step - optim.warmup_steps) / max(1, optim.steps - optim.warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


# --- stages -----------------------------------------------------------------------------

def rollout_and_score(run: Run) -> RolloutBatch:
    """Draw B prompts, sample G completions each, score every row against its own record."""
    t0 = time.perf_counter()
    records = [run.records[i] for i in run.sampler.take(run.cfg.optim.prompts_per_step)]
    batch = run.engine.generate(run.collator(records), run.cfg.rollout.group_size, run.sampling)
    run.groups_sampled += len(records)
    t1 = time.perf_counter()
    score_batch(run.rewards, batch, run.family)
    run.timers["rollout"] += t1 - t0
    run.timers["reward"] += time.perf_counter() - t1
    return batch


def step_metrics(run: Run, got, t_collect: float, t_step: float) -> dict:
    """Rewards of the step's first fresh rollout (an unbiased view of the current policy)."""
    first = got.first
    out = {f"reward/{k}": float(v.nanmean()) for k, v in first.rewards.items() if not v.isnan().all()}
    out.update(run.rewards.last_events)
    out["reward/total"] = float(first.reward_total.mean())
    out["rollout/completion_len"] = float(first.completion_mask.sum(dim=1).float().mean())
    if first.sampling_logprobs is not None:  # E[-log p(token)] over tokens drawn from p is p's entropy
        out["rollout/entropy"] = float(-first.sampling_logprobs[first.completion_mask.bool()].mean())
    out["rollout/groups_sampled"] = run.groups_sampled
    out["gpg/resample_attempts"] = got.attempts
    out["gpg/carried_in"] = got.carried_in
    out["gpg/surplus_dropped"] = got.dropped
    out["train/reward_mean"] = float(got.batch.reward_total.mean())
    for stage in run.timers:
        out[f"time/{stage}"], run.timers[stage] = run.timers[stage], 0.0
    out["time/collect"] = t_collect
    out["time/step"] = t_step
    for name, count in run.rewards.error_counts.items():
        out[f"reward/{name}_errors"] = count
    return out


def resume(run: Run) -> tuple[int, RolloutBatch | None]:
    """(step to continue from, carried groups): 0 and none for a fresh start."""
    if run.resume_from is None:
        return 0, None
    step, carry, counters = load_trainer_state(run, run.resume_from)
    run.skipped_total = counters.get("skipped_total", 0)
    run.skipped_in_row = counters.get("skipped_in_row", 0)
    run.groups_sampled = counters.get("groups_sampled", 0)
    run.probe_before = counters.get("probe_before")
    run.rewards.error_counts.update(counters.get("reward_errors", {}))
    return step, carry


def periodic_eval(run: Run, step: int) -> dict:
    """Held-out benchmarks (the evaluate hook: eval/'s code under the CLI): eval/<benchmark>/<metric>."""
    return run.hooks.evaluate(run, step) if run.cfg.eval.every else {}


def probe(run: Run, when: str) -> dict | None:
    """The probe hook's report `when` ("before" / "after" training, "step N"); None when probe.size=0."""
    return run.hooks.probe(run, when) if run.cfg.probe.size else None


def probe_metrics(result: dict | None) -> dict:
    """A probe's numbers as probe/<metric> (off the main process: none)."""
    return {f"probe/{k}": v for k, v in (result or {}).items() if k != "n"}
