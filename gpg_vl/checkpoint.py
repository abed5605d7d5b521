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
        model = acc.unwrap_model(run.model)
        model.save_pretrained(tmp, state_dict=acc.get_state_dict(run.model))
        run.processor.save_pretrained(tmp)
        torch.save({**state, "optimizer": run.optimizer.state_dict(),
                    "scheduler": run.scheduler.state_dict()}, tmp / "trainer_state.pt")
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
    run.optimizer.load_state_dict(state["optimizer"])
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
