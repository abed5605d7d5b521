"""Supervised warm-start: teacher-forced answers on the run's records, saved as a checkpoint.

    python -m gpg_vl.sft --preset study_grounding [key=value ...]
    python -m gpg_vl.train --preset study_grounding model.path=runs/study/grounding/sft

Real RL runs start from an instruct model that already answers in the right shape but is
often wrong. A tiny random model answers nothing, so `sft.steps` of cross-entropy on each
record's answer, written as the presets train it (`sft.answer_format`; a box in the
model family's convention, at the size the model sees the image), turn it into one. The
same records, collator and training forward as RL (`forward.choose_forward`: the target is
a one-row "group" of the true completion), the same float32 master weights under
model.dtype autocast; the result is a Hugging Face checkpoint that `model.path` loads.
One process, every parameter (lora.r must be 0): a warm-start, not a fine-tuning stack.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from pathlib import Path

import torch

from .config import Config, ConfigError, load_config
from .errors import run_cli

log = logging.getLogger(__name__)


def out_dir(cfg: Config) -> Path:
    return Path(cfg.sft.out_dir or Path(cfg.log.out_dir) / "sft")


def target_completion(record, family, original_size, input_size, answer_format: str) -> str:
    """The completion a record teaches: a grounding box in the family's convention and
    notation (`Family.format_box`), any other answer as written."""
    from .rewards.boxes import from_original_pixels

    answer = record.answer
    if record.task == "grounding":
        box = from_original_pixels([float(v) for v in answer], family.box_convention, original_size, input_size)
        digits = 2 if family.box_convention == "normalized" else 0
        answer = family.format_box([round(v, digits) if digits else int(round(v)) for v in box])
    return answer_format.replace("{answer}", str(answer))


def teacher_batch(prompts, tokenizer, family, answer_format: str, eos_id: int, pad_id: int):
    """A RolloutBatch of group size 1 whose completions are the records' answers + EOS."""
    from .rollout.batch import RolloutBatch

    texts = [target_completion(r, family, prompts.original_sizes[i][0] if prompts.original_sizes[i] else None,
                         prompts.input_sizes[i][0] if prompts.input_sizes[i] else None, answer_format)
             for i, r in enumerate(prompts.records)]
    rows = [tokenizer(t, add_special_tokens=False)["input_ids"] + [eos_id] for t in texts]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, :len(row)], mask[i, :len(row)] = torch.tensor(row), 1
    return RolloutBatch(prompts=prompts, group_size=1, completion_ids=ids, completion_mask=mask, texts=texts)


def warm_start(cfg: Config, hooks=None) -> Path:
    """Train cfg.sft.steps of teacher forcing and save the checkpoint; returns its folder."""
    from accelerate.utils import set_seed

    from .data.collator import PromptCollator
    from .data.prepare import load_training_data
    from .data.sampler import make_sampler
    from .families import bare, family_at
    from .forward import choose_forward
    from .models import load_processor, training_model
    from .rollout import policy_tokens
    from .trainer import make_accelerator

    if cfg.sft.steps <= 0:
        raise ConfigError("sft.steps must be > 0 for a warm-start")
    if cfg.lora.r:
        raise ConfigError("sft trains every parameter: set lora.r=0 (LoRA belongs to the RL run)")
    out = out_dir(cfg)
    accelerator = make_accelerator(cfg.model.dtype)
    set_seed(cfg.seed)
    data = load_training_data(cfg, accelerator, hooks.make_synthetic if hooks else None)
    processor = load_processor(cfg.model, cfg.vision)
    family = family_at(cfg.model.path)
    collator = PromptCollator(processor, family, cfg.vision.min_pixels, cfg.vision.max_pixels, cfg.data.template,
                              cfg.rollout.max_prompt_length)
    collator.check_lengths(data.records)  # all data checks before the weights load
    model = training_model(cfg.model, cfg.lora)
    tokens = policy_tokens(model, processor, cfg.rollout.suppress_tokens)
    suppress = torch.tensor(tokens["suppress_ids"], dtype=torch.long)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.sft.lr, weight_decay=cfg.optim.weight_decay)
    model, optimizer = accelerator.prepare(model, optimizer)
    forward = choose_forward(bare(accelerator.unwrap_model(model)))
    sampler = make_sampler(data.sizes, data.weights, cfg.seed, cfg.data.shuffle, 0, 1)
    history = []
    model.train()
    for step in range(cfg.sft.steps):
        records = [data.records[i] for i in sampler.take(cfg.sft.prompts_per_step)]
        batch = teacher_batch(collator(records), processor.tokenizer, family, cfg.sft.answer_format,
                              tokens["eos_token_ids"][0], tokens["pad_token_id"])
        lp, mask = forward(model, batch, list(range(len(records))), 1.0, suppress,
                           chunk_tokens=cfg.optim.logprob_chunk_tokens)
        loss = -(lp * mask).sum() / mask.sum()
        accelerator.backward(loss)
        if cfg.optim.grad_clip:
            accelerator.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        history.append({"step": step + 1, "loss": loss.item(),
                        "token_accuracy": float((lp.detach().exp() > 0.5).float().mul(mask).sum() / mask.sum())})
        if (step + 1) % max(1, cfg.sft.steps // 10) == 0:
            log.info("sft step %d/%d: loss %.4f", step + 1, cfg.sft.steps, history[-1]["loss"])
    save(bare(accelerator.unwrap_model(model)), processor, out, cfg, history)
    return out


def save(model, processor, out: Path, cfg: Config, history: list[dict]) -> None:
    """The checkpoint, written whole to a temporary folder and then moved into place."""
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    processor.save_pretrained(tmp)
    with (tmp / "sft_log.jsonl").open("w") as fh:
        fh.writelines(json.dumps(h) + "\n" for h in history)
    summary = {"from": cfg.model.path, "data": cfg.data.train, "steps": cfg.sft.steps, "lr": cfg.sft.lr,
               "prompts_per_step": cfg.sft.prompts_per_step, "answer_format": cfg.sft.answer_format,
               "seed": cfg.seed, "final_loss": history[-1]["loss"]}
    (tmp / "gpg_vl_sft.json").write_text(json.dumps(summary, indent=2))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    log.info("warm-started checkpoint at %s (final loss %.4f)", out, summary["final_loss"])


def main(argv: list[str] | None = None) -> int:
    """Exit status 0; 2 with one message for anything the user can fix (gpg_vl.errors)."""
    return run_cli(lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gpg_vl.sft", description=__doc__.splitlines()[0])
    parser.add_argument("--preset", help="preset name or YAML file (its model, data, vision and sft.* keys)")
    parser.add_argument("overrides", nargs="*", help="key=value overrides, e.g. sft.steps=300")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "transformers", "accelerate"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    cfg = load_config(args.preset, args.overrides)
    from .models import check_model_config
    from .preflight import check_data_config
    from .train import default_hooks

    check_data_config(cfg)
    check_model_config(cfg.model)
    path = warm_start(cfg, default_hooks())
    print(json.dumps(json.loads((path / "gpg_vl_sft.json").read_text()) | {"checkpoint": str(path)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
