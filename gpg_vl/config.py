"""Typed run configuration: dataclasses, YAML presets, `key=value` overrides.

Presets only set values; every field is declared here with its docstring (the comment
line under it), which `python -m gpg_vl.train --help-config` prints. An unknown key or
a value of the wrong type fails at load time, naming the key and the file.
"""

from __future__ import annotations

import dataclasses
import logging
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)
PRESET_DIR = Path(__file__).parent / "presets"


class ConfigError(ValueError):
    pass


SYNTHETIC_TASKS = ("color", "count", "grounding", "classification", "counting")
"""data_prep.synthetic's tasks (data.synthetic): the demo's colour and count, the study's three."""


@dataclass
class ModelConfig:
    path: str = "runs/tiny-qwen2-vl"
    "Local directory or hub id, loaded with transformers' auto classes."
    build_tiny: str = ""
    "If set (a family: qwen2_vl, qwen2_5_vl, qwen3_vl, qwen3_vl_moe, qwen3_5, qwen3_5_moe, smolvlm, gemma3) and `path` does not exist, build the tiny offline model there."
    dtype: str = "float32"
    "Compute precision: float32 | bfloat16 | float16 (autocast; trained weights stay float32, see docs/precision.md)."
    attn_implementation: str = "sdpa"
    "sdpa | eager | flash_attention_2."
    gradient_checkpointing: bool = False
    "Recompute activations in backward to save memory."


@dataclass
class LoraConfig:
    """LoRA adapters through peft (gpg_vl/lora.py); r = 0 trains every parameter."""

    r: int = 0
    "Adapter rank (0 = off: full-parameter training)."
    alpha: float = 16.0
    "LoRA alpha: the adapters' update is scaled by alpha / r."
    dropout: float = 0.0
    "Dropout on the adapters' input (0 keeps the training forward equal to the rollout's)."
    target_modules: list = field(default_factory=list)
    "Module names to adapt ([] = the family's language-model attention and MLP projections, Family.lora_targets)."
    train_vision: bool = False
    "Also adapt the vision tower and merger (false: they are frozen and carry no adapters)."
    modules_to_save: list = field(default_factory=list)
    "Modules trained in full next to the adapters and saved with them (e.g. [lm_head, embed_tokens])."


@dataclass
class DataConfig:
    train: str | list | dict = ""
    "Training records: a JSONL file, a datasets save_to_disk folder or parquet; a list of them; or {path: weight} to mix sources by weight."
    image_root: str = ""
    "Folder that relative image paths resolve against (default: the JSONL's folder)."
    synthetic: str = ""
    "If set (color | count | grounding | classification | counting), generate this synthetic task into `train`'s folder when missing."
    synthetic_size: int = 2000
    "Records to generate for a synthetic task."
    template: str = "plain"
    "Prompt template name (see gpg_vl.data.templates) or a format string with {question}."
    shuffle: bool = True
    "Shuffle the training records each epoch (seeded)."
    on_bad_record: str = "error"
    "error | skip: a record that fails validation stops the run, or is counted and skipped."
    box_tolerance: float = 2.0
    "Pixels a record's box may overshoot its image (clipped); a box further out is a bad record."
    clip_boxes: bool = False
    "Clip boxes that overshoot their image by more than box_tolerance instead of refusing them."


@dataclass
class VisionConfig:
    min_pixels: int = 3136
    "Smallest image area after resize (4 * 28 * 28); one setting shared by every engine."
    max_pixels: int = 401408
    "Largest image area after resize (512 * 28 * 28)."


@dataclass
class RolloutConfig:
    engine: str = "hf"
    "Rollout engine: hf (transformers generate) | vllm (GPU)."
    group_size: int = 8
    "G: completions sampled per prompt."
    max_prompt_length: int = 1024
    "Prompts longer than this (image tokens included) are rejected up front, never truncated."
    max_new_tokens: int = 256
    "Completion length cap."
    temperature: float = 1.0
    "Sampling temperature (the training log-probs use the same temperature)."
    top_p: float = 1.0
    "Nucleus sampling."
    top_k: int = 0
    "Top-k sampling (0 = off)."
    suppress_tokens: list = field(default_factory=list)
    "Extra token strings or ids never sampled (vision special tokens are always suppressed)."
    batch_rows: int = 0
    "Rows per generate call (0 = all B*G at once)."
    engine_args: dict = field(default_factory=dict)
    "Engine-specific options, e.g. vllm: {tensor_parallel_size: 2, gpu_memory_utilization: 0.4, sleep: true}."


