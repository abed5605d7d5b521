"""The real `setup` + `policy_update` on one fixed global batch, split across processes.

    python tests/dist_update.py OUT MODEL DATA [--lora]                      # 1 process
    accelerate launch --config_file gpg_vl/configs/accelerate/zero2.yaml \\
        --num_processes 2 --mixed_precision no tests/dist_update.py OUT MODEL DATA --resume [--lora]

Sampling differs per process, so the rollout is fixed instead: the 4 records of DATA
(images of different sizes) x G=4 hand-made completions with hand-set rewards, one
degenerate group, so alpha = 4 / 3. Process r of W takes the contiguous groups
[r*4/W, (r+1)*4/W) and collates them itself: prompt widths, micro-batch counts and
local valid counts differ between processes, as in a real run. Three updates run with
a checkpoint after the second; with --resume a fresh `setup` in the same processes then
resumes from that checkpoint and redoes the third. Writes OUT/report.json (per update: loss, alpha,
grad norm, micro-batches per process; how the weights the vLLM engine would push compare
with the gathered state dict) and OUT/checkpoint-3. --lora trains LoRA adapters (lora.r=8)
instead, and also writes OUT/merged.safetensors: the merged weights vLLM would be pushed.
"""

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from gpg_vl import algos, trainer, update
from gpg_vl.checkpoint import save_checkpoint
from gpg_vl.config import load_config
from gpg_vl.forward import micro_batches
from gpg_vl.lora import merged_weights
from gpg_vl.rollout.batch import RolloutBatch
from gpg_vl.rollout.vllm import full_weights
from gpg_vl.rollout.tokens import completion_mask, decode_completions

G = 4
REWARDS = [[1, 0, 0, 0], [1, 1, 1, 1], [0, 0.5, 1, 0], [0, 1, 0, 1]]  # group 1 is degenerate
WORDS = ["red", "blue green", "the answer is red", "circle", "two", "yes no yes", "box", "three four"]


def _without_shm_allreduce():
    """DeepSpeed's CPU accelerator JIT-compiles a shared-memory all-reduce (about 80 s
    with a C++ compiler, a failure without one); plain gloo collectives do the same job."""
    try:
        import deepspeed.ops
    except ImportError:
        return
    deepspeed.ops.__compatible_ops__["deepspeed_shm_comm"] = False


def completions(tokenizer, eos: int, pad: int) -> torch.Tensor:
    """[4*G, C] fixed completions of 1..5 tokens, each ending in EOS, right-padded."""
    rows = [tokenizer(WORDS[(3 * i) % len(WORDS)])["input_ids"][: 1 + i % 5] + [eos] for i in range(4 * G)]
    width = max(map(len, rows))
    return torch.tensor([r + [pad] * (width - len(r)) for r in rows])


def local_batch(run) -> tuple[RolloutBatch, int]:
    rank, world = run.accelerator.process_index, run.accelerator.num_processes
    groups = list(range(rank * 4 // world, (rank + 1) * 4 // world))
    rows = [g * G + i for g in groups for i in range(G)]
    tok = run.processor.tokenizer
    eos = tok.convert_tokens_to_ids("<|im_end|>")
    ids = completions(tok, eos, run.pad_id)[rows]
    mask = completion_mask(ids, [eos])
    batch = RolloutBatch(prompts=run.collator([run.records[g] for g in groups]), group_size=G,
                         completion_ids=ids, completion_mask=mask,
                         texts=decode_completions(tok, ids, mask, [eos]))
    batch.reward_total = torch.tensor([REWARDS[g][i] for g in groups for i in range(G)], dtype=torch.float32)
    num_valid = int(algos.valid_groups(batch.reward_total, G).sum())
    return batch, num_valid


def updates(out: Path, model: str, data: str, resume: Path | None = None, lora: bool = False):
    """(run, per-update records) of updates 1-3, or 3 alone when resuming."""
    lora_args = ["lora.r=8", "lora.alpha=16"] if lora else []
    overrides = lora_args + [f"model.path={model if lora else resume or model}", "model.build_tiny=''", f"data.train={data}",
                 "data.synthetic=''", "data.shuffle=false", f"log.out_dir={out}", "optim.steps=3",
                 "optim.lr=1e-3", "optim.schedule=linear", "optim.micro_batch_tokens=120",
                 "vision.max_pixels=401408", "rollout.max_prompt_length=1024", "probe.size=0",
                 "log.tensorboard=false", "log.plot=false"]
    overrides += [f"ckpt.resume={resume}"] if resume else []
    cfg = load_config("demo", overrides)
    run = trainer.setup(cfg)
    start, _ = trainer.resume(run)
    seen_chunks = []
    real_chunks = update.same_count_micro_batches

    def spy_chunks(r, b):
        chunks = real_chunks(r, b)
        seen_chunks.append(len(chunks))
        return chunks

    update.same_count_micro_batches = spy_chunks
    steps = []
    try:
        for step in range(start, 3):
            batch, num_valid = local_batch(run)
            metrics = trainer.policy_update(run, batch, num_valid)
            steps.append({"step": step + 1, "loss": metrics["loss/policy"], "alpha": metrics["gpg/alpha"],
                          "grad_norm": metrics.get("optim/grad_norm"), "lr": metrics["optim/lr"],
                          "local_valid": num_valid, "micro_batches": seen_chunks[-1],
                          "local_chunks": len(micro_batches(batch, cfg.optim.micro_batch_tokens, packed=True))})
            if step + 1 in (2, 3):
                save_checkpoint(run, step + 1, None, run.counters())
    finally:
        update.same_count_micro_batches = real_chunks
    return run, steps


def everyone(acc, obj) -> list:
    if acc.num_processes == 1:
        return [obj]
    out = [None] * acc.num_processes
    torch.distributed.all_gather_object(out, obj)
    return out


def main(out: Path, model: str, data: str, also_resume: bool, lora: bool) -> None:
    _without_shm_allreduce()
    run, steps = updates(out, model, data, lora=lora)
    acc = run.accelerator
    # what the vLLM engine would push after this step: full tensors, gathered from shards
    pushed = dict(full_weights(acc.unwrap_model(run.model)))
    whole = acc.get_state_dict(run.model)
    report = {"world": acc.num_processes, "distributed_type": str(acc.distributed_type),
              "per_rank": everyone(acc, steps)}
    if lora:  # the merged stream, under the base model's names (every process gathers)
        merged = {k: v.float().contiguous() for k, v in merged_weights(run.policy, full_weights(run.policy))}
        if acc.is_main_process:
            save_file(merged, str(out / "merged.safetensors"))
    if acc.is_main_process:
        report.update(steps=steps, pushed_names_missing=sorted(set(pushed) - set(whole)),
                      pushed_max_diff=max(float((pushed[k] - whole[k]).abs().max()) for k in pushed))
    if also_resume:  # a fresh setup in the same processes, as a restarted job would build it
        del run, pushed, whole
        report["resumed"] = updates(out / "resumed", model, data, resume=out / "checkpoint-2", lora=lora)[1]
    if acc.is_main_process:
        (out / "report.json").write_text(json.dumps(report, indent=2))
    acc.wait_for_everyone()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3], "--resume" in sys.argv[4:], "--lora" in sys.argv[4:])
