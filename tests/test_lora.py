"""LoRA through peft on the tiny Qwen2-VL: what trains (and in what precision), the merged
weights (export and the vLLM stream) against the adapted model, GRPO's reference as the
policy with its adapters off, and the real CLI: only adapters change, export, eval."""

from __future__ import annotations

import json

import pytest
import torch
from cli_helpers import cli, small_run
from safetensors.torch import load_file
from test_families import rollout

from gpg_vl.config import ConfigError, LoraConfig, ModelConfig
from gpg_vl.export import export
from gpg_vl.families import bare
from gpg_vl.forward import row_logprobs
from gpg_vl.lora import apply_lora, merged_weights, save_adapters
from gpg_vl.models import check_model_source, load_model, load_processor, training_model

ROWS = list(range(12))


def perturbed(model, scale: float = 0.05):
    """Adapters moved off their init (lora_B = 0 would make every adapter a no-op)."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=g) * scale)
    return model


def test_only_float32_adapters_train_over_a_frozen_bf16_base_with_checkpointing(tiny_qwen2_vl, mixed_size_jsonl):
    cfg = ModelConfig(path=str(tiny_qwen2_vl), dtype="bfloat16", gradient_checkpointing=True)
    model = perturbed(training_model(cfg, LoraConfig(r=4)))
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    frozen = {n: p for n, p in model.named_parameters() if not p.requires_grad}
    assert trainable and all(".lora_A." in n or ".lora_B." in n for n in trainable)
    assert all(p.dtype == torch.float32 for p in trainable.values())
    assert all(p.dtype == torch.bfloat16 for p in frozen.values())
    assert not [n for n in trainable if ".visual." in n]  # lora.train_vision=false: no vision adapters
    # the family's default targets: every attention and MLP projection of both text layers
    assert len(trainable) == 2 * 2 * 7
    model.train()
    assert bare(model).is_gradient_checkpointing
    batch, suppress = rollout(bare(model), load_processor(cfg), mixed_size_jsonl)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        lp, mask = row_logprobs(model, batch, ROWS, 1.0, suppress)
    (lp * mask).sum().backward()  # through checkpointed layers whose inputs need no grad
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in trainable.values())
    assert all(p.grad is None for p in frozen.values())


def test_train_vision_and_modules_to_save(tiny_qwen2_vl):
    model = load_model(ModelConfig(path=str(tiny_qwen2_vl)))
    peft_model = apply_lora(model, LoraConfig(r=2, train_vision=True, modules_to_save=["norm"]), str(tiny_qwen2_vl))
    names = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert any(".visual.blocks.0.attn.qkv.lora_A" in n for n in names)
    assert any(".visual.merger.mlp.0.lora_A" in n for n in names)
    # `norm` is the final norm only (peft's own suffix match would also take every input_layernorm)
    assert [n for n in names if "modules_to_save" in n] == [
        "base_model.model.model.language_model.norm.modules_to_save.default.weight"]
    with pytest.raises(ConfigError, match=r"lora.target_modules: \['qkv_proj'\] match no Linear layer"):
        apply_lora(load_model(ModelConfig(path=str(tiny_qwen2_vl))), LoraConfig(r=2, target_modules=["qkv_proj"]),
                   str(tiny_qwen2_vl))
    with pytest.raises(ConfigError, match="lora.modules_to_save: 'head' matches no module"):
        apply_lora(load_model(ModelConfig(path=str(tiny_qwen2_vl))), LoraConfig(r=2, modules_to_save=["head"]),
                   str(tiny_qwen2_vl))


def test_merged_export_and_the_vllm_stream_equal_the_adapted_model(tiny_qwen2_vl, mixed_size_jsonl, tmp_path):
    """fp32: the exported merged checkpoint's log-probs equal the adapted model's on the same
    batch, and the weights `merged_weights` streams to vLLM are the merged checkpoint's."""
    from transformers import AutoModelForImageTextToText

    cfg = ModelConfig(path=str(tiny_qwen2_vl))
    lora = LoraConfig(r=4, alpha=8.0, train_vision=True, modules_to_save=["embed_tokens", "model.language_model.norm"])
    adapted = perturbed(apply_lora(load_model(cfg), lora, str(tiny_qwen2_vl))).eval()
    processor = load_processor(cfg)
    ckpt = tmp_path / "checkpoint-1"
    save_adapters(adapted, ckpt, adapted.state_dict())
    processor.save_pretrained(ckpt)
    assert json.loads((ckpt / "adapter_config.json").read_text())["base_model_name_or_path"] == \
        str(tiny_qwen2_vl.resolve())
    merged = AutoModelForImageTextToText.from_pretrained(export(str(ckpt), str(tmp_path / "merged"))).eval()
    base = load_model(cfg).eval()
    batch, suppress = rollout(base, processor, mixed_size_jsonl)
    with torch.no_grad():
        want, mask = row_logprobs(adapted, batch, ROWS, 0.7, suppress)
        got, _ = row_logprobs(merged, batch, ROWS, 0.7, suppress)
        before, _ = row_logprobs(base, batch, ROWS, 0.7, suppress)
    torch.testing.assert_close(got, want, atol=2e-5, rtol=0)
    assert ((want - before).abs() * mask).max() > 0.05  # the adapters matter
    pushed = dict(merged_weights(adapted, bare(adapted).named_parameters()))
    full = dict(merged.named_parameters())
    assert pushed.keys() == full.keys()
    for name, value in full.items():
        torch.testing.assert_close(pushed[name].float(), value, atol=1e-6, rtol=0, msg=name)
    start = dict(base.named_parameters())
    for name in ("model.visual.blocks.0.attn.qkv.weight", "model.language_model.embed_tokens.weight"):
        assert not torch.equal(pushed[name], start[name]), name
    assert merged.lm_head.weight is merged.get_input_embeddings().weight  # the trained embeddings stay tied


