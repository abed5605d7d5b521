"""LISA reasoning-grounding test set as VLM-R1 publishes it (lisa_test.json) -> grounding records.

    python -m data_prep.lisa --src /data/rec_jsons_processed/lisa_test.json --image-root /data/lisa --out /data/lisa

lisa_test.json has the VLM-R1 REC shape ("image" relative to --image-root, "solution"
[x1, y1, x2, y2] in original pixels), so this is `data_prep.vlm_r1_rec` with the name
"lisa" and the split "test" as defaults.
"""

from __future__ import annotations

from data_prep import vlm_r1_rec


def main(argv: list[str] | None = None) -> int:
    return vlm_r1_rec.main(argv, name="lisa", split="test")


if __name__ == "__main__":
    raise SystemExit(main())
