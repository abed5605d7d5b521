import pytest

from gpg_vl.config import ConfigError, list_presets, load_config
from gpg_vl.train import describe


def test_preset_and_overrides_apply():
    cfg = load_config("demo", ["optim.lr=1e-5", "rollout.group_size=4", "algo.beta_th=0"])
    assert cfg.preset == "demo"
    assert cfg.optim.lr == 1e-5 and cfg.rollout.group_size == 4
    assert cfg.algo.beta_th == 0.0 and isinstance(cfg.algo.beta_th, float)  # int accepted for float
    assert cfg.rewards.weights == {"answer_match": 1.0}


def test_unknown_key_fails_naming_it():
    with pytest.raises(ConfigError, match="unknown key 'optim.learning_rate'"):
        load_config("demo", ["optim.learning_rate=1e-5"])
    with pytest.raises(ConfigError, match="unknown key 'optimizer'"):
        load_config(None, ["optimizer.lr=1"])


def test_wrong_type_fails_naming_key():
    with pytest.raises(ConfigError, match="key 'rollout.group_size' expects int"):
        load_config(None, ["rollout.group_size=eight"])
    with pytest.raises(ConfigError, match="key 'log.tensorboard' expects bool"):
        load_config(None, ["log.tensorboard=3"])
    with pytest.raises(ConfigError, match="is a section"):
        load_config(None, ["optim=3"])


def test_bad_preset_file_names_the_file(tmp_path):
    bad = tmp_path / "mine.yaml"
    bad.write_text("optim:\n  lr: fast\n")
    with pytest.raises(ConfigError, match="mine.yaml: key 'optim.lr' expects float"):
        load_config(str(bad))
    with pytest.raises(ConfigError, match="unknown preset 'nope'; available: .*demo"):
        load_config("nope")


def test_every_field_is_documented():
    lines = describe()
    assert all(line.split(": ", 1)[1].strip() for line in lines), [l for l in lines if not l.split(": ", 1)[1].strip()]
    assert any(line.startswith("algo.beta_th = None") and "gpg: 0.4" in line for line in lines)
    assert "demo" in list_presets()


@pytest.mark.parametrize("override,message", [
    ("rollout.group_size=1", "rollout.group_size=1: must be >= 2"),
    ("rollout.temperature=0", "rollout.temperature=0.0: must be > 0"),
    ("rollout.top_p=1.5", "rollout.top_p=1.5: must be in (0, 1]"),
    ("algo.beta_th=40", "algo.beta_th=40.0: must be in [0, 1]"),
    ("optim.lr=-1e-6", "optim.lr=-1e-06: must be > 0"),
    ("vision.min_pixels=500000", "vision.min_pixels=500000 is above vision.max_pixels=401408"),
    ("lora.r=-8", "lora.r=-8: must be >= 0"),
    ("lora.alpha=0", "lora.alpha=0.0: must be > 0"),
    ("lora.dropout=1", "lora.dropout=1.0: must be in [0, 1)"),
    ("lora.target_modules=[q_proj, 3]", "lora.target_modules=['q_proj', 3]: must be a list of module names"),
])
def test_out_of_range_values_fail_at_load(override, message):
    with pytest.raises(ConfigError) as err:
        load_config(None, [override])
    assert message in str(err.value)


def test_boundary_values_load():
    cfg = load_config(None, ["rollout.group_size=2", "rollout.top_p=1", "algo.beta_th=0", "algo.beta_th=1",
                             "vision.min_pixels=401408"])
    assert cfg.rollout.group_size == 2 and cfg.algo.beta_th == 1.0


@pytest.mark.parametrize("override,message", [
    ("algo.loss=ppo", "algo.loss: unknown loss 'ppo'; valid: dr_grpo, gpg, grpo"),
    ("algo.aggregation=mean", "algo.aggregation='mean' is not one of: 'seq_mean_token_mean', 'token_mean'"),
    ("algo.adv_norm=rank", "algo.adv_norm='rank' is not one of: 'none', 'std'"),
    ("optim.schedule=cosine", "optim.schedule='cosine' is not one of: 'linear', 'constant'"),
    ("model.dtype=bf16", "model.dtype='bf16' is not one of: 'float32', 'bfloat16', 'float16'"),
    ("rollout.engine=sglang", "rollout.engine='sglang' is not one of: 'hf', 'vllm'"),
    ("data.on_bad_record=drop", "data.on_bad_record='drop' is not one of: 'error', 'skip'"),
    ("model.attn_implementation=flash", "model.attn_implementation='flash' is not one of"),
    ("rewards.model_family=qwen3", "rewards.model_family='qwen3' is not one of"),
    ("data.template=nothing", "data.template='nothing': a template name"),
])
def test_mode_strings_fail_at_load_naming_the_key(override, message):
    with pytest.raises(ConfigError) as err:
        load_config("demo", [override])
    assert message in str(err.value)


