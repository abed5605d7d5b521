"""Loading and the collator: every bad input is named before model work; images once per prompt."""

import json

import pytest
import torch

from gpg_vl.data.collator import PromptCollator, PromptTooLong
from gpg_vl.data.loading import DataError, load_records
from gpg_vl.data.vision import VisionSettings
from gpg_vl.families import family_of


def write_lines(path, lines):
    path.write_text("".join((l if isinstance(l, str) else json.dumps(l)) + "\n" for l in lines))


def good(i, image="img/0.png"):
    return {"id": f"r{i}", "task": "classification", "images": [image], "problem": "What color?", "answer": "red"}


def test_loads_and_resolves_relative_images(mixed_size_jsonl):
    records = load_records(mixed_size_jsonl)
    assert [r.id for r in records] == ["r0", "r1", "r2", "r3"]
    assert records[1].images[0] == str(mixed_size_jsonl.parent / "img/1.png")
    assert records[3].meta["original_sizes"] == [[200, 150], [56, 56]]
    assert records[0].where == f"{mixed_size_jsonl}:1"


def test_missing_image_names_file_and_line(mixed_size_jsonl):
    path = mixed_size_jsonl.parent / "bad.jsonl"
    write_lines(path, [good(0), good(1, "img/nope.png")])
    with pytest.raises(DataError, match=r"bad.jsonl:2.*image file not found.*nope.png"):
        load_records(path)


def test_unreadable_image_names_file_and_line(mixed_size_jsonl):
    (mixed_size_jsonl.parent / "img" / "broken.png").write_bytes(b"\x89PNG not really")
    path = mixed_size_jsonl.parent / "bad.jsonl"
    write_lines(path, [good(0), good(1), good(2, "img/broken.png")])
    with pytest.raises(DataError, match=r"bad.jsonl:3.*unreadable image.*broken.png"):
        load_records(path)


def test_malformed_json_and_missing_field(mixed_size_jsonl):
    path = mixed_size_jsonl.parent / "bad.jsonl"
    write_lines(path, [good(0), '{"id": "r1", "task": ', good(2)])
    with pytest.raises(DataError, match=r"bad.jsonl:2: malformed JSON"):
        load_records(path)
    no_answer = good(1)
    del no_answer["answer"]
    write_lines(path, [good(0), no_answer])
    with pytest.raises(DataError, match=r"bad.jsonl:2 \(id=r1\): missing field\(s\) answer"):
        load_records(path)


def test_skip_mode_counts_and_keeps_the_rest(mixed_size_jsonl, caplog):
    path = mixed_size_jsonl.parent / "bad.jsonl"
    write_lines(path, [good(0), "{oops", good(2, "img/nope.png"), good(3)])
    records = load_records(path, on_bad="skip")
    assert [r.id for r in records] == ["r0", "r3"]
    assert "skipped 2 bad record(s)" in caplog.text


def test_collator_batches_mixed_sizes_and_reuses_pixels(policy, mixed_size_jsonl):
    model, processor = policy
    collate = PromptCollator(processor, family_of(model), min_pixels=3136, max_pixels=200 * 28 * 28,
                             max_prompt_length=512)
    vision = collate.vision
    records = load_records(mixed_size_jsonl)
    batch = collate(records)
    assert batch.input_ids.shape[0] == 4 and batch.images_per_prompt == [1, 1, 1, 2]
    assert batch.original_sizes == [[(56, 56)], [(100, 80)], [(64, 120)], [(200, 150), (56, 56)]]
    assert batch.input_sizes[1] == [vision.resized_size(100, 80)]
    # left padding: the last column is real for every prompt
    assert bool(batch.attention_mask[:, -1].all())
    image_pad = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    for i, record in enumerate(records):
        alone = collate([record])
        # same tokens as when collated alone, and the same pixels reached by index
        n = int(alone.attention_mask.sum())
        assert torch.equal(batch.input_ids[i, -n:], alone.input_ids[0, -n:])
        vision_i = batch.vision_for([i])
        assert vision_i.keys() == alone.vision.keys() == {"pixel_values", "image_grid_thw"}
        assert all(torch.equal(vision_i[k], alone.vision[k]) for k in vision_i)
        expected = sum(vision.num_image_tokens(w, h) for w, h in batch.original_sizes[i])
        assert int((batch.input_ids[i] == image_pad).sum()) == expected
        assert collate.prompt_length(record, batch.original_sizes[i]) == n
    # a group's rows index the same pixels; nothing is recomputed
    three = batch.vision_for([2, 2, 2])
    assert three["pixel_values"].shape[0] == 3 * batch.vision_for([2])["pixel_values"].shape[0]
    assert three["image_grid_thw"].shape[0] == 3


def test_overlong_prompt_rejected_up_front_naming_record(policy, mixed_size_jsonl):
    model, processor = policy
    collate = PromptCollator(processor, family_of(model), max_pixels=200 * 28 * 28, max_prompt_length=40)
    records = load_records(mixed_size_jsonl)
    with pytest.raises(PromptTooLong, match=r"data.jsonl:4 \(id=r3\)"):
        collate.check_lengths(records)


def _embedded_dataset():
    import io

    import datasets
    from PIL import Image

    def png(color, size):
        buf = io.BytesIO()
        Image.new("RGB", size, color).save(buf, format="PNG")
        return {"bytes": buf.getvalue(), "path": None}

    features = datasets.Features({
        "id": datasets.Value("string"), "task": datasets.Value("string"),
        "images": datasets.List(datasets.Image()), "problem": datasets.Value("string"),
        "answer": datasets.Value("string")})
    return datasets.Dataset.from_dict({
        "id": ["e0", "e1"], "task": ["classification"] * 2,
        "images": [[png((220, 30, 30), (56, 56))], [png((30, 60, 220), (90, 60)), png((0, 0, 0), (28, 28))]],
        "problem": ["What color?"] * 2, "answer": ["red", "blue"]}, features=features)


@pytest.mark.parametrize("layout", ["save_to_disk", "parquet"])
def test_loads_embedded_images_from_datasets(policy, tmp_path, layout):
    ds = _embedded_dataset()
    if layout == "save_to_disk":
        path = tmp_path / "ds"
        ds.save_to_disk(str(path))
    else:
        path = tmp_path / "train.parquet"
        ds.to_parquet(str(path))
    records = load_records(path)
    assert [r.id for r in records] == ["e0", "e1"]
    assert records[1].meta["original_sizes"] == [[90, 60], [28, 28]]
    batch = PromptCollator(policy[1], family_of(policy[0]), max_prompt_length=512)(records)
    assert batch.images_per_prompt == [1, 2] and batch.original_sizes[1] == [(90, 60), (28, 28)]


def test_corrupt_parquet_is_named(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataError, match="bad.parquet: cannot read"):
        load_records(path)
