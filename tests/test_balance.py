"""Graded tests for chapter 6, "Keeping experts busy" (topic ``balance``).

Expected values are worked by hand in the comments, counted by brute force with plain loops,
or checked as properties (balanced and collapsed routers); none is computed by the solution.
"""

import numpy as np
import pytest

from grading import check, topic_fixture

TOPIC = "balance"
POINTS = {
    "expert_fractions": 2,
    "mean_probabilities": 1,
    "switch_loss": 2,
    "sequence_balance_loss": 3,
    "bias_update": 3,
    "max_load_ratio": 1,
}
balance = topic_fixture(TOPIC)

# Four tokens, top-2 over four experts, each expert chosen exactly twice: a balanced router.
BALANCED_TOP2 = np.array([[0, 1], [2, 3], [0, 2], [1, 3]])


# --- expert_fractions ----------------------------------------------------------------------


@pytest.mark.exercise("expert_fractions")
def test_expert_fractions_hand_worked(balance):
    # Three tokens, top-2, four experts. Expert 0 is in all 3 rows, expert 1 in 2, expert 2 in
    # 1, expert 3 in none: counts 3, 2, 1, 0 out of T·k = 6 choices.
    chosen = np.array([[0, 1], [0, 2], [1, 0]])
    check.arrays_close(
        balance.expert_fractions(chosen, 4),
        np.array([3 / 6, 2 / 6, 1 / 6, 0.0]),
        rtol=1e-12,
        what="expert_fractions([[0, 1], [0, 2], [1, 0]], 4)",
        hint="count each expert's choices and divide by T·k = 6, not by T = 3; "
        "keep a 0 for an expert nobody chose",
    )


@pytest.mark.exercise("expert_fractions")
def test_expert_fractions_counts_idle_experts(balance):
    # Only expert 1 of 5 is ever chosen (top-1): shares 0, 1, 0, 0, 0, length N = 5.
    check.arrays_close(
        balance.expert_fractions(np.array([[1], [1], [1]]), 5),
        np.array([0.0, 1.0, 0.0, 0.0, 0.0]),
        rtol=1e-12,
        what="expert_fractions([[1], [1], [1]], 5)",
        hint="return one share per expert, N of them, including the idle ones",
    )


@pytest.mark.exercise("expert_fractions")
def test_expert_fractions_match_a_loop_and_sum_to_one(balance):
    rng = np.random.default_rng(6)
    n_tokens, k, n_experts = 50, 3, 7
    chosen = np.array([rng.choice(n_experts, size=k, replace=False) for _ in range(n_tokens)])
    expected = np.zeros(n_experts)
    for row in chosen:  # brute force: one token at a time, one choice at a time
        for expert in row:
            expected[expert] += 1 / (n_tokens * k)
    got = balance.expert_fractions(chosen, n_experts)
    check.arrays_close(
        got,
        expected,
        rtol=1e-12,
        what="expert_fractions(50 random top-3 rows, 7)",
        hint="fᵢ = choices of expert i / (T · k)",
    )
    check.close(float(np.sum(got)), 1.0, what="sum of expert_fractions(...)", rel=1e-12)


# --- mean_probabilities --------------------------------------------------------------------


@pytest.mark.exercise("mean_probabilities")
def test_mean_probabilities_hand_worked(balance):
    # Column means: (0.5 + 0.1) / 2 = 0.3, (0.5 + 0.2) / 2 = 0.35, (0.0 + 0.7) / 2 = 0.35.
    probs = np.array([[0.5, 0.5, 0.0], [0.1, 0.2, 0.7]])
    check.arrays_close(
        balance.mean_probabilities(probs),
        np.array([0.3, 0.35, 0.35]),
        rtol=1e-12,
        what="mean_probabilities([[0.5, 0.5, 0.0], [0.1, 0.2, 0.7]])",
        hint="average over the tokens (axis 0), one value per expert; not a sum",
    )