def test_an_adapter_checkpoint_is_a_model_source_and_a_missing_base_is_named(tiny_qwen2_vl, tmp_path):
    adapted = apply_lora(load_model(ModelConfig(path=str(tiny_qwen2_vl))), LoraConfig(r=2), str(tiny_qwen2_vl))
    ckpt = tmp_path / "ckpt"
    save_adapters(adapted, ckpt, adapted.state_dict())
    check_model_source(str(ckpt))  # its processor comes from the base (none saved here)
    assert load_processor(ModelConfig(path=str(ckpt))).tokenizer is not None
    config = json.loads((ckpt / "adapter_config.json").read_text())
    (ckpt / "adapter_config.json").write_text(json.dumps({**config, "base_model_name_or_path": "/gone/base"}))
    with pytest.raises(ConfigError, match=r"its base model \(adapter_config.json\)=/gone/base: no such folder"):
        check_model_source(str(ckpt))
    (ckpt / "adapter_model.safetensors").unlink()
    with pytest.raises(ConfigError, match="adapter_config.json but no adapter_model.safetensors"):
        check_model_source(str(ckpt))


def test_grpo_reference_is_the_policy_with_its_adapters_off(tiny_qwen2_vl, tmp_path):
    from gpg_vl import trainer, update
    from gpg_vl.config import load_config
    from gpg_vl.forward import micro_batches
    from gpg_vl.train import default_hooks

    cfg = load_config("demo", small_run(tiny_qwen2_vl, tmp_path / "run")[2:] + [
        "algo.loss=grpo", "lora.r=4", "probe.size=0"])
    run = trainer.setup(cfg, default_hooks())
    assert run.ref_model is None  # no second copy
    perturbed(run.model)
    batch = trainer.rollout_and_score(run)
    chunks = micro_batches(batch, cfg.optim.micro_batch_tokens, packed=True)
    ref = update.reference_logprobs(run, batch, chunks)
    base = load_model(cfg.model, dtype="float32")
    with torch.no_grad():
        for rows, lp in zip(chunks, ref):
            want, mask = run.forward(base, batch, rows, 1.0, run.suppress_ids)
            policy, _ = run.forward(run.model, batch, rows, 1.0, run.suppress_ids)
            torch.testing.assert_close(lp, want, atol=1e-5, rtol=0)
            assert ((policy - lp).abs() * mask).max() > 0.05
    assert any(".lora_A." in n for n, _ in run.model.named_parameters())  # adapters back on after


