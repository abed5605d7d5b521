"""One benchmark run of TRL's GRPOTrainer on the same model, data, reward and sampling.

Called by bench/train_step_bench.py in a fresh process per run. TRL is a benchmark-only
dependency (`pip install -e .[bench]`). Settings follow shared/reference/peer-baseline.md:
per_device_train_batch_size counts completions (8 prompts x G=8 = 64), beta=0 (no
reference model), fp32 on the CPU, the project's suppressed ids through
`generation_kwargs` (this replaces TRL's own list, so it includes <|image_pad|>); every
other setting is TRL's default (loss dapo, gradient checkpointing on) unless the run
says otherwise.

Step time is the wall time between consecutive `on_step_end` callbacks (data loading,
image processing, generation, scoring, loss, backward, optimizer, TRL's logging).
Splits: generate = time inside the model's `generate`; forward = `compute_loss`;
backward = `accelerator.backward`; optimizer = gradient clipping + `optimizer.step`.
"""

from __future__ import annotations

import time


def trl_dataset(records):
    """Records -> TRL's conversational VLM format: prompt, image, and the answer for the reward."""
    from datasets import Dataset

    from gpg_vl.data.vision import open_image

    rows = [{"prompt": [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": r.problem}]}],
             "image": open_image(r.images[0]), "answer": str(r.answer)} for r in records]
    return Dataset.from_list(rows)


def trl_reward(completions, answer, **_):
    """The project's `count` rule, unchanged, on TRL's (conversational) completions."""
    from types import SimpleNamespace

    from gpg_vl.rewards import RewardContext
    from gpg_vl.rewards.answer_rules import count_reward

    texts = [c[0]["content"] if isinstance(c, list) else c for c in completions]
    samples = [SimpleNamespace(answer=a, task="count", choices=None) for a in answer]
    return count_reward(texts, samples, RewardContext(model_family="qwen2_vl"))


def trl_config(out_dir: str, steps: int, setting: dict, seed: int, suppress: list[int], **overrides):
    from trl import GRPOConfig

    return GRPOConfig(
        output_dir=out_dir, max_steps=steps, seed=seed, learning_rate=setting["lr"],
        per_device_train_batch_size=setting["prompts"] * setting["G"], gradient_accumulation_steps=1,
        num_generations=setting["G"], max_completion_length=setting["max_new_tokens"], temperature=1.0,
        beta=0.0, use_cpu=True, bf16=False, report_to="none", save_strategy="no", disable_tqdm=True,
        generation_kwargs={"suppress_tokens": suppress}, **overrides)


def run_trl(model_dir: str, data: str, out_dir: str, steps: int, setting: dict, seed: int,
            gradient_checkpointing: bool = True) -> dict:
    """Per-step timings of `steps` GRPOTrainer steps."""
    from transformers import AutoModelForImageTextToText, TrainerCallback
    from trl import GRPOTrainer

    from gpg_vl.data.loading import load_records
    from gpg_vl.data.vision import VisionSettings
    from gpg_vl.models import load_processor
    from gpg_vl.config import ModelConfig
    from gpg_vl.rollout.tokens import suppressed_ids
    from train_step_gpg import timed_method

    vision = VisionSettings(min_pixels=setting["min_pixels"]) if "min_pixels" in setting else None
    processor = load_processor(ModelConfig(path=model_dir), vision)  # the same image sizes as gpg_vl's
    model = AutoModelForImageTextToText.from_pretrained(model_dir, dtype="float32", attn_implementation="sdpa")
    suppress = suppressed_ids(model, processor.tokenizer)
    args = trl_config(out_dir, steps, setting, seed, suppress, gradient_checkpointing=gradient_checkpointing)
    sinks = {k: [] for k in ("generate", "forward", "backward", "optimizer")}
    stamps, lengths = [], []  # lengths: TRL's logged mean completion length (same work on both sides)

    class StepClock(TrainerCallback):
        def on_pre_optimizer_step(self, *a, **k):
            self.t = time.perf_counter()

        def on_optimizer_step(self, *a, **k):
            sinks["optimizer"].append(time.perf_counter() - self.t)

        def on_log(self, args, state, control, logs=None, **k):
            if logs and "completions/mean_length" in logs:
                lengths.append(logs["completions/mean_length"])

        def on_step_end(self, *a, **k):
            stamps.append((time.perf_counter(), {key: sum(v) for key, v in sinks.items()}))
            for v in sinks.values():
                v.clear()

    trainer = GRPOTrainer(model=model, reward_funcs=[trl_reward], args=args, processing_class=processor,
                          train_dataset=trl_dataset(load_records(data)), callbacks=[StepClock()])
    with timed_method(type(model), "generate", sinks["generate"]), \
            timed_method(type(trainer), "compute_loss", sinks["forward"]), \
            timed_method(type(trainer.accelerator), "backward", sinks["backward"]), \
            timed_method(type(trainer), "_clip_grad_norm", sinks["optimizer"]):
        t0 = time.perf_counter()
        trainer.train()
    steps_out, prev = [], t0
    for stamp, split in stamps:
        steps_out.append({"step": stamp - prev, **split})
        prev = stamp
    return {"steps": steps_out, "completion_len": lengths}