@pytest.mark.exercise("mean_probabilities")
def test_mean_probabilities_of_a_softmax_sum_to_one(balance):
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(40, 6))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    got = balance.mean_probabilities(probs)
    expected = np.array([sum(row[i] for row in probs) / 40 for i in range(6)])  # a plain loop
    check.arrays_close(got, expected, rtol=1e-12, what="mean_probabilities(40×6 softmax)")
    check.close(float(np.sum(got)), 1.0, what="sum of mean_probabilities(...)", rel=1e-12)


# --- switch_loss ---------------------------------------------------------------------------


@pytest.mark.exercise("switch_loss")
def test_switch_loss_balanced_top1_is_one(balance):
    # Token t goes to expert t and puts 0.7 on it, 0.1 on each other: fᵢ = 1/4 and
    # Pᵢ = (0.7 + 3 × 0.1) / 4 = 1/4, so N · Σ fᵢ Pᵢ = 4 × 4 × 1/16 = 1.
    probs = np.full((4, 4), 0.1) + 0.6 * np.eye(4)
    check.close(
        balance.switch_loss(probs, np.array([[0], [1], [2], [3]])),
        1.0,
        rel=1e-12,
        what="switch_loss(balanced top-1 router, N = 4)",
        hint="N · Σ fᵢ · Pᵢ with fᵢ a share (not a count) and the factor N",
    )


@pytest.mark.exercise("switch_loss")
def test_switch_loss_balanced_top2_is_one(balance):
    # Each expert is chosen 2 of T·k = 8 times: fᵢ = 1/4; uniform probs: Pᵢ = 1/4; loss 1.
    check.close(
        balance.switch_loss(np.full((4, 4), 0.25), BALANCED_TOP2),
        1.0,
        rel=1e-12,
        what="switch_loss(uniform probs, balanced top-2 choices)",
        hint="divide the counts by T·k, not T: then the balanced value is 1 for any k",
    )


@pytest.mark.exercise("switch_loss")
def test_switch_loss_collapsed_router_is_n(balance):
    # Every token to expert 0 with probability 1: f₀ = P₀ = 1, loss = N · 1 · 1 = 6.
    probs = np.zeros((5, 6))
    probs[:, 0] = 1.0
    check.close(
        balance.switch_loss(probs, np.zeros((5, 1), dtype=int)),
        6.0,
        rel=1e-12,
        what="switch_loss(every token to expert 0, N = 6)",
        hint="the collapsed router gives the largest value, N",
    )


@pytest.mark.exercise("switch_loss")
def test_switch_loss_hand_worked(balance):
    # N = 2, top-1, choices 0, 0, 0, 1: f = (0.75, 0.25).
    # P₀ = (0.9 + 0.8 + 0.6 + 0.3) / 4 = 0.65, P₁ = 0.35.
    # 2 × (0.75 × 0.65 + 0.25 × 0.35) = 2 × (0.4875 + 0.0875) = 1.15.
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.3, 0.7]])
    check.close(
        balance.switch_loss(probs, np.array([[0], [0], [0], [1]])),
        1.15,
        rel=1e-12,
        what="switch_loss(4 tokens, N = 2, choices 0, 0, 0, 1)",
        hint="fᵢ comes from the choices, Pᵢ from the probabilities: both are needed",
    )


# --- sequence_balance_loss -----------------------------------------------------------------


@pytest.mark.exercise("sequence_balance_loss")
def test_sequence_balance_loss_balanced_is_alpha(balance):
    # Each expert chosen twice: fᵢ = N / (K T) × 2 = 4 / 8 × 2 = 1. Equal sigmoid scores
    # normalise to s' = 1/4, so Pᵢ = 1/4 and Σ fᵢ Pᵢ = 1: the loss is α = 0.0001 (the default).
    check.close(
        balance.sequence_balance_loss(np.full((4, 4), 0.5), BALANCED_TOP2),
        1e-4,
        rel=1e-12,
        what="sequence_balance_loss(equal scores, balanced top-2), default alpha",
        hint="fᵢ carries the factor N/(K·T), so a balanced fᵢ is 1; normalise each token's "
        "scores to sum to 1; the default α is 0.0001",
    )