@dataclass
class AlgoConfig:
    """Settings left unset (null) take the chosen loss's own defaults (`gpg_vl.algos`):
    gpg = the GPG paper, grpo = DeepSeekMath's GRPO, dr_grpo = Dr. GRPO."""

    loss: str = "gpg"
    "Policy loss: gpg | grpo | dr_grpo (see gpg_vl.algos); unset keys below take its paper's values."
    adv_norm: str | None = None
    "F_norm: none (F_norm = 1; gpg, dr_grpo) | std (group sample std + 1e-4; grpo)."
    aggregation: str | None = None
    "seq_mean_token_mean (gpg, grpo) | token_mean | token_sum_norm (dr_grpo)."
    alpha_correction: bool | None = None
    "Scale the loss by alpha = B / (valid groups), GPG's bias correction (gpg: on; grpo, dr_grpo: off)."
    beta_th: float | None = None
    "Resample until this fraction of groups is valid, 0 = never (gpg: 0.4; grpo, dr_grpo: 0)."
    max_resample_attempts: int = 20
    "Rollout attempts per step at most when resampling for beta_th."
    keep_surplus: bool | None = None
    "Carry surplus valid groups to the next step, importance-weighted (gpg: on; see docs/algorithms.md)."
    std_tol: float = 1e-5
    "A group whose reward std is <= this is degenerate."
    clip_eps: float | None = None
    "Ratio clip of grpo / dr_grpo (0.2); gpg has no ratio."
    kl_beta: float | None = None
    "k3 KL coefficient to a frozen copy of the starting model (grpo: 0.04; > 0 only with grpo)."
    updates_per_rollout: int | None = None
    "mu: optimizer steps on each rollout batch (grpo / dr_grpo; gpg is on-policy: 1)."
    token_sum_norm: float = 0.0
    "Constant divisor of token_sum_norm (0 = max_new_tokens)."
    tis_cap: float = 0.0
    "Truncated importance sampling: weight each token by min(pi_train / pi_rollout, cap) (0 = off)."
    carry_is_cap: float = 2.0
    "Cap of the importance weight that corrects carried (one step stale) groups."


@dataclass
class OptimConfig:
    steps: int = 100
    "Optimizer steps (one per rollout batch)."
    prompts_per_step: int = 8
    "B: prompts (groups) per optimizer step on each process."
    lr: float = 1e-6
    "AdamW learning rate."
    betas: list = field(default_factory=lambda: [0.9, 0.999])
    "AdamW betas."
    weight_decay: float = 0.0
    "AdamW weight decay."
    grad_clip: float = 1.0
    "Gradient-norm clip (0 = off)."
    schedule: str = "linear"
    "linear (decay to 0) | constant."
    warmup_steps: int = 0
    "Linear warm-up steps."
    micro_batch_tokens: int = 16384
    "Training forward micro-batches hold at most this many padded tokens, counted in the layout that runs (packed: each prompt once)."
    logprob_chunk_tokens: int | None = None
    "Completion tokens per lm_head + log-softmax chunk in the training forward (null: 2^26 logits' worth; 0: all at once)."
    max_rollouts: int = 0
    "Stop once this many prompts' groups have been rolled out per process, resamples included (0 = off): equal-rollout comparisons of losses."
    max_skipped: int = 3
    "Steps in a row whose loss or gradient is not finite (each skipped, weights untouched) before the run stops."


@dataclass
class RewardConfig:
    weights: dict = field(default_factory=lambda: {"format": 1.0, "answer_match": 1.0})
    "Rule name (or module:function / file.py:function) -> weight; rewards sum with these."
    args: dict = field(default_factory=dict)
    "Rule name -> keyword options for that rule."
    by_task: dict = field(default_factory=dict)
    "Task -> {weights: {...}, args: {...}}: each record is scored by its task's own stack (then rewards.weights/args are unused)."
    model_family: str = "auto"
    "Box convention source: auto (the model's family) | a family name (qwen2_vl, qwen3_vl, ...) | generic (original pixels)."


@dataclass
class LogConfig:
    out_dir: str = "runs/gpg"
    "Run folder: metrics.jsonl, TensorBoard events, checkpoints, plots."
    every: int = 1
    "Log every N steps."
    tensorboard: bool = True
    "Write TensorBoard events (false drops tensorboard from report_to)."
    report_to: list | str = field(default_factory=lambda: ["tensorboard"])
    "Experiment trackers through accelerate: any of tensorboard, wandb, trackio, mlflow, as a list or 'a,b' ([] = none)."
    project: str = "gpg_vl"
    "Project name the trackers file the run under (W&B / trackio project, MLflow experiment)."
    progress: bool = True
    "Show a progress bar."
    plot: bool = True
    "Write reward_curve.png at the end (needs matplotlib)."
    report_every: int = 0
    "Every N steps, reports/step-N/index.html: rollouts, their boxes, rewards per rule and advantages (0 = off)."
    report_groups: int = 2
    "Groups the rollout report shows, all G rollouts each: best and worst mean reward alternately."


@dataclass
class CheckpointConfig:
    every: int = 0
    "Save every N steps (0 = only at the end)."
    final: bool = True
    "Save a Hugging Face checkpoint at the end."
    resume: str = ""
    "auto (newest complete checkpoint under log.out_dir, else a fresh start) | a checkpoint folder | empty (fresh)."


