"""Fixture data for the eval tests, written in each dataset's PUBLISHED schema and converted
with the project's own data_prep converters (so the tests also hold eval to what data_prep
writes), plus a scripted engine that answers with known completions.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

from PIL import Image, ImageDraw
from public_schemas import mathvista_features, write_parquet


def shape_png(size: tuple[int, int], box: list[float] | None = None, color=(200, 40, 40)) -> bytes:
    """A PNG of `size` with a filled rectangle at `box` (x1, y1, x2, y2)."""
    image = Image.new("RGB", size, (235, 235, 235))
    if box:
        ImageDraw.Draw(image).rectangle(box, fill=color)
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def cell(data: bytes) -> dict:
    return {"bytes": data, "path": None}


def write_file(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


# --- one builder per dataset: write the published files, run the converter -------------

def build_refcoco(src: Path, out: Path) -> Path:
    """lmms-lab RefCOCO val: bbox [x, y, w, h]; a row with two expressions gives two records."""
    import datasets
    from data_prep import refcoco

    rows = [((64, 48), [8.0, 6.0, 24.0, 16.0], ["the red block", "left thing"]),
            ((80, 80), [40.0, 20.0, 20.0, 40.0], ["right block"]),
            ((48, 64), [4.0, 30.0, 20.0, 20.0], ["bottom block"])]
    write_parquet(src / "data" / "val-00000-of-00001.parquet", {
        "question_id": [f"q{i}" for i in range(len(rows))],
        "image": [cell(shape_png(size, [x, y, x + w, y + h])) for size, (x, y, w, h), _ in rows],
        "question": ["Please carefully observe the area circled in the image and come up with a caption."] * 3,
        "answer": [r[2] for r in rows], "segmentation": [[0.0, 0.0, 1.0, 1.0]] * 3,
        "bbox": [r[1] for r in rows], "iscrowd": [0] * 3,
        "file_name": [f"COCO_train2014_{i}_1.jpg" for i in range(3)],
    }, {"question_id": datasets.Value("string"), "image": datasets.Image(), "question": datasets.Value("string"),
        "answer": datasets.List(datasets.Value("string")), "segmentation": datasets.List(datasets.Value("float32")),
        "bbox": datasets.List(datasets.Value("float32")), "iscrowd": datasets.Value("int8"),
        "file_name": datasets.Value("string")})
    assert refcoco.main(["--src", str(src), "--out", str(out), "--split", "val"]) == 0
    return out / "val.jsonl"


def build_lisa(src: Path, out: Path) -> Path:
    """VLM-R1's lisa_test.json: solution [x1, y1, x2, y2] pixels, image relative to the root."""
    from data_prep import lisa

    items = []
    for i, (size, box) in enumerate([((60, 40), [10, 5, 30, 25]), ((40, 60), [5, 20, 35, 50])]):
        write_file(src / "images" / f"{i}.png", shape_png(size, box))
        items.append({"height": size[1], "width": size[0], "id": i, "image": f"images/{i}.png",
                      "problem": "Please provide the bounding box coordinate of the region this sentence "
                                 "describes: the thing to sit on.", "normal_caption": "the thing to sit on",
                      "solution": box, "normalized_solution": [0, 0, 1, 1], "dataset_name": "lisa"})
    src_file = write_file(src / "lisa_test.json", json.dumps(items))
    assert lisa.main(["--src", str(src_file), "--image-root", str(src), "--out", str(out)]) == 0
    return out / "test.jsonl"


def build_cvbench(src: Path, out: Path) -> Path:
    """CV-Bench test_2d / test_3d parquet: answer "(B)", task Count/Relation/Depth/Distance."""
    import datasets
    from data_prep import cvbench

    features = {"idx": datasets.Value("int32"), "type": datasets.Value("string"), "task": datasets.Value("string"),
                "image": datasets.Image(), "question": datasets.Value("string"),
                "choices": datasets.List(datasets.Value("string")), "answer": datasets.Value("string"),
                "prompt": datasets.Value("string"), "source": datasets.Value("string"),
                "filename": datasets.Value("string")}
    for name, typ, items in (("test_2d", "2D", [("Count", "How many blocks?", ["1", "2", "3"], "(B)"),
                                                ("Relation", "Is the block left of the ball?", ["yes", "no"], "(A)")]),
                             ("test_3d", "3D", [("Depth", "Which is closer?", ["the lamp", "the sofa"], "(B)"),
                                                ("Distance", "Which is nearer the cup?", ["the pen", "the box"], "(A)")])):
        n = len(items)
        write_parquet(src / f"{name}.parquet", {
            "idx": list(range(n)), "type": [typ] * n, "task": [i[0] for i in items],
            "image": [cell(shape_png((56, 42), [4, 4, 20, 20]))] * n, "question": [i[1] for i in items],
            "choices": [i[2] for i in items], "answer": [i[3] for i in items],
            "prompt": [i[1] for i in items], "source": ["COCO" if typ == "2D" else "Omni3D"] * n,
            "filename": [f"img/{k}.png" for k in range(n)]}, features)
    assert cvbench.main(["--src", str(src), "--out", str(out)]) == 0
    return out / "test.jsonl"