@pytest.mark.exercise("sequence_balance_loss")
def test_sequence_balance_loss_hand_worked(balance):
    # T = 2, N = 4, K = 2. Scores normalised per token: row sums 2.0 and 0.8, so
    # s' = [0.4, 0.2, 0.2, 0.2] and [0.125, 0.125, 0.125, 0.625]; P = [0.2625, 0.1625,
    # 0.1625, 0.4125]. Choices {0, 1}, {3, 0}: counts 2, 1, 0, 1 and N / (K T) = 1, so
    # f = [2, 1, 0, 1]. Σ fᵢ Pᵢ = 0.525 + 0.1625 + 0 + 0.4125 = 1.1; × α = 0.01 → 0.011.
    scores = np.array([[0.8, 0.4, 0.4, 0.4], [0.1, 0.1, 0.1, 0.5]])
    check.close(
        balance.sequence_balance_loss(scores, np.array([[0, 1], [3, 0]]), alpha=0.01),
        0.011,
        rel=1e-12,
        what="sequence_balance_loss(2 tokens, N = 4, K = 2, alpha=0.01)",
        hint="s'ₜᵢ = sₜᵢ / Σⱼ sₜⱼ per token, Pᵢ its mean over tokens, fᵢ = N/(K·T) × count",
    )


@pytest.mark.exercise("sequence_balance_loss")
def test_sequence_balance_loss_collapsed_is_alpha_n_over_k(balance):
    # All 6 tokens choose experts 0 and 1 (N = 8, K = 2) and put all the score there:
    # f₀ = f₁ = 8 / (2 × 6) × 6 = 4 = N/K, P₀ = P₁ = 0.5: Σ fᵢ Pᵢ = 4; × α = 0.5 → 2.0.
    scores = np.zeros((6, 8))
    scores[:, :2] = 0.9
    chosen = np.tile([0, 1], (6, 1))
    check.close(
        balance.sequence_balance_loss(scores, chosen, alpha=0.5),
        2.0,
        rel=1e-12,
        what="sequence_balance_loss(every token to experts 0 and 1, N = 8, K = 2, alpha=0.5)",
        hint="the worst case is α · N / K",
    )


@pytest.mark.exercise("sequence_balance_loss")
def test_sequence_balance_loss_ignores_the_scale_of_the_scores(balance):
    # Normalising per token makes the loss blind to a common factor on the scores. Brute force:
    # the same loss, worked one token at a time in plain Python, for scores and 3 × scores.
    rng = np.random.default_rng(8)
    n_tokens, n_experts, k = 12, 6, 2
    scores = 1 / (1 + np.exp(-rng.normal(size=(n_tokens, n_experts))))
    chosen = np.argsort(-scores, axis=1)[:, :k]
    f = [n_experts / (k * n_tokens) * sum(i in row for row in chosen) for i in range(n_experts)]
    p = [sum(s[i] / sum(s) for s in scores) / n_tokens for i in range(n_experts)]
    expected = 1e-3 * sum(fi * pi for fi, pi in zip(f, p, strict=True))
    for factor in (1.0, 3.0):
        check.close(
            balance.sequence_balance_loss(factor * scores, chosen, alpha=1e-3),
            expected,
            rel=1e-9,
            what=f"sequence_balance_loss({factor} × sigmoid scores, 12 tokens, N = 6, K = 2)",
            hint="normalise each token's scores by their sum before averaging over tokens",
        )


# --- bias_update ---------------------------------------------------------------------------


@pytest.mark.exercise("bias_update")
def test_bias_update_moves_each_expert_the_right_way(balance):
    # Mean load 20. Expert 0 (10) is under-loaded: +γ. Expert 1 (30) is over-loaded: −γ.
    # Experts 2 and 3 (20) sit exactly on the mean: unchanged. γ = 0.125 keeps every sum exact:
    # 0.5 + 0.125 = 0.625, −0.25 − 0.125 = −0.375.
    bias = np.array([0.5, -0.25, 0.0, 1.0])
    check.arrays_equal(
        balance.bias_update(bias, np.array([10, 30, 20, 20]), 0.125),
        np.array([0.625, -0.375, 0.0, 1.0]),
        what="bias_update([0.5, -0.25, 0, 1], load=[10, 30, 20, 20], gamma=0.125)",
        hint="bᵢ + γ · sign(mean load − loadᵢ): raise the idle, lower the busy, "
        "and leave an expert with exactly the mean load alone",
    )


