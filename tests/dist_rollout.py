"""Sampling and probing under ZeRO-3 when processes finish at different steps.

    accelerate launch --config_file gpg_vl/configs/accelerate/zero3.yaml --num_processes 2 \\
        --mixed_precision no tests/dist_rollout.py OUT MODEL

Under ZeRO-3 every forward gathers parameters from all processes, so a process that
stops decoding while another continues leaves it waiting forever. Here process 0 treats
every token as EOS (its rows end after one token) while process 1 decodes all 6 steps;
then the demo's probe and two real training steps with a periodic evaluation every step
run (greedy, all processes in step, the main process reports).
Writes OUT/report.json on the main process.
"""

import json
import sys
from pathlib import Path

import torch

from dist_update import _without_shm_allreduce, everyone
from gpg_vl import trainer
from gpg_vl.config import load_config
from gpg_vl.train import default_hooks


def main(out: Path, model: str) -> None:
    _without_shm_allreduce()
    cfg = load_config("demo", [f"model.path={model}", "model.build_tiny=''", f"data.train={out}/data/train.jsonl",
                               "data.synthetic_size=16", f"log.out_dir={out}", "optim.steps=2",
                               "optim.prompts_per_step=2", "rollout.group_size=4", "rollout.max_new_tokens=6",
                               "probe.size=6", "log.tensorboard=false", "log.plot=false", "log.progress=false",
                               "ckpt.final=false", "eval.every=1", "eval.limit=4",
                               f"eval.benchmarks={{fewshot_flower102: {out}/data/train.jsonl}}"])
    hooks = default_hooks()
    run = trainer.setup(cfg, hooks)
    acc, engine = run.accelerator, run.engine
    rank = acc.process_index
    saved = engine.eos_token_ids
    if rank == 0:  # every token ends a row: this process is done after one step
        engine.eos_token_ids = list(range(len(run.processor.tokenizer)))
    batch = engine.generate(run.collator(run.records[2 * rank:2 * rank + 2]), 4, run.sampling)
    engine.eos_token_ids = saved
    widths = everyone(acc, {"rank": rank, "lengths": batch.completion_mask.sum(dim=1).tolist()})
    probe = trainer.probe(run, "check")
    result = trainer.train(cfg, hooks)
    if acc.is_main_process:
        (out / "report.json").write_text(json.dumps(
            {"lengths": widths, "probe": probe, "after": result["probe_after"],
             "loss": result["last"].get("loss/policy"),
             "eval": {k: v for k, v in result["last"].items() if k.startswith("eval/")},
             "eval_files": sorted(p.name for p in (out / "eval" / "step-000002").iterdir()), "sharded": str(acc.distributed_type)}, indent=2))
    acc.wait_for_everyone()


if __name__ == "__main__":
    torch.manual_seed(0)
    main(Path(sys.argv[1]), sys.argv[2])