def build_mathvista(src: Path, out: Path) -> Path:
    """MathVista testmini parquet: one multi_choice (answer = option text), two free_form."""
    from data_prep import mathvista

    meta = {"category": "math-targeted-vqa", "context": "geometry diagram", "grade": "high school",
            "img_height": 40, "img_width": 50, "language": "english", "skills": ["arithmetic reasoning"],
            "source": "Geometry3K", "split": "testmini", "task": "geometry problem solving"}
    write_parquet(src / "data" / "testmini-00000-of-00001.parquet", {
        "pid": ["1", "2", "3"], "question": ["What is AB?", "Find x.", "What is the ratio?"],
        "image": ["images/1.jpg", "images/2.jpg", "images/3.jpg"],
        "decoded_image": [cell(shape_png((50, 40), [5, 5, 25, 25]))] * 3,
        "choices": [["97", "102", "107"], None, None], "unit": [None, "cm", None],
        "precision": [None, None, 2.0], "answer": ["107", "12", "0.33"],
        "question_type": ["multi_choice", "free_form", "free_form"],
        "answer_type": ["text", "integer", "float"],
        "query": ["Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, "
                  "at the end.\nQuestion: What is AB?\nChoices:\n(A) 97\n(B) 102\n(C) 107",
                  "Hint: Please answer the question requiring an integer answer.\nQuestion: Find x.",
                  "Hint: Please answer with a floating-point number with two decimal places.\n"
                  "Question: What is the ratio?"],
        "metadata": [meta] * 3,
    }, mathvista_features())
    assert mathvista.main(["--src", str(src), "--out", str(out)]) == 0
    return out / "testmini.jsonl"


def build_geometry3k(src: Path, out: Path) -> Path:
    import datasets
    from data_prep import geometry3k

    write_parquet(src / "data" / "test-00000-of-00001.parquet", {
        "images": [[cell(shape_png((44, 33), [2, 2, 30, 30]))]] * 2,
        "problem": ["<image>Find x.", "<image>Find the length of AB."], "answer": ["3", "2 \\sqrt { 221 }"],
        "id": [1, 2], "choices": [["1", "3"], ["2", "2 \\sqrt { 221 }"]], "ground_truth": ["B", "B"],
    }, {"images": datasets.List(datasets.Image()), "problem": datasets.Value("string"),
        "answer": datasets.Value("string"), "id": datasets.Value("int64"),
        "choices": datasets.List(datasets.Value("string")), "ground_truth": datasets.Value("string")})
    assert geometry3k.main(["--src", str(src), "--out", str(out), "--split", "test"]) == 0
    return out / "test.jsonl"


def build_geoqa(src: Path, out: Path) -> Path:
    """R1-V's GeoQA test JSONL: image_path relative to the root, ground_truth "140°"."""
    from data_prep import geoqa

    write_file(src / "Geo170K" / "images" / "test" / "0.png", shape_png((40, 40), [5, 5, 30, 30]))
    src_file = write_file(src / "geoqa_test_prompts.jsonl", jsonl([
        {"image_path": "./Geo170K/images/test/0.png", "question": "Find angle ABC.", "ground_truth": "140°"},
        {"image_path": "./Geo170K/images/test/0.png", "question": "Find AB.", "ground_truth": "6"}]))
    assert geoqa.main(["--src", str(src_file), "--image-root", str(src), "--out", str(out), "--split", "test"]) == 0
    return out / "test.jsonl"


def build_superclevr(src: Path, out: Path) -> Path:
    from data_prep import superclevr

    write_file(src / "images" / "superCLEVR_new_025000.png", shape_png((48, 32), [4, 4, 12, 12]))
    src_file = write_file(src / "superclevr_test200_counting_problems.jsonl", jsonl([
        {"image_path": "./images/superCLEVR_new_025000.png",
         "question": "How many different items are there in the image?", "ground_truth": 4},
        {"image_path": "./images/superCLEVR_new_025000.png", "question": "How many cubes?", "ground_truth": 1}]))
    assert superclevr.main(["--src", str(src_file), "--image-root", str(src), "--out", str(out)]) == 0
    return out / "test.jsonl"


def build_fewshot(src: Path, out: Path) -> Path:
    """An image-folder test set root/<label>/*.png (how the four test sets are converted)."""
    from data_prep import image_folder

    for label, color in (("globe_thistle", (120, 40, 160)), ("rose", (220, 20, 40))):
        for k in range(2):
            write_file(src / label / f"{k}.png", shape_png((36 + 4 * k, 36), [4, 4, 30, 30], color))
    assert image_folder.main(["--src", str(src), "--out", str(out), "--split", "test", "--name", "flower102"]) == 0
    return out / "test.jsonl"


BUILDERS = {
    "refcoco_val": build_refcoco, "lisa_test": build_lisa, "cvbench": build_cvbench,
    "mathvista_testmini": build_mathvista, "geometry3k_test": build_geometry3k, "geoqa_test": build_geoqa,
    "superclevr_test": build_superclevr, "fewshot_flower102": build_fewshot,
}


def build_all(root: Path) -> dict[str, Path]:
    """Benchmark name -> converted records file, for one fixture of every benchmark kind."""
    return {name: build(root / "src" / name, root / "records" / name) for name, build in BUILDERS.items()}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


class ScriptedEngine:
    """An engine that answers each record with a known completion (ScriptedEngine.script,
    record id -> text; "" when absent): the CLI end to end with hand-computable metrics."""

    script: dict[str, str] = {}

    def __init__(self, model, processor, **policy_tokens):
        pass

    def generate(self, prompts, n: int, sampling):
        return SimpleNamespace(texts=[self.script.get(r.id, "") for r in prompts.records])

    def load_weights(self, model) -> None:
        pass

    def close(self) -> None:
        pass
