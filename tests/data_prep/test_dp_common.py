"""The shared pieces: path safety, box and answer fields, the image store, readers, the run loop."""

from __future__ import annotations

import argparse
import json
import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_prep import common, fields, sources
from data_prep.common import FatalError, ImageStore, Row, Skip, safe_relpath
from dp_helpers import image_bytes, read_jsonl, sha1
from gpg_vl.data.record import Record


def reason(excinfo) -> str:
    return excinfo.value.reason


@pytest.mark.parametrize("rel, expected", [("a/b.png", "a/b.png"), ("./images/x.png", "images/x.png"),
                                           ("a/../b.png", "b.png")])
def test_safe_relpath_accepts_paths_inside(rel, expected):
    assert safe_relpath(rel) == expected


@pytest.mark.parametrize("rel", ["../x.png", "a/../../x.png", "/etc/passwd", ".."])
def test_safe_relpath_rejects_escapes(rel):
    with pytest.raises(Skip) as e:
        safe_relpath(rel)
    assert reason(e) == "unsafe image path"


def test_xywh_to_xyxy_by_hand():
    # x=103.93, y=299.99, w=134.22, h=177.42 -> x2 = 103.93 + 134.22, y2 = 299.99 + 177.42
    assert fields.xywh_to_xyxy([103.93, 299.99, 134.22, 177.42]) == pytest.approx([103.93, 299.99, 238.15, 477.41])


def test_fit_box_clips_tiny_overshoot_and_skips_real_ones():
    size = (32, 24)
    assert fields.fit_box([1, 2, 30, 20], size) == [1, 2, 30, 20]
    assert fields.fit_box([-1.5, -0.5, 33.9, 25.0], size) == [0, 0, 32, 24]  # within 2 px: clipped
    for box, why in (([0, 0, 34.5, 10], "box outside image"), ([-3, 0, 10, 10], "box outside image"),
                     ([5, 5, 5, 9], "degenerate box"), ([9, 5, 5, 9], "degenerate box"),
                     ([0, 0, math.nan, 1], "bad answer"), ([0, 0, 1], "bad answer"), (["a", 0, 1, 1], "bad answer"),
                     (None, "missing answer")):
        with pytest.raises(Skip) as e:
            fields.fit_box(box, size)
        assert reason(e) == why, box


def test_answer_and_question_text():
    assert fields.answer_text("<answer> 3 </answer>") == "3"
    assert fields.answer_text("The answer is <answer>737-200</answer>.") == "737-200"
    assert fields.answer_text(" 140° ") == "140°"
    q = "<image>Find x.\nOutput the thinking process in <think> </think> and final answer in <answer> </answer> tags."
    assert fields.question_part(q) == "Find x."
    assert fields.question_part("Where is it? First output the thinking process in <think> tags") == "Where is it?"
    for bad in (None, "", "<answer>  </answer>"):
        with pytest.raises(Skip) as e:
            fields.answer_text(bad)
        assert reason(e) == "missing answer"
    with pytest.raises(Skip) as e:
        fields.question_part("<image>Output the thinking process in <think> </think>.")
    assert reason(e) == "missing question"


def test_count_answer():
    assert [fields.count_answer(v) for v in (4, "4", "<answer> 3 </answer>", "5.0")] == [4, 4, 3, 5]
    for bad in ("three", "2.5", "-1", True):
        with pytest.raises(Skip) as e:
            fields.count_answer(bad)
        assert reason(e) == "bad answer", bad


def test_letters():
    assert fields.letter_of("107", ["97", "102", "107"]) == "C"
    assert fields.choice_problem("Q?", ["x", "y"]) == "Q?\nChoices:\n(A) x\n(B) y"
    with pytest.raises(Skip) as e:
        fields.letter_of("z", ["x", "y"])
    assert reason(e) == "answer not among options"
    with pytest.raises(Skip) as e:
        fields.choice_problem("Q?", [str(i) for i in range(27)])
    assert reason(e) == "too many options"


def test_image_store_dedups_by_content_and_writes_only_committed(tmp_path):
    store = ImageStore(tmp_path)
    red, blue = image_bytes((255, 0, 0)), image_bytes((0, 0, 255), fmt="JPEG")
    a = store.add_embedded({"bytes": red, "path": "x.jpg"})  # extension follows the content, not the name
    b = store.add_bytes(red)
    assert a == b == (f"images/{sha1(red)}.png", (32, 24))
    store.commit()
    store.add_bytes(blue)
    store.discard()  # the row was skipped
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == [f"{sha1(red)}.png"]
    assert store.new_files == 1
    store.add_bytes(blue)
    store.commit()
    assert (tmp_path / "images" / f"{sha1(blue)}.jpg").read_bytes() == blue
    for value, why in (({"bytes": None, "path": "a.png"}, "missing image"), (None, "missing image"),
                       (b"GIF89a broken", "undecodable image"), (red[:60], "undecodable image")):
        with pytest.raises(Skip) as e:
            store.add_embedded(value)
        assert reason(e) == why


