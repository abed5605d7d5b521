"""Run the real trainer and kill -9 itself at a chosen point, as a crash would.

    python tests/crash_run.py step N key=value ...   # SIGKILL inside step N's update (1-based)
    python tests/crash_run.py save N key=value ...   # SIGKILL while checkpoint-N is half written

The kill comes from inside, so the test knows exactly how far the run got; the process
dies as it would under the OOM killer (no exception handler, no atexit, no flush).
"""

import logging
import os
import signal
import sys

from gpg_vl import checkpoint, trainer
from gpg_vl.config import load_config
from gpg_vl.train import default_hooks

logging.basicConfig(level=logging.INFO)
mode, at = sys.argv[1], int(sys.argv[2])
cfg = load_config("demo", sys.argv[3:])
calls = {"update": 0}
real_update, real_shard_save = trainer.policy_update, checkpoint.save_sharded_optimizer


def update_then_die(run, batch, num_valid):
    calls["update"] += 1
    if mode == "step" and calls["update"] == at:
        os.kill(os.getpid(), signal.SIGKILL)
    return real_update(run, batch, num_valid)


def save_then_die(run, folder):
    # rank files are written, weights not yet: the folder is checkpoint-N.tmp
    if mode == "save" and folder.name == f"checkpoint-{at}.tmp":
        os.kill(os.getpid(), signal.SIGKILL)
    return real_shard_save(run, folder)


trainer.policy_update = update_then_die
checkpoint.save_sharded_optimizer = save_then_die
trainer.train(cfg, default_hooks())
sys.exit(3)  # never reached when the kill fires
