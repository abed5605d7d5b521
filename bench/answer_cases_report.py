"""Per-category figures of `answer_match` on the realistic case table (tests/rewards/cases_*.py).

    python bench/answer_cases_report.py [--markdown]

For each category: right answers accepted / right answers, wrong answers rewarded / wrong
answers. docs/rewards.md shows the output; the test tests/rewards/test_rewards_cases.py
holds the same table to 0 wrong rewarded and >= 97% right accepted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "rewards")]

from answer_cases import scored_cases, tally  # noqa: E402
from gpg_vl.rewards import RewardContext, get_reward  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = parser.parse_args()
    rule = get_reward("answer_match")
    cases = scored_cases()
    scores = [rule([text], [record], RewardContext())[0] for _, text, record, _ in cases]
    table = tally(scores, cases)
    total = {k: sum(row[k] for row in table.values()) for k in ("right", "accepted", "wrong", "rewarded")}
    rows = [*table.items(), ("all", total)]
    if args.markdown:
        print("| category | right accepted | wrong rewarded |\n| --- | --- | --- |")
    for name, r in rows:
        share = 100.0 * r["accepted"] / r["right"] if r["right"] else 0.0
        if args.markdown:
            print(f"| {name} | {r['accepted']} / {r['right']} ({share:.1f}%) | {r['rewarded']} / {r['wrong']} |")
        else:
            print(f"{name:42s} right accepted {r['accepted']:4d}/{r['right']:<4d} ({share:5.1f}%)  "
                  f"wrong rewarded {r['rewarded']:3d}/{r['wrong']}")


if __name__ == "__main__":
    main()
