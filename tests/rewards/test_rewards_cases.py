"""The table of realistic cases (answer_cases.py): no wrong answer is ever rewarded, and
at least 97% of right answers are accepted."""

from __future__ import annotations

from gpg_vl.rewards import RewardContext, get_reward
from answer_cases import scored_cases, tally

MIN_ACCEPTED = 0.97


def test_the_case_table():
    cases = scored_cases()
    assert len(cases) >= 300
    rule = get_reward("answer_match")
    scores = [rule([text], [record], RewardContext())[0] for _, text, record, _ in cases]
    mistakes = [(c, r.answer, t[-80:], s) for s, (c, t, r, right) in zip(scores, cases)
                if (s > 0) != right]
    table = tally(scores, cases)
    for category, row in table.items():
        print(f"{category}: right accepted {row['accepted']}/{row['right']}, "
              f"wrong rewarded {row['rewarded']}/{row['wrong']}")
    wrong_rewarded = [m for m in mistakes if m[3] > 0]
    assert not wrong_rewarded, wrong_rewarded
    right = sum(r["right"] for r in table.values())
    accepted = sum(r["accepted"] for r in table.values())
    assert accepted / right >= MIN_ACCEPTED, mistakes