@dataclass
class SftConfig:
    """The supervised warm-start, `python -m gpg_vl.sft` (gpg_vl/sft.py)."""

    steps: int = 0
    "Optimizer steps of teacher-forced answers on data.train (0: the preset has no warm-start)."
    prompts_per_step: int = 16
    "Records per step."
    lr: float = 1e-3
    "AdamW learning rate (constant)."
    answer_format: str = "{answer}"
    "The target completion; {answer}: the label or number, or the box written in the model family's convention."
    out_dir: str = ""
    "Where the warm-started checkpoint is saved (empty: <log.out_dir>/sft); train from it with model.path."


@dataclass
class ProbeConfig:
    size: int = 0
    "Held-out synthetic records for greedy accuracy before/after training (0 = off)."
    max_new_tokens: int = 4
    "Greedy decoding length for the probe."
    every: int = 0
    "Also probe every N steps, without the controls (logged as probe/<metric>; 0 = before and after only)."
    data: str = ""
    "Held-out records of the synthetic task (JSONL); empty: probe.size fresh ones under log.out_dir/probe_data."


@dataclass
class EvalConfig:
    every: int = 0
    "Evaluate held-out benchmarks every N steps and once before step 1 (0 = off); logged as eval/<benchmark>/<metric>."
    benchmarks: dict = field(default_factory=dict)
    "Benchmark name (python -m eval --list) -> held-out records file."
    limit: int = 0
    "Items per benchmark per evaluation (0 = all)."
    batch_size: int = 8
    "Prompts per generate call."
    max_new_tokens: int = 0
    "Completion cap (0 = the benchmark's protocol)."
    template: str = ""
    "Prompt template (empty = the benchmark's protocol)."


@dataclass
class Config:
    preset: str = ""
    "Preset this run started from."
    description: str = ""
    "One line shown by --list-presets."
    seed: int = 0
    "Seed for data order, sampling and initialisation."
    model: ModelConfig = field(default_factory=ModelConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)
    data: DataConfig = field(default_factory=DataConfig)
    vision: VisionConfig = field(default_factory=VisionConfig)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    algo: AlgoConfig = field(default_factory=AlgoConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    rewards: RewardConfig = field(default_factory=RewardConfig)
    log: LogConfig = field(default_factory=LogConfig)
    ckpt: CheckpointConfig = field(default_factory=CheckpointConfig)
    sft: SftConfig = field(default_factory=SftConfig)
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


def _nest(dotted: str, value: Any) -> dict:
    out: dict = {}
    node = out
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return out


def preset_path(name: str) -> Path:
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return path
    path = PRESET_DIR / f"{name}.yaml"
    if not path.exists():
        raise ConfigError(f"unknown preset {name!r}; available: {', '.join(list_presets())}")
    return path


def list_presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_config(preset: str | None = None, overrides: list[str] = ()) -> Config:
    """Defaults <- preset YAML <- `key=value` overrides (values parsed as YAML), then every
    value checked (`config_rules`) before anything else runs.

    A preset's loss-specific algo settings belong to the preset's loss: when the command
    line picks another loss (`algo.loss=grpo`), they are not carried over, so the new loss
    runs with its own paper's settings (and the dropped ones are logged).
    """
    from .config_rules import LOSS_KEYS, check_config, merge_checked

    cfg = Config()
    parsed = []
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not key=value")
        key, raw = item.split("=", 1)
        parsed.append((item, _nest(key.strip(), _override_value(raw, _declared(key.strip())))))
    new_loss = next((v["algo"]["loss"] for _, v in reversed(parsed)
                     if isinstance(v.get("algo"), dict) and "loss" in v["algo"]), None)
    if preset:
        path = preset_path(preset)
        try:
            values = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: not valid YAML: {err}") from None
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: a preset must be a mapping")
        algo = values.get("algo")
        if new_loss is not None and isinstance(algo, dict) and algo.get("loss", "gpg") != new_loss:
            dropped = {k: algo.pop(k) for k in list(algo) if k in LOSS_KEYS}
            if dropped:
                log.info("algo.loss=%s: the preset's settings for %s are not applied: %s",
                         new_loss, algo.get("loss", "gpg"), dropped)
        merge_checked(cfg, values, "", str(path))
        cfg.preset = path.stem
    for item, values in parsed:
        merge_checked(cfg, values, "", f"override {item!r}")
    check_config(cfg)
    return cfg


def _declared(dotted: str) -> Any:
    """The declared type of a dotted key (None if there is no such key: merge_checked names it)."""
    cls: Any = Config
    for part in dotted.split("."):
        if not dataclasses.is_dataclass(cls) or part not in {f.name for f in dataclasses.fields(cls)}:
            return None
        cls = typing.get_type_hints(cls)[part]
    return cls


def _override_value(raw: str, declared: Any = None) -> Any:
    """A command-line value: YAML, except that an empty value is the empty string
    (`model.build_tiny=`), text YAML cannot read stays text (`data.template={question} Why?`),
    and a key declared `str` keeps its text as written (`sft.answer_format={answer}`)."""
    if not raw.strip():
        return ""
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw
    return raw if declared is str and not isinstance(value, str) else value
