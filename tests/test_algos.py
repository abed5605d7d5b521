"""GPG math on hand-made tensors; every expected value is worked out in the comments."""

import math

import pytest
import torch

from gpg_vl import algos


def test_group_advantages_center_without_scaling():
    # group 1: rewards 1,0,0,1 -> mean 0.5 -> A = +.5 -.5 -.5 +.5 ; group 2: all 0 -> A = 0
    r = torch.tensor([1.0, 0, 0, 1, 0, 0, 0, 0])
    assert algos.group_advantages(r, 4).tolist() == [0.5, -0.5, -0.5, 0.5, 0, 0, 0, 0]


def test_group_advantages_std_scaling():
    # GRPO: SAMPLE std of 1,0,0,1: var = 4 * 0.25 / (4 - 1) = 1/3, std = 0.577350 -> A = +-0.5 / (0.577350 + 1e-4)
    r = torch.tensor([1.0, 0, 0, 1])
    a = algos.group_advantages(r, 4, norm="std")
    d = 0.5 / (math.sqrt(1 / 3) + 1e-4)  # 0.865875
    assert a.tolist() == pytest.approx([d, -d, -d, d], abs=1e-6)
    assert d == pytest.approx(0.865875, abs=1e-6)
    with pytest.raises(ValueError, match="valid: none, std"):
        algos.group_advantages(r, 4, norm="rank")


def test_valid_groups_and_alpha():
    # groups: [1,0] valid, [1,1] degenerate, [0.3, 0.3 + 1e-7] degenerate (std 5e-8 <= 1e-5), [2,0] valid
    r = torch.tensor([1.0, 0, 1, 1, 0.3, 0.3 + 1e-7, 2, 0])
    valid = algos.valid_groups(r, 2)
    assert valid.tolist() == [True, False, False, True]
    # B = 4, M = 2 -> rho = 0.5 -> alpha = 2
    assert algos.gpg_alpha(4, int(valid.sum())) == 2.0
    assert algos.gpg_alpha(8, 6) == pytest.approx(8 / 6)
    assert algos.gpg_alpha(4, 0) == 1.0  # no valid group: loss is zero anyway
    assert algos.gpg_alpha(4, 4) == 1.0


def test_aggregations_by_hand():
    v = torch.tensor([[1.0, 2, 3], [4, 0, 0]])
    m = torch.tensor([[1.0, 1, 1], [1, 0, 0]])
    # seq means 2 and 4 -> (2 + 4) / 2 seqs = 3
    assert algos.aggregate(v, m, "seq_mean_token_mean", 2, 4).item() == 3.0
    # (1+2+3+4) / 4 tokens = 2.5
    assert algos.aggregate(v, m, "token_mean", 2, 4).item() == 2.5
    # 10 / (2 seqs * 10) = 0.5
    assert algos.aggregate(v, m, "token_sum_norm", 2, 4, norm_const=10).item() == 0.5
    with pytest.raises(ValueError, match="seq_mean_token_mean"):
        algos.aggregate(v, m, "mean", 2, 4)


@pytest.mark.parametrize("mode", ["seq_mean_token_mean", "token_mean", "token_sum_norm"])
def test_micro_batches_add_up_to_the_whole_batch(mode):
    torch.manual_seed(0)
    v = torch.randn(6, 5)
    m = (torch.rand(6, 5) > 0.3).float()
    m[:, 0] = 1
    whole = algos.aggregate(v, m, mode, 6, m.sum(), 7.0)
    parts = sum(algos.aggregate(v[i:i + 2], m[i:i + 2], mode, 6, m.sum(), 7.0) for i in (0, 2, 4))
    assert parts.item() == pytest.approx(whole.item(), abs=1e-6)


def test_gpg_loss_by_hand():
    lp = torch.tensor([[-1.0, -2.0], [-0.5, 0.0]])
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    adv = torch.tensor([1.0, -2.0])
    # seq 1: -((-1)(1) + (-2)(1)) / 2 = 1.5 ; seq 2: -((-0.5)(-2)) / 1 = -1
    # seq-mean-token-mean: (1.5 - 1) / 2 = 0.25 ; alpha 2 -> 0.5
    s = algos.LossSettings(aggregation="seq_mean_token_mean", num_seqs=2, num_tokens=3, alpha=2.0)
    loss, _ = algos.get_loss("gpg")(algos.LossInputs(lp, mask, adv), s)
    assert loss.item() == pytest.approx(0.5)
    # token-mean: -(-1 - 2 + 1) / 3 tokens = 2/3 ; alpha 2 -> 4/3
    s.aggregation = "token_mean"
    assert algos.gpg_loss(algos.LossInputs(lp, mask, adv), s)[0].item() == pytest.approx(4 / 3)


