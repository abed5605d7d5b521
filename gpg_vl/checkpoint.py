"""Checkpoints: Hugging Face weights + processor, and the trainer state needed to resume
(optimizer, scheduler, RNG, data position, the carried surplus groups), written atomically."""

from __future__ import annotations

import logging
import random
import shutil
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)


def save_checkpoint(run, step: int, carry) -> Path | None:
    acc = run.accelerator
    out = Path(run.cfg.log.out_dir) / f"checkpoint-{step}"
    tmp = out.with_name(out.name + ".tmp")
    acc.wait_for_everyone()
    state = {"step": step, "sampler": run.sampler.state(), "carry": carry,
             "rng": {"python": random.getstate(), "numpy": np.random.get_state(),
                     "torch": torch.get_rng_state()}}
    if acc.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    acc.wait_for_everyone()
    weights = acc.get_state_dict(run.model)  # every process: gathers ZeRO-3 / FSDP shards
    sharded = save_sharded_optimizer(run, tmp)
    if acc.is_main_process:
        model = acc.unwrap_model(run.model)
        model.save_pretrained(tmp, state_dict=without_tied_copies(model, weights),
                              save_original_format=not _zero3())
        run.processor.save_pretrained(tmp)
        optimizer = {} if sharded else {"optimizer": run.optimizer.state_dict()}
        torch.save({**state, **optimizer, "scheduler": run.scheduler.state_dict()}, tmp / "trainer_state.pt")
    acc.wait_for_everyone()
    if acc.is_main_process:
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
        log.info("saved %s", out)
    acc.wait_for_everyone()
    return out


def load_trainer_state(run, path: str):
    """Restore optimizer, scheduler, data position, RNG and carry; weights come from
    model.path (point it at the checkpoint folder)."""
    state = torch.load(Path(path) / "trainer_state.pt", weights_only=False)
    if "optimizer" in state:
        run.optimizer.load_state_dict(state["optimizer"])
    else:
        load_sharded_optimizer(run, Path(path))
    run.scheduler.load_state_dict(state["scheduler"])
    run.sampler.load_state(state["sampler"])  # identical on every process
    if run.accelerator.num_processes == 1:
        random.setstate(state["rng"]["python"])
        np.random.set_state(state["rng"]["numpy"])
        torch.set_rng_state(state["rng"]["torch"])
    else:  # the saved RNG is the main process's: re-seed each process distinctly
        torch.manual_seed(run.cfg.seed + 7919 * state["step"] + run.accelerator.process_index)
    log.info("resumed from %s at step %d", path, state["step"])
    return state["step"], state["carry"]


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
    if kind == "deepspeed":  # also reloads the module weights: the same values model.path loaded
        loaded, _ = run.model.load_checkpoint(str(folder / "deepspeed"), tag="optimizer",
                                              load_optimizer_states=True, load_lr_scheduler_states=False)
        if loaded is None:
            raise FileNotFoundError(f"no DeepSpeed optimizer state under {folder / 'deepspeed'}")
    elif kind == "fsdp":
        rank_file = folder / f"optimizer-rank{run.accelerator.process_index}.pt"
        run.optimizer.load_state_dict(torch.load(rank_file, weights_only=False))
    else:
        raise ValueError(f"{folder} holds a sharded optimizer state (saved under DeepSpeed or FSDP); "
                         "resume with the same launcher config and number of processes")
