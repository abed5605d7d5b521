"""Run the real trainer with NaN injected into the loss at chosen updates, and report what
each step did to the weights and the optimizer state.

    python tests/nan_run.py OUT "2,4,5,6" key=value ...

Writes OUT/nan_report.json: per step, whether any weight / optimizer-state tensor changed,
and the error the run stopped with (if any).
"""

import json
import sys
from pathlib import Path

import torch

from gpg_vl import algos, trainer
from gpg_vl.config import load_config
from gpg_vl.train import default_hooks
from gpg_vl.update import TrainingStopped

out, poisoned = Path(sys.argv[1]), {int(s) for s in sys.argv[2].split(",")}
cfg = load_config("demo", sys.argv[3:] + [f"log.out_dir={out}"])
spec = algos.LOSSES["gpg"]
calls = {"loss": 0, "update": 0}
report: dict = {"steps": []}


def counted_loss(x, s):
    loss, extra = spec.fn(x, s)
    return (loss * float("nan") if calls["update"] in poisoned else loss), extra


def snapshot(run):
    params = [p.detach().clone() for p in run.model.parameters()]
    state = [v.clone() for st in run.optimizer.state.values() for v in st.values() if torch.is_tensor(v)]
    return params, state


def changed(a, b):
    return len(a) != len(b) or any(not torch.equal(x, y) for x, y in zip(a, b))


real_update = trainer.policy_update


def watched_update(run, batch, num_valid):
    calls["update"] += 1
    before = snapshot(run)
    metrics = real_update(run, batch, num_valid)
    after = snapshot(run)
    report["steps"].append({"update": calls["update"], "weights_changed": changed(before[0], after[0]),
                            "optimizer_changed": changed(before[1], after[1]),
                            "skipped_steps": metrics["train/skipped_steps"]})
    return metrics


algos.LOSSES["gpg"] = algos.LossSpec(counted_loss, spec.defaults, spec.ratio, spec.kl)
trainer.policy_update = watched_update
try:
    trainer.train(cfg, default_hooks())
except TrainingStopped as err:
    report["stopped"] = str(err)
out.mkdir(parents=True, exist_ok=True)
(out / "nan_report.json").write_text(json.dumps(report, indent=2))
