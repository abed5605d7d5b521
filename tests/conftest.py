"""Shared fixtures: tiny offline models and synthetic records, built once per session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw

torch.set_num_threads(2)


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_qwen2_vl(tmp_path_factory) -> Path:
    from gpg_vl.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-qwen2-vl", "qwen2_vl")


@pytest.fixture(scope="session")
def tiny_qwen2_5_vl(tmp_path_factory) -> Path:
    from gpg_vl.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-qwen2.5-vl", "qwen2_5_vl")


@pytest.fixture(scope="session")
def policy(tiny_qwen2_vl):
    from gpg_vl.config import ModelConfig
    from gpg_vl.models import load_policy

    return load_policy(ModelConfig(path=str(tiny_qwen2_vl)))


def draw_image(path: Path, size: tuple[int, int], color: tuple[int, int, int]) -> None:
    image = Image.new("RGB", size, (240, 240, 240))
    ImageDraw.Draw(image).rectangle([2, 2, size[0] // 2, size[1] // 2], fill=color)
    image.save(path)


@pytest.fixture
def mixed_size_jsonl(tmp_path) -> Path:
    """Four records, images of four different sizes, one record with two images."""
    (tmp_path / "img").mkdir()
    sizes = [(56, 56), (100, 80), (64, 120), (200, 150)]
    colors = ["red", "green", "blue", "red"]
    rgb = {"red": (220, 30, 30), "green": (30, 180, 30), "blue": (30, 60, 220)}
    lines = []
    for i, (size, color) in enumerate(zip(sizes, colors)):
        draw_image(tmp_path / "img" / f"{i}.png", size, rgb[color])
        images = [f"img/{i}.png"] + (["img/0.png"] if i == 3 else [])
        lines.append({"id": f"r{i}", "task": "classification", "images": images,
                      "problem": "What color is the shape?", "answer": color,
                      "meta": {"image_size": list(size)}})
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path
