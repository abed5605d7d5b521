"""The benchmark registry, record selection (peers' protocol) and the resumable samples file."""

from __future__ import annotations

import json
import random

import pytest

from eval import benchmarks  # noqa: F401
from eval.registry import EvalError, get_benchmark, list_benchmarks, register_benchmark
from eval.runner import select_records
from eval.scoring import accuracy, answer_items
from eval.store import SampleStore
from gpg_vl.data.record import Record

ISSUE_BENCHMARKS = {"refcoco_val", "refcoco_testA", "refcoco_testB", "refcocop_val", "refcocop_testA",
                    "refcocop_testB", "refcocog_val", "refcocog_test", "lisa_test", "cvbench", "geoqa_test",
                    "geometry3k_test", "mathvista_testmini", "superclevr_test", "fewshot_flower102",
                    "fewshot_pets37", "fewshot_aircraft", "fewshot_cars196"}


def test_every_benchmark_of_the_issue_is_registered_with_a_default_path():
    assert ISSUE_BENCHMARKS <= set(list_benchmarks())
    assert get_benchmark("refcoco_testA").data == "refcoco/testA.jsonl"
    assert get_benchmark("refcoco_val").template == "rec" and get_benchmark("geoqa_test").template == "r1_number"


def test_unknown_name_lists_the_valid_ones_and_duplicates_fail():
    with pytest.raises(EvalError, match="unknown benchmark 'refcoco_vall'; known: .*refcoco_val"):
        get_benchmark("refcoco_vall")
    with pytest.raises(ValueError, match="already registered"):
        register_benchmark("refcoco_val", data="x.jsonl", template="plain", metrics=accuracy,
                           headline="accuracy")(answer_items)


def test_a_users_module_plugs_in_a_benchmark(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    plugin = tmp_path / "my_eval_bench.py"
    plugin.write_text("from eval import register_benchmark\nfrom eval.scoring import accuracy, answer_items\n"
                      "register_benchmark('my_colors', data='colors/test.jsonl', template='plain', "
                      "metrics=accuracy, headline='accuracy')(answer_items)\n")
    bench = get_benchmark("my_eval_bench:my_colors")
    assert bench.name == "my_colors" and get_benchmark("my_eval_bench:my_colors") is bench  # imported once
    with pytest.raises(EvalError, match="cannot import benchmark module"):
        get_benchmark("no_such_module_xyz:thing")


def records(n: int) -> list[Record]:
    return [Record(id=f"r{i}", task="count", images=["a.png"], problem="q", answer=i) for i in range(n)]


def test_peers_protocol_is_vlm_r1s_seeded_shuffle_then_first_n():
    items = records(2500)
    expected = list(items)
    random.seed(42)                       # what VLM-R1's eval does, on the global RNG
    random.shuffle(expected)
    chosen = select_records(items, get_benchmark("refcoco_val"), protocol="peers")
    assert [r.id for r in chosen] == [r.id for r in expected[:2000]]
    assert [r.id for r in select_records(items, get_benchmark("refcoco_val"), limit=3)] == ["r0", "r1", "r2"]
    assert len(select_records(items, get_benchmark("geoqa_test"), protocol="peers")) == 2500  # no subsample


def test_duplicate_ids_are_refused():
    with pytest.raises(EvalError, match="'r1' repeats"):
        select_records(records(3) + records(2)[1:], get_benchmark("geoqa_test"))


def test_store_cuts_a_torn_line_and_resumes(tmp_path):
    store = SampleStore(tmp_path / "b.jsonl", {"model": "m"})
    store.append([{"id": "a", "score": 1.0}, {"id": "b", "score": 0.0}])
    with store.path.open("a") as fh:
        fh.write('{"id": "c", "sco')                         # killed mid-write
    assert set(SampleStore(tmp_path / "b.jsonl", {"model": "m"}).read()) == {"a", "b"}
    store.append([{"id": "c", "score": 1.0}])
    assert [json.loads(line)["id"] for line in store.path.read_text().splitlines()] == ["a", "b", "c"]


def test_store_refuses_other_settings_unless_fresh(tmp_path):
    SampleStore(tmp_path / "b.jsonl", {"model": "m", "max_new_tokens": 8}).append([{"id": "a"}])
    with pytest.raises(EvalError, match="max_new_tokens: 8 -> 16.*--fresh"):
        SampleStore(tmp_path / "b.jsonl", {"model": "m", "max_new_tokens": 16})
    assert SampleStore(tmp_path / "b.jsonl", {"model": "m", "max_new_tokens": 16}, fresh=True).read() == {}


def test_engine_args_from_the_command_line_are_checked():
    from eval.engines import engine_args

    assert engine_args("hf", []) == {}
    with pytest.raises(EvalError, match="--engine-arg 'tensor_parallel_size' is not KEY=VALUE"):
        engine_args("hf", ["tensor_parallel_size"])
    with pytest.raises(EvalError, match="--engine-arg tensor_parallel_size: HFEngine takes no such option"):
        engine_args("hf", ["tensor_parallel_size=2"])
    with pytest.raises(EvalError, match="--engine-arg temperature: a sampling setting.*--temperature"):
        engine_args("hf", ["temperature=0.5"])
    with pytest.raises(EvalError, match="--engine-arg eos_token_ids: set by the run itself"):
        engine_args("hf", ["eos_token_ids=[2]"])