@pytest.mark.parametrize("overrides,message", [
    (["algo.kl_beta=0.04"], "algo.kl_beta=0.04: algo.loss=gpg has no KL term"),
    (["algo.updates_per_rollout=2"], "algo.updates_per_rollout=2: algo.loss=gpg has no importance ratio"),
    (["algo.clip_eps=0.2"], "algo.clip_eps=0.2: algo.loss=gpg has no ratio to clip"),
    (["algo.loss=dr_grpo", "algo.kl_beta=0.1"], "algo.loss=dr_grpo has no KL term"),
    (["algo.token_sum_norm=512"], "algo.token_sum_norm=512.0 is used only with algo.aggregation=token_sum_norm"),
    (["rollout.top_p=0.9"], "rollout.top_p=0.9 / rollout.top_k=0: the training log-probs score the full"),
    (["rollout.top_k=50"], "use top_p=1 and top_k=0"),
    (["eval.every=10"], "eval.every=10 needs eval.benchmarks"),
    (["data.synthetic=''", "probe.size=10"], "probe.size=10 needs a synthetic task"),
    (["model.dtype=float16"], "model.dtype=float16 needs a CUDA GPU"),
    (["algo.tis_cap=0.5"], "algo.tis_cap=0.5: must be 0 (off) or >= 1"),
    (["algo.loss=grpo", "algo.tis_cap=2"], "algo.tis_cap=2.0: algo.loss=grpo's ratio is already taken"),
    (["lora.train_vision=true"], "lora.train_vision=True is set but lora.r=0"),
    (["lora.modules_to_save=[lm_head]"], "lora.modules_to_save=['lm_head'] is set but lora.r=0"),
])
def test_settings_that_would_be_ignored_fail_at_load(overrides, message):
    with pytest.raises(ConfigError) as err:
        load_config("demo", overrides)
    assert message in str(err.value)


def test_each_loss_runs_with_its_own_papers_settings():
    gpg = load_config(None).algo
    assert (gpg.adv_norm, gpg.alpha_correction, gpg.beta_th, gpg.kl_beta, gpg.updates_per_rollout) == \
        ("none", True, 0.4, 0.0, 1)
    grpo = load_config(None, ["algo.loss=grpo"]).algo
    assert (grpo.adv_norm, grpo.alpha_correction, grpo.beta_th, grpo.keep_surplus, grpo.kl_beta, grpo.clip_eps) == \
        ("std", False, 0.0, False, 0.04, 0.2)
    dr = load_config(None, ["algo.loss=dr_grpo"]).algo
    assert (dr.adv_norm, dr.aggregation, dr.alpha_correction, dr.beta_th, dr.kl_beta) == \
        ("none", "token_sum_norm", False, 0.0, 0.0)
    # a user may still combine explicitly
    mixed = load_config(None, ["algo.loss=grpo", "algo.alpha_correction=true", "algo.updates_per_rollout=2"]).algo
    assert mixed.alpha_correction and mixed.updates_per_rollout == 2 and mixed.adv_norm == "std"


def test_a_presets_gpg_settings_do_not_leak_into_another_loss():
    demo = load_config("demo").algo
    assert demo.beta_th == 0.25 and demo.loss == "gpg"  # the demo preset's own GPG setting
    grpo = load_config("demo", ["algo.loss=grpo"]).algo
    assert grpo.beta_th == 0.0 and not grpo.alpha_correction and grpo.adv_norm == "std"
    # but what the command line says still applies
    assert load_config("demo", ["algo.loss=grpo", "algo.beta_th=0.3"]).algo.beta_th == 0.3


def test_a_text_key_keeps_text_that_yaml_would_read_as_a_mapping():
    # `{answer}` is a YAML flow mapping: a str key used to get {'answer': None} and fail
    cfg = load_config("demo", ["sft.answer_format={answer}", "data.template={question}", "optim.lr=1e-3"])
    assert cfg.sft.answer_format == "{answer}" and cfg.data.template == "{question}"
    assert cfg.optim.lr == 1e-3  # non-text keys are still parsed as YAML
