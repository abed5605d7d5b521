"""beta_th resampling on hand-made rollouts: attempts, ordering, carried surplus, global counts."""

import torch

from gpg_vl.data.collator import PromptBatch
from gpg_vl.data.record import Record
from gpg_vl.resample import collect_groups
from gpg_vl.rollout.batch import RolloutBatch

G = 2


def fake_rollout(tag: str, group_rewards: list[tuple[float, float]]) -> RolloutBatch:
    """B prompts with one 2x2-patch image each; rewards per group as given."""
    B = len(group_rewards)
    records = [Record(id=f"{tag}{i}", task="t", images=["x"], problem="p", answer="a") for i in range(B)]
    prompts = PromptBatch(records=records, input_ids=torch.arange(B * 3).view(B, 3),
                          attention_mask=torch.ones(B, 3, dtype=torch.long),
                          mm_token_type_ids=torch.zeros(B, 3, dtype=torch.long),
                          vision={"pixel_values": torch.arange(B * 4, dtype=torch.float32).view(B * 4, 1),
                                  "image_grid_thw": torch.tensor([[1, 2, 2]] * B)},
                          vision_rows={"pixel_values": [4] * B, "image_grid_thw": [1] * B}, family="qwen2_vl",
                          images_per_prompt=[1] * B,
                          original_sizes=[[(28, 28)]] * B, input_sizes=[[(28, 28)]] * B,
                          texts=["p"] * B)
    rewards = torch.tensor([r for pair in group_rewards for r in pair])
    return RolloutBatch(prompts=prompts, group_size=G, completion_ids=torch.ones(B * G, 2, dtype=torch.long),
                        completion_mask=torch.ones(B * G, 2, dtype=torch.long),
                        texts=[f"{tag}{i // G}-{i % G}" for i in range(B * G)],
                        rewards={"acc": rewards}, reward_total=rewards)


VALID, FLAT = (1.0, 0.0), (1.0, 1.0)


def run(draws, beta_th, max_attempts=20, carry=None, global_sum=lambda x: x, keep=True):
    it = iter(draws)
    return collect_groups(lambda: next(it), 4, beta_th, max_attempts, 1e-5, carry, global_sum, 0, keep)


def ids(batch):
    return [r.id for r in batch.prompts.records]


def test_no_resampling_when_enough_groups_are_valid():
    got = run([fake_rollout("a", [VALID, FLAT, VALID, FLAT])], beta_th=0.5)
    assert got.attempts == 1 and got.num_valid == 2
    assert ids(got.batch) == ["a0", "a2", "a1", "a3"]  # valid first, then degenerate top-up
    assert got.batch.texts[:2] == ["a0-0", "a0-1"] and got.batch.reward_total.tolist()[:4] == [1, 0, 1, 0]
    assert got.carry is None and got.dropped == 0


def test_resamples_until_beta_th_then_carries_the_surplus():
    draws = [fake_rollout("a", [FLAT, VALID, FLAT, FLAT]),   # 1 of 4 valid < 0.75 * 4
             fake_rollout("b", [VALID, FLAT, FLAT, FLAT]),   # 2 of 4
             fake_rollout("c", [VALID, VALID, VALID, FLAT])]  # 5 -> stop
    got = run(draws, beta_th=0.75)
    assert got.attempts == 3 and got.num_valid == 4
    assert ids(got.batch) == ["a1", "b0", "c0", "c1"]
    assert ids(got.carry) == ["c2"] and got.dropped == 0
    # next step: the carried group is used first, and fresh ones follow
    nxt = run([fake_rollout("d", [FLAT, VALID, FLAT, FLAT])], beta_th=0.5, carry=got.carry)
    assert nxt.carried_in == 1 and nxt.attempts == 1 and nxt.num_valid == 2
    assert ids(nxt.batch) == ["c2", "d1", "d0", "d2"]
    # images travel with their groups: c2's pixels are rows 8..11 of draw c
    assert nxt.batch.prompts.vision_for([0])["pixel_values"].flatten().tolist() == [8.0, 9.0, 10.0, 11.0]


def test_gives_up_after_max_attempts_and_fills_with_degenerate_groups():
    draws = [fake_rollout(t, [FLAT] * 4) for t in "abcdef"]
    got = run(draws, beta_th=0.4, max_attempts=3)
    assert got.attempts == 3 and got.num_valid == 0 and ids(got.batch) == ["a0", "a1", "a2", "a3"]


def test_surplus_is_dropped_when_not_kept():
    got = run([fake_rollout("a", [VALID] * 4), fake_rollout("b", [VALID] * 4)], beta_th=1.0, keep=False)
    assert got.attempts == 1 and got.carry is None and got.dropped == 0
    got = run([fake_rollout("a", [VALID, FLAT, FLAT, FLAT]), fake_rollout("b", [VALID] * 4)],
              beta_th=1.0, keep=False)
    assert got.attempts == 2 and ids(got.batch) == ["a0", "b0", "b1", "b2"] and got.dropped == 1


def test_stopping_uses_global_counts():
    # this process: 1 of 4 valid (< 0.5 locally); another process adds 4 groups, all valid,
    # so every count gains 4: globally 5 of 8 valid >= 0.5 * 8 -> no resampling
    got = run([fake_rollout("a", [VALID, FLAT, FLAT, FLAT]), fake_rollout("b", [VALID] * 4)],
              beta_th=0.5, global_sum=lambda x: x + 4)
    assert got.attempts == 1
    alone = run([fake_rollout("a", [VALID, FLAT, FLAT, FLAT]), fake_rollout("b", [VALID] * 4)], beta_th=0.5)
    assert alone.attempts == 2
