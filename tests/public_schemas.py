"""Hub-style parquet fixtures shared by the converter and eval tests: one writer, one
MathVista schema (the testmini parquet's real `datasets` features), so the two suites
cannot drift apart on what the public files look like."""

from __future__ import annotations

from pathlib import Path


def write_parquet(path: Path, columns: dict, features: dict) -> Path:
    """Write `columns` with real `datasets` features, as the Hub's parquet files are written."""
    import datasets

    path.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_dict(columns, features=datasets.Features(features)).to_parquet(str(path))
    return path


def mathvista_features() -> dict:
    """AI4Math/MathVista testmini: every column, metadata typed as on the Hub."""
    import datasets

    text = datasets.Value("string")
    metadata = {k: text for k in ("category", "context", "grade", "language", "source", "split", "task")}
    metadata.update(img_height=datasets.Value("int64"), img_width=datasets.Value("int64"),
                    skills=datasets.List(text))
    return {"pid": text, "question": text, "image": text, "decoded_image": datasets.Image(),
            "choices": datasets.List(text), "unit": text, "precision": datasets.Value("float64"),
            "answer": text, "question_type": text, "answer_type": text, "query": text, "metadata": metadata}
