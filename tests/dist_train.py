"""Run the real trainer under torchrun (2 CPU processes) and report cross-rank facts.

    python -m torch.distributed.run --nproc_per_node 2 tests/dist_train.py OUT key=value ...

A spy around `policy_update` records each rank's local valid-group count and the alpha it
used; the real function runs unchanged.
"""

import json
import sys
from pathlib import Path

import torch

from gpg_vl import trainer
from gpg_vl.config import load_config
from gpg_vl.train import default_hooks

out = Path(sys.argv[1])
cfg = load_config("demo", sys.argv[2:] + ["probe.size=0", "log.tensorboard=false", "log.plot=false"])
seen: list[dict] = []
real_update = trainer.policy_update
real_setup = trainer.setup
runs = []


def spy_update(run, batch, num_valid):
    metrics = real_update(run, batch, num_valid)
    seen.append({"valid": num_valid, "alpha": metrics["gpg/alpha"], "ids": [r.id for r in batch.prompts.records]})
    return metrics


def spy_setup(c, hooks):
    run = real_setup(c, hooks)
    runs.append(run)
    return run


trainer.policy_update = spy_update
trainer.setup = spy_setup
trainer.train(cfg, default_hooks())
run = runs[0]
acc = run.accelerator
flat = torch.cat([p.detach().flatten() for p in acc.unwrap_model(run.model).parameters()])
everyone = acc.gather(flat[None])                                     # [world, P]
valid = acc.gather(torch.tensor([[s["valid"] for s in seen]]))        # [world, steps]
alphas = acc.gather(torch.tensor([[s["alpha"] for s in seen]], dtype=torch.float64))
from safetensors.torch import load_file  # noqa: E402

start = torch.cat([t.flatten() for t in load_file(Path(cfg.model.path) / "model.safetensors").values()])
ids = [None] * acc.num_processes
torch.distributed.all_gather_object(ids, [s["ids"] for s in seen])
if acc.is_main_process:
    report = {
        "world": acc.num_processes,
        "max_param_diff_across_ranks": float((everyone - everyone[0]).abs().max()),
        "params_changed": float(flat.sum()) != float(start.sum()),
        "steps": [{"local_valid": valid[:, i].tolist(), "alpha": alphas[:, i].tolist()} for i in range(len(seen))],
        "distinct_prompts_per_step": all(not set(ids[0][i]) & set(ids[1][i]) for i in range(len(seen))),
    }
    (out / "dist_report.json").write_text(json.dumps(report, indent=2))
acc.wait_for_everyone()