def test_image_store_reads_each_file_once(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.png").write_bytes(image_bytes())
    store = ImageStore(tmp_path / "out")
    first = store.add_file(root, "a.png")
    store.commit()
    (root / "a.png").write_bytes(b"changed")  # a second read would now fail to decode
    assert store.add_file(root, "./a.png") == first
    with pytest.raises(Skip) as e:
        store.add_file(root, "nope.png")
    assert reason(e) == "missing image"
    with pytest.raises(FatalError, match="--image-root"):
        store.add_file(None, "a.png")


def write_table(path, n):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"x": list(range(n))}), path)


def test_parquet_split_selection(tmp_path):
    for name in ("data/test-00000-of-00002.parquet", "data/test-00001-of-00002.parquet",
                 "data/testA-00000-of-00001.parquet", "test_2d.parquet", "val/0000.parquet"):
        write_table(tmp_path / name, 2)
    rows = list(sources.read_rows(tmp_path, "test"))
    assert [r.where for r in rows] == ["test-00000-of-00002.parquet:row 0", "test-00000-of-00002.parquet:row 1",
                                       "test-00001-of-00002.parquet:row 0", "test-00001-of-00002.parquet:row 1",
                                       "test_2d.parquet:row 0", "test_2d.parquet:row 1"]
    assert [r.index for r in rows] == list(range(6))
    assert len(list(sources.read_rows(tmp_path, "testA"))) == 2
    assert len(list(sources.read_rows(tmp_path, "val"))) == 2
    with pytest.raises(FatalError, match="no parquet files for split 'train'.*found data/test-00000-of-00002.parquet"):
        list(sources.read_rows(tmp_path, "train"))


def test_json_readers(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([{"k": 1}, 5]))
    rows = list(sources.read_rows(tmp_path / "a.json", None))
    assert rows[0] == Row("a.json:item 0", 0, {"k": 1}) and rows[1].error == "item is a int, not an object"
    (tmp_path / "b.json").write_text("{broken")
    with pytest.raises(FatalError, match="b.json: not a readable JSON file"):
        list(sources.read_rows(tmp_path / "b.json", None))
    (tmp_path / "c.jsonl").write_text('{"k": 1}\n\n[1]\n{"k": 2}\n')
    rows = list(sources.read_rows(tmp_path / "c.jsonl", None))
    assert [(r.where, r.index, r.data) for r in rows] == [("c.jsonl:line 1", 0, {"k": 1}), ("c.jsonl:line 3", 1, None),
                                                          ("c.jsonl:line 4", 2, {"k": 2})]
    with pytest.raises(FatalError, match="no such file or folder"):
        list(sources.read_rows(tmp_path / "missing", "train"))


def to_record(row, rid, ctx):
    if row["x"] % 2:
        raise Skip("odd", f"x={row['x']}")
    return Record(id=rid, task="count", images=["images/none.png"], problem="How many?", answer=row["x"],
                  meta={"source": ctx.source, "split": ctx.split})


def test_run_writes_jsonl_and_limits_messages(tmp_path, capsys):
    write_table(tmp_path / "src" / "train.parquet", 60)
    args = argparse.Namespace(out=tmp_path / "out", split="train")
    # 1: the check run on the written file finds that images/none.png (a toy path) does not exist
    assert common.run(sources.read_rows(tmp_path / "src", "train"), to_record, args, source="toy") == 1
    recs = read_jsonl(tmp_path / "out" / "train.jsonl")
    assert len(recs) == 30 and recs[1] == {"id": "toy-train-000002", "task": "count", "images": ["images/none.png"],
                                           "problem": "How many?", "answer": 2,
                                           "meta": {"source": "toy", "split": "train"}}
    captured = capsys.readouterr()
    assert captured.err.count("skip train.parquet:row") == common.MAX_MESSAGES_PER_REASON
    assert "further 'odd' rows are only counted" in captured.err
    assert "wrote 30 records" in captured.out and "odd: 30" in captured.out
    assert "gpg_vl data check:" in captured.out and "problems       image: 30" in captured.out


def test_run_fatal_midway_leaves_no_output(tmp_path, capsys):
    write_table(tmp_path / "src" / "train-0.parquet", 4)
    (tmp_path / "src" / "train-1.parquet").write_bytes(b"garbage")
    args = argparse.Namespace(out=tmp_path / "out", split="train")
    assert common.run(sources.read_rows(tmp_path / "src", "train"), to_record, args, source="toy") == 2
    assert "train-1.parquet: corrupt parquet file" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []  # no image was ever committed
