import pytest

from gpg_vl.config import ConfigError, describe, list_presets, load_config


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
    assert any(line.startswith("algo.beta_th = 0.4") for line in lines)
    assert "demo" in list_presets()


@pytest.mark.parametrize("override,message", [
    ("rollout.group_size=1", "rollout.group_size=1: must be >= 2"),
    ("rollout.temperature=0", "rollout.temperature=0.0: must be > 0"),
    ("rollout.top_p=1.5", "rollout.top_p=1.5: must be in (0, 1]"),
    ("algo.beta_th=40", "algo.beta_th=40.0: must be in [0, 1]"),
    ("optim.lr=-1e-6", "optim.lr=-1e-06: must be > 0"),
    ("vision.min_pixels=500000", "vision.min_pixels=500000 is above vision.max_pixels=401408"),
])
def test_out_of_range_values_fail_at_load(override, message):
    with pytest.raises(ConfigError) as err:
        load_config(None, [override])
    assert message in str(err.value)


def test_boundary_values_load():
    cfg = load_config(None, ["rollout.group_size=2", "rollout.top_p=1", "algo.beta_th=0", "algo.beta_th=1",
                             "vision.min_pixels=401408"])
    assert cfg.rollout.group_size == 2 and cfg.algo.beta_th == 1.0
