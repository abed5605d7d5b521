"""Checkpoints: the trained weights in Hugging Face format (float32 masters) + processor, and
everything a resume needs, written atomically into `checkpoint-N`:

    trainer_state.pt    step, optimizer (unless sharded), scheduler, run counters (main process)
    rank{i}.pt          process i's own: sampler position, carried groups, RNG (python,
                        numpy, torch, CUDA)
    deepspeed/ | optimizer-rank{i}.pt   sharded optimizer state under ZeRO / FSDP

With LoRA (lora.r > 0) the weights are peft's adapter_config.json (naming the base
model's absolute path) + adapter_model.safetensors (float32 adapters) instead; the frozen
base reloads from model.path. `python -m gpg_vl.export` merges them into a full checkpoint.

Everything is written into `checkpoint-N.tmp` and renamed when every process is done, so
a `checkpoint-N` folder is complete by construction; a kill -9 mid-save leaves only a
`.tmp` that resume ignores. `ckpt.resume=auto|PATH` alone restores a run: the policy's
weights load from the checkpoint (`resume_path`), the rest here; a KL reference model
still loads from `model.path`, the run's starting point.
"""

from __future__ import annotations

import logging
import random
import re
import shutil
from pathlib import Path

import numpy as np
import torch

from .config import ConfigError
from .lora import ADAPTER_CONFIG, ADAPTER_WEIGHTS, is_adapter_checkpoint, save_adapters

log = logging.getLogger(__name__)
STATE = "trainer_state.pt"


def rank_file(folder: Path, rank: int) -> Path:
    return folder / f"rank{rank}.pt"


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(run, step: int, carry, counters: dict) -> Path:
    acc = run.accelerator
    out = Path(run.cfg.log.out_dir) / f"checkpoint-{step}"
    tmp = out.with_name(out.name + ".tmp")
    acc.wait_for_everyone()
    if acc.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    acc.wait_for_everyone()
    torch.save({"step": step, "world": acc.num_processes, "sampler": run.sampler.state(), "carry": carry,
                "rng": rng_state()}, rank_file(tmp, acc.process_index))
    weights = acc.get_state_dict(run.model)  # every process: gathers ZeRO-3 / FSDP shards
    sharded = save_sharded_optimizer(run, tmp)
    if acc.is_main_process:
        model = acc.unwrap_model(run.model)
        if run.cfg.lora.r:  # peft's format: adapter_config.json + adapter_model.safetensors
            save_adapters(model, tmp, weights)
        else:
            model.save_pretrained(tmp, state_dict=without_tied_copies(model, weights),
                                  save_original_format=not _zero3())
        run.processor.save_pretrained(tmp)
        optimizer = {} if sharded else {"optimizer": run.optimizer.state_dict()}
        torch.save({"step": step, "world": acc.num_processes, "counters": counters, **optimizer,
                    "scheduler": run.scheduler.state_dict()}, tmp / STATE)
    acc.wait_for_everyone()
    if acc.is_main_process:
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
        log.info("saved %s", out)
    acc.wait_for_everyone()
    return out


def missing_parts(folder: Path, world: int | None = None, lora: bool | None = None) -> list[str]:
    """What a resume needs that `folder` lacks (empty: complete). `lora`: whether the run
    trains adapters, which then must be what the folder holds (None: either kind)."""
    if not folder.is_dir():
        return ["the folder itself"]
    adapters = is_adapter_checkpoint(folder)
    if lora is not None and lora != adapters:
        return [f"LoRA adapters ({ADAPTER_CONFIG}): it holds full weights, and this run sets lora.r" if lora else
                "full weights (config.json): it holds LoRA adapters; resume with the lora.* it was trained with"]
    lacks = [name for name in (ADAPTER_CONFIG if adapters else "config.json", STATE) if not (folder / name).exists()]
    if adapters and not (folder / ADAPTER_WEIGHTS).exists():
        lacks.append(f"adapter weights ({ADAPTER_WEIGHTS})")
    elif not adapters and not list(folder.glob("*.safetensors")):
        lacks.append("model weights (*.safetensors)")
    if (folder / STATE).exists():
        saved = torch.load(folder / STATE, weights_only=False, map_location="cpu").get("world", 1)
        lacks += [rank_file(folder, r).name for r in range(saved) if not rank_file(folder, r).exists()]
        if world is not None and saved != world:
            lacks.append(f"a state for {world} processes (it was saved by {saved}; resume with {saved})")
    return lacks