def test_gpg_gradient_equals_analytic_on_toy_softmax_policy():
    """d L / d logits = -alpha * A_i * (onehot(o_it) - softmax) * m_it / (N * |o_i|)."""
    torch.manual_seed(0)
    N, T, V = 4, 3, 5
    logits = torch.randn(N, T, V, requires_grad=True)
    tokens = torch.randint(0, V, (N, T))
    mask = torch.tensor([[1.0, 1, 1], [1, 1, 0], [1, 0, 0], [1, 1, 1]])
    adv = torch.tensor([0.7, -0.2, 1.5, -2.0])
    alpha = 4 / 3
    lp = torch.log_softmax(logits, -1).gather(-1, tokens[..., None]).squeeze(-1)
    s = algos.LossSettings(aggregation="seq_mean_token_mean", num_seqs=N, num_tokens=mask.sum(), alpha=alpha)
    loss, _ = algos.gpg_loss(algos.LossInputs(lp, mask, adv), s)
    loss.backward()
    probs = torch.softmax(logits.detach(), -1)
    onehot = torch.nn.functional.one_hot(tokens, V).float()
    weight = (-alpha * adv[:, None] * mask / (N * mask.sum(1, keepdim=True)))[..., None]
    assert torch.allclose(logits.grad, weight * (onehot - probs), atol=1e-6)


def test_grpo_on_policy_gradient_equals_gpg_with_same_advantages():
    """With one update per rollout the ratio is 1 and the clip is inactive."""
    torch.manual_seed(1)
    logits = torch.randn(3, 4, 6, requires_grad=True)
    tokens = torch.randint(0, 6, (3, 4))
    mask = torch.ones(3, 4)
    adv = torch.tensor([1.0, -0.5, 0.25])
    s = algos.LossSettings(num_seqs=3, num_tokens=12)
    grads = []
    for name in ("gpg", "grpo"):
        logits.grad = None
        lp = torch.log_softmax(logits, -1).gather(-1, tokens[..., None]).squeeze(-1)
        algos.get_loss(name)(algos.LossInputs(lp, mask, adv), s)[0].backward()
        grads.append(logits.grad.clone())
    assert torch.allclose(grads[0], grads[1], atol=1e-7)


def test_clipped_surrogate_and_k3_by_hand():
    lp = torch.tensor([[0.0]])
    old = torch.tensor([[-math.log(1.5)]])  # ratio = 1.5
    mask = torch.ones(1, 1)
    s = algos.LossSettings(num_seqs=1, num_tokens=1, clip_eps=0.2)
    # A = +1: min(1.5 * 1, clip(1.5) = 1.2) = 1.2 -> loss -1.2; one clipped token (a SUM, the
    # trainer divides by the whole batch's tokens)
    loss, m = algos.grpo_loss(algos.LossInputs(lp, mask, torch.tensor([1.0]), old_logprobs=old), s)
    assert loss.item() == pytest.approx(-1.2) and m["clip_frac"].item() == 1.0
    # A = -1: min(-1.5, -1.2) = -1.5 -> loss 1.5 (unclipped)
    loss, _ = algos.grpo_loss(algos.LossInputs(lp, mask, torch.tensor([-1.0]), old_logprobs=old), s)
    assert loss.item() == pytest.approx(1.5)
    # k3: lp = -1, ref = -2 -> delta = -1 -> e^-1 + 1 - 1 = 0.36788
    assert algos.k3_kl(torch.tensor(-1.0), torch.tensor(-2.0)).item() == pytest.approx(math.exp(-1))
    # GRPO with KL: on-policy surrogate -A = -1 per token, plus 0.04 * 0.36788
    s.kl_beta = 0.04
    x = algos.LossInputs(torch.tensor([[-1.0]]), mask, torch.tensor([1.0]), ref_logprobs=torch.tensor([[-2.0]]))
    assert algos.grpo_loss(x, s)[0].item() == pytest.approx(-1 + 0.04 * math.exp(-1))