@pytest.mark.exercise("bias_update")
def test_bias_update_compares_with_the_mean_load(balance):
    # Loads 0, 10, 20, 50: mean 80 / 4 = 20 (the median would be 15). Signs of 20 − load:
    # +, +, 0, −. With γ = 0.5 from zero bias: 0.5, 0.5, 0.0, −0.5.
    check.arrays_equal(
        balance.bias_update(np.zeros(4), np.array([0, 10, 20, 50]), 0.5),
        np.array([0.5, 0.5, 0.0, -0.5]),
        what="bias_update([0, 0, 0, 0], load=[0, 10, 20, 50], gamma=0.5)",
        hint="compare each load with the mean load over the experts",
    )


@pytest.mark.exercise("bias_update")
def test_bias_update_steps_by_gamma_whatever_the_gap(balance):
    # The step is γ times a sign, not proportional to the gap: loads 0 and 1000 around a mean
    # of 500 move by exactly ±0.25.
    check.arrays_equal(
        balance.bias_update(np.zeros(2), np.array([0.0, 1000.0]), 0.25),
        np.array([0.25, -0.25]),
        what="bias_update([0, 0], load=[0, 1000], gamma=0.25)",
        hint="use the sign of (mean − load): every step has size γ",
    )


@pytest.mark.exercise("bias_update")
def test_bias_update_leaves_its_input_alone(balance):
    bias = np.array([0.5, -0.5, 0.0])
    before = bias.copy()
    balance.bias_update(bias, np.array([1.0, 2.0, 3.0]), 0.5)
    check.arrays_equal(
        bias,
        before,
        what="the bias array after bias_update(bias, ...)",
        hint="return a new array; do not modify the argument in place",
    )


@pytest.mark.exercise("bias_update")
def test_bias_update_balances_a_skewed_router(balance):
    # A property: 300 steps of the update on a fixed, skewed top-1 router must even out the
    # load. Token affinities favour low-numbered experts; the choice is argmax(score + bias).
    rng = np.random.default_rng(9)
    n_experts = 4
    scores = rng.uniform(size=(400, n_experts)) + np.linspace(0.3, 0.0, n_experts)
    bias = np.zeros(n_experts)
    for _ in range(300):
        load = np.bincount(np.argmax(scores + bias, axis=1), minlength=n_experts)
        bias = balance.bias_update(bias, load, 0.01)
    load = np.bincount(np.argmax(scores + bias, axis=1), minlength=n_experts)
    # Untouched, expert 0 takes over 40% of 400 tokens; balanced would be 100 each.
    check.close(
        float(load.max() / load.mean()),
        1.0,
        abs_tol=0.15,
        rel=0.0,
        what="max/mean load after 300 bias updates (gamma=0.01, 4 experts)",
        hint="the update must raise the bias of under-loaded experts: check the sign",
    )


# --- max_load_ratio ------------------------------------------------------------------------


@pytest.mark.exercise("max_load_ratio")
def test_max_load_ratio_hand_worked(balance):
    # Loads 0, 0, 10, 30: mean 10, max 30 → 3.0 (the median, 5, would give 6; the sum 0.75).
    check.close(
        balance.max_load_ratio(np.array([0, 0, 10, 30])),
        3.0,
        rel=1e-12,
        what="max_load_ratio([0, 0, 10, 30])",
        hint="the largest load divided by the mean load",
    )


@pytest.mark.exercise("max_load_ratio")
def test_max_load_ratio_balanced_and_collapsed(balance):
    check.close(
        balance.max_load_ratio(np.full(8, 12.0)),
        1.0,
        rel=1e-12,
        what="max_load_ratio(eight experts with 12 tokens each)",
        hint="a balanced router gives 1",
    )
    check.close(
        balance.max_load_ratio(np.array([0, 0, 64, 0, 0, 0, 0, 0])),
        8.0,
        rel=1e-12,
        what="max_load_ratio(one expert of 8 takes all 64 tokens)",
        hint="a collapsed router gives N",
    )
