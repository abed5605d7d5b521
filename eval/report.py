"""The visual report: one HTML page per checkpoint x benchmark, with PNG thumbnails.

For a sample of items (the worst half of the sample by score, the rest drawn at random
with a fixed seed, shown worst first) the page shows the image, with the true box in
green and the predicted box in red for grounding items, the prompt, the completion, what
the rule read from it, the truth and the score. Numbers tell how well; this page tells
why: boxes in the wrong convention, answers outside the tags, runaway reasoning.

The training run's rollout report (rollout_report.py) draws its pages here too: its rows
add `rewards` ({rule: value}) and `advantage`, shown in the answer column.
"""

from __future__ import annotations

import html
import json
import random
from pathlib import Path

from PIL import ImageDraw

from gpg_vl.data.vision import ImageError, open_image

from .results import table_metrics

THUMB_SIDE = 320
TRUE_COLOR, PRED_COLOR = (0, 170, 0), (220, 0, 0)


def pick_items(rows: list[dict], n: int, seed: int = 0) -> list[dict]:
    """The worst n//2 rows, plus n - n//2 others at random; sorted worst first."""
    ordered = sorted(rows, key=lambda r: (r["score"], r["id"]))
    worst, rest = ordered[:n // 2], ordered[n // 2:]
    picked = worst + random.Random(seed).sample(rest, min(len(rest), n - len(worst)))
    return sorted(picked, key=lambda r: (r["score"], r["id"]))


def _as_box(value) -> list[float] | None:
    ok = isinstance(value, list) and len(value) == 4 and all(isinstance(v, (int, float)) for v in value)
    return [float(v) for v in value] if ok else None


def thumbnail(row: dict, path: Path) -> bool:
    """Save the row's first image (a path, or embedded), longest side THUMB_SIDE, boxes
    drawn (original-pixel boxes, scaled with the image); False if unreadable."""
    if not row.get("images"):
        return False
    try:
        image = open_image(row["images"][0])
    except ImageError:
        return False
    scale = THUMB_SIDE / max(image.size)
    image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
    draw = ImageDraw.Draw(image)
    for box, color in ((_as_box(row.get("answer")), TRUE_COLOR), (_as_box(row.get("parsed")), PRED_COLOR)):
        if box is not None and row.get("task") == "grounding":
            draw.rectangle([v * scale for v in box], outline=color, width=3)
    image.save(path)
    return True


def _item_html(rank: int, row: dict, thumb: str | None) -> str:
    esc = html.escape
    image = f'<img src="{esc(thumb)}">' if thumb else "<em>(image unavailable)</em>"
    return (f'<tr><td>{rank}<br><code>{esc(row["id"])}</code><br>score {row["score"]:.3f}</td>'
            f"<td>{image}</td><td><pre>{esc(row['prompt'])}</pre></td>"
            f"<td><pre>{esc(row['completion'])}</pre></td>"
            f"<td>read: <code>{esc(json.dumps(row['parsed'], ensure_ascii=False))}</code><br>"
            f"truth: <code>{esc(json.dumps(row['answer'], ensure_ascii=False))}</code>{_rewards_html(row)}</td></tr>")


def _rewards_html(row: dict) -> str:
    """A rollout row's reward per rule and advantage ("" for an eval row, which has neither)."""
    out = ""
    if row.get("rewards"):
        out += "<br>rewards: " + ", ".join(f"{html.escape(k)} {v:.3f}" for k, v in row["rewards"].items())
    if row.get("advantage") is not None:
        out += f"<br>advantage: {row['advantage']:+.3f}"
    return out


def summary(metrics: dict) -> str:
    """'name value, ...' of the metrics the results table lists (long breakdowns left out)."""
    return ", ".join(f"{k} {metrics[k]:.2f}" for k in table_metrics(list(metrics)))


def write_report(rows: list[dict], folder: Path, title: str, metrics: dict, n_items: int = 24) -> Path:
    """folder/index.html plus folder/item-XXX.png for the picked items."""
    shown = pick_items(rows, n_items)
    return write_page(shown, folder, title, f"{len(rows)} items: {summary(metrics)}. Showing {len(shown)}, worst first")


def write_page(shown: list[dict], folder: Path, title: str, intro: str) -> Path:
    """folder/index.html showing the rows `shown`, in order, with folder/item-XXX.png
    thumbnails; `intro` (plain text) heads the table."""
    folder.mkdir(parents=True, exist_ok=True)
    body = []
    for rank, row in enumerate(shown, 1):
        name = f"item-{rank:03d}.png"
        body.append(_item_html(rank, row, name if thumbnail(row, folder / name) else None))
    page = (f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif}td{vertical-align:top;border-top:1px solid #ccc;padding:4px}"
            "pre{white-space:pre-wrap;max-width:36em;max-height:24em;overflow:auto}</style>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(intro)}; <span style='color:green'>true box</span>, "
            f"<span style='color:red'>predicted box</span>.</p>"
            "<table><tr><th>#</th><th>image</th><th>prompt</th><th>completion</th><th>answer</th></tr>"
            + "".join(body) + "</table>")
    path = folder / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def write_index(report_root: Path) -> Path:
    """report_root/index.html linking every page below it (checkpoint/benchmark/index.html)."""
    pages = sorted(p.relative_to(report_root) for p in report_root.glob("*/*/index.html"))
    links = "".join(f'<li><a href="{html.escape(str(p))}">{html.escape(str(p.parent))}</a></li>' for p in pages)
    path = report_root / "index.html"
    path.write_text(f"<!doctype html><meta charset='utf-8'><title>eval report</title><ul>{links}</ul>",
                    encoding="utf-8")
    return path