def test_loss_registry():
    assert set(algos.LOSSES) >= {"gpg", "grpo", "dr_grpo"}
    with pytest.raises(ValueError, match="valid: dr_grpo, gpg, grpo"):
        algos.get_loss("ppo")
    with pytest.raises(ValueError, match="already registered"):
        algos.register_loss("gpg")(algos.gpg_loss)


def test_each_loss_holds_its_papers_defaults():
    gpg, grpo, dr = (algos.loss_spec(n) for n in ("gpg", "grpo", "dr_grpo"))
    assert gpg.defaults["alpha_correction"] and gpg.defaults["beta_th"] == 0.4 and gpg.defaults["adv_norm"] == "none"
    assert not gpg.ratio and not gpg.kl
    assert grpo.defaults == dict(adv_norm="std", aggregation="seq_mean_token_mean", alpha_correction=False,
                                 beta_th=0.0, keep_surplus=False, kl_beta=0.04, clip_eps=0.2, updates_per_rollout=1)
    assert grpo.ratio and grpo.kl
    assert dr.defaults["aggregation"] == "token_sum_norm" and dr.defaults["adv_norm"] == "none"
    assert not dr.defaults["alpha_correction"] and dr.ratio and not dr.kl


def test_dr_grpo_by_its_defaults_differs_from_gpg():
    """Dr. GRPO's token sums / a constant weight long completions more than GPG's per-sequence means."""
    lp = torch.tensor([[-1.0, -1.0, -1.0], [-1.0, 0.0, 0.0]], requires_grad=True)
    mask = torch.tensor([[1.0, 1, 1], [1, 0, 0]])
    adv = torch.tensor([1.0, 1.0])
    # gpg (seq mean): d/d lp = -A / (N * |o_i|): row 1 tokens -1/6, row 2 token -1/2
    algos.gpg_loss(algos.LossInputs(lp, mask, adv), algos.LossSettings(num_seqs=2, num_tokens=4))[0].backward()
    assert lp.grad[0].tolist() == pytest.approx([-1 / 6] * 3) and lp.grad[1, 0].item() == pytest.approx(-0.5)
    lp.grad = None
    # dr_grpo (token sum / (N * 10)): every real token -1 / 20
    s = algos.LossSettings(aggregation="token_sum_norm", num_seqs=2, num_tokens=4, norm_const=10, clip_eps=0.2)
    algos.dr_grpo_loss(algos.LossInputs(lp, mask, adv), s)[0].backward()
    assert (lp.grad * mask).flatten().tolist() == pytest.approx([-0.05, -0.05, -0.05, -0.05, 0, 0])


def test_truncated_importance_weight_and_mismatch_by_hand():
    lp = torch.tensor([[math.log(0.5), math.log(0.2)]])
    rollout = torch.tensor([[math.log(0.25), math.log(0.4)]])
    # ratios 2 and 0.5 -> capped at 1.5: 1.5, 0.5
    assert algos.truncated_is_weight(lp, rollout, 1.5).tolist()[0] == pytest.approx([1.5, 0.5])
    # k3 = r - 1 - log r: (2 - 1 - ln 2) + (0.5 - 1 + ln 2) = 0.5 ; mask drops the second: 0.306853
    mask = torch.tensor([[1.0, 1.0]])
    assert algos.mismatch_k3(lp, rollout, mask).item() == pytest.approx(0.5, abs=1e-6)
    assert algos.mismatch_k3(lp, rollout, torch.tensor([[1.0, 0.0]])).item() == pytest.approx(1 - math.log(2), abs=1e-6)
    assert algos.mismatch_k3(rollout, rollout, mask).item() == 0.0


def test_gpg_loss_with_importance_weights():
    lp = torch.tensor([[-1.0, -2.0]])
    mask = torch.ones(1, 2)
    w = torch.tensor([[2.0, 0.5]])
    # -(w * lp * A) per token with A = 1: 2, 1 -> seq mean 1.5
    s = algos.LossSettings(num_seqs=1, num_tokens=2)
    assert algos.gpg_loss(algos.LossInputs(lp, mask, torch.tensor([1.0]), weights=w), s)[0].item() == pytest.approx(1.5)