def resume_path(cfg, world: int) -> Path | None:
    """The checkpoint `ckpt.resume` names, checked complete before any data or weights load.

    auto: the newest complete `checkpoint-N` under log.out_dir, or None (a fresh start,
    logged) when there is none. A PATH that is missing or incomplete is the user's to fix:
    one ConfigError naming ckpt.resume and what is missing.
    """
    spec = cfg.ckpt.resume
    if not spec:
        return None
    if spec == "auto":
        found = sorted((int(m.group(1)), p) for p in Path(cfg.log.out_dir).glob("checkpoint-*")
                       if (m := re.fullmatch(r"checkpoint-(\d+)", p.name)))
        for step, folder in reversed(found):
            lacks = missing_parts(folder, world, bool(cfg.lora.r))
            if not lacks:
                log.info("ckpt.resume=auto: resuming from %s", folder)
                return folder
            log.warning("ckpt.resume=auto: skipping %s (missing %s)", folder, ", ".join(lacks))
        log.info("ckpt.resume=auto: no complete checkpoint under %s; starting fresh", cfg.log.out_dir)
        return None
    lacks = missing_parts(Path(spec), world, bool(cfg.lora.r))
    if lacks:
        raise ConfigError(f"ckpt.resume={spec}: not a complete checkpoint (missing {', '.join(lacks)}); "
                          f"give a checkpoint-N folder written by gpg_vl, or ckpt.resume=auto")
    return Path(spec)


def load_trainer_state(run, folder: Path) -> tuple[int, object, dict]:
    """Restore optimizer, scheduler and this process's sampler, carry and RNG.

    Returns (step, carried groups, counters). The weights were loaded from the same folder.
    """
    state = torch.load(folder / STATE, weights_only=False)
    mine = torch.load(rank_file(folder, run.accelerator.process_index), weights_only=False)
    if "optimizer" in state:
        run.optimizer.load_state_dict(state["optimizer"])
    else:
        load_sharded_optimizer(run, folder)
    run.scheduler.load_state_dict(state["scheduler"])
    run.sampler.load_state(mine["sampler"])
    set_rng_state(mine["rng"])
    log.info("resumed from %s at step %d", folder, state["step"])
    return state["step"], mine["carry"], state.get("counters", {})


def without_tied_copies(model, weights: dict) -> dict:
    """DeepSpeed hands back cloned tensors, so save_pretrained no longer sees that lm_head
    IS the embedding and would write it twice; keep one name per tied parameter."""
    tied = ({n for n, _ in model.named_parameters(remove_duplicate=False)}
            - {n for n, _ in model.named_parameters()})
    return {k: v for k, v in weights.items() if k not in tied}


def _zero3() -> bool:
    """Under ZeRO-3 transformers records extra renamings at load and reverts them into
    `model.model.*` keys on save; the module's own names load everywhere (transformers,
    vLLM), so ZeRO-3 checkpoints keep those."""
    from transformers.integrations import is_deepspeed_zero3_enabled

    return is_deepspeed_zero3_enabled()


def _sharding(run) -> str:
    from accelerate.utils import DistributedType

    kind = run.accelerator.distributed_type
    return {DistributedType.DEEPSPEED: "deepspeed", DistributedType.FSDP: "fsdp"}.get(kind, "")


def save_sharded_optimizer(run, folder: Path) -> bool:
    """DeepSpeed ZeRO and FSDP shard the optimizer state: every process writes its part
    (DeepSpeed's own checkpoint format; FSDP one file per rank). False when it is whole."""
    kind = _sharding(run)
    if kind == "deepspeed":  # a collective: all processes call it
        run.model.save_checkpoint(str(folder / "deepspeed"), tag="optimizer", save_latest=False)
    elif kind == "fsdp":
        torch.save(run.optimizer.state_dict(), folder / f"optimizer-rank{run.accelerator.process_index}.pt")
    return bool(kind)


def load_sharded_optimizer(run, folder: Path) -> None:
    kind = _sharding(run)
    if kind == "deepspeed":  # also reloads the module weights: the same values just loaded
        loaded, _ = run.model.load_checkpoint(str(folder / "deepspeed"), tag="optimizer",
                                              load_optimizer_states=True, load_lr_scheduler_states=False)
        if loaded is None:
            raise ConfigError(f"ckpt.resume={folder}: no DeepSpeed optimizer state under {folder / 'deepspeed'}")
    elif kind == "fsdp":
        rank_file_ = folder / f"optimizer-rank{run.accelerator.process_index}.pt"
        run.optimizer.load_state_dict(torch.load(rank_file_, weights_only=False))
    else:
        raise ConfigError(f"ckpt.resume={folder}: it holds a sharded optimizer state (saved under DeepSpeed or "
                          "FSDP); resume with the same launcher config and number of processes")