def test_cli_trains_only_the_adapters_then_exports_and_evaluates(tiny_qwen2_vl, tmp_path):
    """3 steps of `lora.r=8`: every adapter tensor changes, the optimizer holds exactly them,
    the merged export changes exactly the adapted layers, and eval takes the adapter checkpoint."""
    from data_prep.synthetic import write_synthetic

    data = write_synthetic("color", 32, tmp_path / "data")
    args = lambda out, steps: small_run(tiny_qwen2_vl, out, steps, data=data) + ["lora.r=8", "optim.lr=1e-2"]  # noqa: E731
    assert cli(*args(tmp_path / "init", 0), "probe.size=0").returncode == 0  # checkpoint-0: the adapters' init
    r = cli(*args(tmp_path / "run", 3))
    assert r.returncode == 0, r.stderr[-3000:]
    ckpt = tmp_path / "run" / "checkpoint-3"
    assert not (ckpt / "model.safetensors").exists() and not (ckpt / "config.json").exists()
    start, after = load_file(tmp_path / "init" / "checkpoint-0" / "adapter_model.safetensors"), \
        load_file(ckpt / "adapter_model.safetensors")
    assert start.keys() == after.keys() and len(after) == 28 and all(".lora_" in k for k in after)
    unchanged = [k for k in after if torch.equal(start[k], after[k])]
    assert not unchanged, f"adapter tensors that did not change: {unchanged}"
    assert all(v.dtype == torch.float32 for v in after.values())
    state = torch.load(ckpt / "trainer_state.pt", weights_only=False)["optimizer"]
    assert sum(len(g["params"]) for g in state["param_groups"]) == len(after)
    base = dict(load_model(ModelConfig(path=str(tiny_qwen2_vl))).named_parameters())
    merged = dict(load_model(ModelConfig(path=str(export(str(ckpt), str(tmp_path / "merged"))))).named_parameters())
    adapted = {k.replace("base_model.model.", "").replace(".lora_A.weight", ".weight") for k in after}
    for name, value in base.items():
        same = torch.equal(merged[name], value)
        assert same != (name in adapted), name  # adapted layers moved, every other tensor is the base's
    from eval.cli import main as eval_main

    bench = data.parent / "bench.jsonl"
    bench.write_text("".join(line for line in data.read_text().splitlines(keepends=True)[:2]))
    assert eval_main(["--benchmark", "fewshot_flower102", "--model", str(ckpt), "--data", str(bench), "--limit", "2",
                      "--out", str(tmp_path / "eval"), "--no-progress"]) == 0


def test_export_of_a_full_checkpoint_saves_it_again_and_mistakes_exit_2(tiny_qwen2_vl, tmp_path, capsys):
    from gpg_vl.export import main

    assert main([str(tmp_path / "nope"), str(tmp_path / "out")]) == 2
    assert f"config error: CKPT={tmp_path / 'nope'}: no such folder" in capsys.readouterr().err
    out = tmp_path / "copy"
    assert main([str(tiny_qwen2_vl), str(out)]) == 0
    before = dict(load_model(ModelConfig(path=str(tiny_qwen2_vl))).named_parameters())
    after = dict(load_model(ModelConfig(path=str(out))).named_parameters())
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert (out / "tokenizer_config.json").is_file()
    assert main([str(tiny_qwen2_vl), str(out)]) == 2
    assert "OUT=" in capsys.readouterr().err
