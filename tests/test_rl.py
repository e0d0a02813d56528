"""Graded tests for chapter 11, "R1: reasoning from reinforcement learning, and its bill" (topic ``rl``).

Expected values are worked by hand in the comments, computed here with plain Python
(``statistics.pstdev``) or checked as properties of a training run that the trusted side
evaluates itself; none is computed by the solution.
"""

import math
import statistics
from dataclasses import replace

import numpy as np
import pytest
import torch

from course import rl_task as task
from course.facts import value
from grading import check, scenario, topic_fixture

TOPIC = "rl"
POINTS = {
    "group_advantages": 4,
    "grpo_loss": 5,
    "train_grpo": 5,
    "rl_step_flops": 2,
    "rl_bill": 2,
}
rl = topic_fixture(TOPIC)

SQRT3 = math.sqrt(3)


# --- group_advantages ----------------------------------------------------------------------


@pytest.mark.exercise("group_advantages")
def test_group_advantages_hand_worked(rl):
    # Group 1, rewards 1, 0, 0, 0: mean 0.25, deviations 0.75 and −0.25 (three times);
    # population variance (0.5625 + 3 × 0.0625) / 4 = 0.1875, std √0.1875 = √3 / 4, so the
    # advantages are 0.75 / (√3/4) = √3 and −0.25 / (√3/4) = −1/√3.
    # Group 2, rewards 1, 1, 1, 0: the mirror image, 1/√3 three times and −√3.
    # (Bessel's G − 1 gives std 0.5: 1.5 and −0.5; no division: 0.75 and −0.25; the batch mean
    # 0.5 instead of each group's: ±1 everywhere; a flipped sign: −√3 first.)
    got = rl.group_advantages(np.array([[1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0]]))
    expected = np.array(
        [[SQRT3, -1 / SQRT3, -1 / SQRT3, -1 / SQRT3], [1 / SQRT3, 1 / SQRT3, 1 / SQRT3, -SQRT3]]
    )
    check.arrays_close(
        got,
        expected,
        rtol=1e-9,
        what="group_advantages([[1, 0, 0, 0], [1, 1, 1, 0]])",
        hint="(r − mean of its own row) / (population std of its own row, dividing by G)",
    )


@pytest.mark.exercise("group_advantages")
def test_group_advantages_use_each_groups_own_statistics(rl):
    # Row 1: 0.1, 0.1, 1.1, 1.1: mean 0.6, deviations ±0.5, std 0.5 → −1, −1, 1, 1.
    # Row 2: 3, 5, 3, 5: mean 4, std 1 → −1, 1, −1, 1. The batch's mean (2.3) and std would
    # give other numbers, and so would a scale left out (row 2 has std 1, row 1 does not).
    got = rl.group_advantages(np.array([[0.1, 0.1, 1.1, 1.1], [3.0, 5.0, 3.0, 5.0]]))
    check.arrays_close(
        got,
        np.array([[-1.0, -1.0, 1.0, 1.0], [-1.0, 1.0, -1.0, 1.0]]),
        rtol=1e-9,
        what="group_advantages([[0.1, 0.1, 1.1, 1.1], [3, 5, 3, 5]])",
        hint="each prompt's group is compared with itself only: mean and std per row",
    )


@pytest.mark.exercise("group_advantages")
def test_group_advantages_against_plain_python(rl):
    rng = np.random.default_rng(11)
    rewards = rng.choice([0.0, 0.1, 1.0], size=(6, 8))
    rewards[0] = 0.1  # one constant group among them
    expected = []
    for row in rewards.tolist():
        mean, std = statistics.fmean(row), statistics.pstdev(row)
        expected.append([0.0 if std == 0 else (r - mean) / std for r in row])
    check.arrays_close(
        rl.group_advantages(rewards),
        np.array(expected),
        rtol=1e-9,
        atol=1e-12,
        what="group_advantages(6 groups of 8 rewards from {0, 0.1, 1})",
    )


@pytest.mark.exercise("group_advantages")
def test_group_advantages_constant_group_is_zero_not_nan(rl):
    # All four rewards equal: std 0, no completion is better than another: advantages 0.
    got = rl.group_advantages(np.array([[0.1, 0.1, 0.1, 0.1], [1.0, 0.0, 1.0, 0.0]]))
    check.arrays_close(
        got,
        np.array([[0.0, 0.0, 0.0, 0.0], [1.0, -1.0, 1.0, -1.0]]),
        rtol=1e-12,
        what="group_advantages([[0.1, 0.1, 0.1, 0.1], [1, 0, 1, 0]])",
        hint="a group whose rewards are all equal gets advantage 0.0, never NaN",
    )


@pytest.mark.exercise("group_advantages")
def test_group_advantages_torch_in_torch_out(rl):
    got = rl.group_advantages(torch.tensor([[2.0, 0.0]]))
    check.equal(isinstance(got, torch.Tensor), True, what="type of group_advantages(torch tensor)")
    # Mean 1, deviations ±1, population std 1: +1 and −1.
    check.arrays_close(
        np.asarray(got, dtype=np.float64),
        np.array([[1.0, -1.0]]),
        rtol=1e-6,
        what="group_advantages(torch [[2, 0]])",
    )


@pytest.mark.exercise("group_advantages")
def test_group_advantages_rejects_bad_input(rl):
    with pytest.raises(ValueError):
        rl.group_advantages(np.array([[1.0], [0.0]]))  # groups of one: nothing to compare
    with pytest.raises(ValueError):
        rl.group_advantages(np.array([1.0, 0.0, 1.0]))  # not [B, G]
    with pytest.raises(ValueError):
        rl.group_advantages(np.array([[1.0, float("nan")]]))


# --- grpo_loss -----------------------------------------------------------------------------


@scenario
def loss_and_grad(rl, logp, old, ref, adv, mask, **kwargs):
    """``rl.grpo_loss`` on float64 tensors, then backward: the value and d loss / d logp."""
    logp = logp.clone().to(torch.float64).requires_grad_(True)
    loss = rl.grpo_loss(logp, old, ref, adv, mask, **kwargs)
    in_graph = isinstance(loss, torch.Tensor) and loss.requires_grad
    if in_graph:
        loss.backward()
    return {
        "in_graph": in_graph,
        "value": float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss),
        "grad": None if logp.grad is None else logp.grad.detach().clone(),
    }


def one_token(logp, old, ref, adv):
    """Tensors for one completion of one token."""
    t = lambda x: torch.tensor([[float(x)]], dtype=torch.float64)  # noqa: E731
    return t(logp), t(old), t(ref), torch.tensor([float(adv)], dtype=torch.float64), t(1.0)


@pytest.mark.exercise("grpo_loss")
@pytest.mark.parametrize(
    ("ratio", "adv", "value", "grad"),
    [
        # ρ = 1.5 > 1 + ε with A = +1: min(1.5, 1.2) = 1.2, clipped, so no gradient.
        (1.5, 1.0, -1.2, 0.0),
        # ρ = 1.5 with A = −1: min(−1.5, −1.2) = −1.5, the unclipped side: d/dlogp = −ρA = 1.5.
        (1.5, -1.0, 1.5, 1.5),
        # ρ = 0.5 < 1 − ε with A = +1: min(0.5, 0.8) = 0.5 unclipped: gradient −ρA = −0.5.
        (0.5, 1.0, -0.5, -0.5),
        # ρ = 0.5 with A = −1: min(−0.5, −0.8) = −0.8, clipped: loss 0.8, no gradient.
        (0.5, -1.0, 0.8, 0.0),
        # ρ = 1 with A = 2: 2, gradient −2 (the policy-gradient term itself).
        (1.0, 2.0, -2.0, -2.0),
    ],
)
def test_grpo_loss_clipped_ratio_hand_worked(rl, ratio, adv, value, grad):
    # One token, β = 0 (reference equal to the policy anyway), ε = 0.2; the loss is minus
    # min(ρA, clip(ρ, 0.8, 1.2)A).
    logp, old, ref, a, mask = one_token(math.log(ratio) - 1.0, -1.0, math.log(ratio) - 1.0, adv)
    got = loss_and_grad(rl, logp, old, ref, a, mask, clip_eps=0.2, beta=0.0)
    what = f"grpo_loss, one token, ratio {ratio}, advantage {adv}, eps 0.2"
    check.equal(got["in_graph"], True, what=f"{what}: a tensor in the graph of logp")
    hint = (
        "objective = min(ρ·A, clip(ρ, 1−ε, 1+ε)·A) with ρ = exp(logp − old_logp); "
        "loss = −objective; the min keeps the pessimistic side"
    )
    check.close(got["value"], value, rel=1e-9, abs_tol=1e-12, what=what, hint=hint)
    check.close(
        float(got["grad"][0, 0]),
        grad,
        rel=1e-9,
        abs_tol=1e-12,
        what=f"d/dlogp of {what}",
        hint=hint,
    )


@pytest.mark.exercise("grpo_loss")
def test_grpo_loss_kl_penalty_hand_worked(rl):
    # Advantage 0, ratio 1: only the KL term. ref_logp − logp = ln 2, so the estimator is
    # e^{ln 2} − ln 2 − 1 = 1 − ln 2 ≈ 0.30685; with β = 0.5 the objective is −0.5 (1 − ln 2)
    # and the loss +0.15343. d KL / d logp = 1 − e^{ref − logp} = −1, so d loss / d logp = −0.5.
    # (The reversed estimator e^{logp − ref} − (logp − ref) − 1 = ln 2 − 0.5 gives 0.09657.)
    logp, old, ref, a, mask = one_token(-2.0, -2.0, -2.0 + math.log(2), 0.0)
    got = loss_and_grad(rl, logp, old, ref, a, mask, clip_eps=0.2, beta=0.5)
    hint = "KL ≈ exp(ref_logp − logp) − (ref_logp − logp) − 1, subtracted from the objective × β"
    check.close(
        got["value"], 0.5 * (1 - math.log(2)), rel=1e-9, what="grpo_loss, KL only", hint=hint
    )
    check.close(float(got["grad"][0, 0]), -0.5, rel=1e-9, what="d/dlogp, KL only", hint=hint)


def two_completions(pad_logp=-3.0, pad_ref=0.0):
    """Completion 0 has 1 generated token of 3, completion 1 has 3; ratio 1, reference = policy
    on generated tokens; padding holds other (finite) numbers."""
    mask = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]], dtype=torch.float64)
    logp = torch.tensor([[-1.0, pad_logp, pad_logp], [-0.5, -0.7, -0.2]], dtype=torch.float64)
    old = logp.clone()
    ref = torch.where(mask > 0, logp, torch.full_like(logp, pad_ref))
    return logp, old, ref, torch.tensor([2.0, 1.0], dtype=torch.float64), mask


@pytest.mark.exercise("grpo_loss")
def test_grpo_loss_averages_per_completion_then_over_completions(rl):
    # Ratio 1 everywhere, β = 0: each generated token's objective is its completion's
    # advantage. Completion 0: mean over its 1 token = 2; completion 1: mean over 3 tokens = 1;
    # the mean over the 2 completions is 1.5, the loss −1.5. (All generated tokens pooled:
    # (2 + 3) / 4 = 1.25; padding counted in the mean: (2/3 + 1) / 2 = 0.833.)
    # Gradient: −A / (tokens of the completion × completions): −2 / 2 = −1 for completion 0's
    # token, −1 / 6 for each of completion 1's, 0 on padding.
    got = loss_and_grad(rl, *two_completions(), clip_eps=0.2, beta=0.0)
    hint = (
        "average the per-token objective over each completion's generated tokens (the mask), "
        "then over completions"
    )
    check.close(
        got["value"], -1.5, rel=1e-9, what="grpo_loss, completions of 1 and 3 tokens", hint=hint
    )
    check.arrays_close(
        got["grad"].numpy(),
        np.array([[-1.0, 0.0, 0.0], [-1 / 6, -1 / 6, -1 / 6]]),
        rtol=1e-9,
        atol=1e-12,
        what="d grpo_loss / d logp, completions of 1 and 3 tokens",
        hint=hint,
    )


@pytest.mark.exercise("grpo_loss")
def test_grpo_loss_ignores_padding_in_the_kl_too(rl):
    # The case above with β = 0.1: on generated tokens the reference equals the policy (KL 0),
    # so the loss stays −1.5 whatever the padding holds; a KL left unmasked would add
    # β (e^{0 − (−3)} + (−3) − 1) per padded token.
    for pad_logp, pad_ref in ((-3.0, 0.0), (-0.1, -6.0)):
        got = loss_and_grad(rl, *two_completions(pad_logp, pad_ref), clip_eps=0.2, beta=0.1)
        check.close(
            got["value"],
            -1.5,
            rel=1e-9,
            what=f"grpo_loss with beta 0.1, padding logp {pad_logp}, ref {pad_ref}",
            hint="mask the KL term as well as the ratio term: padding must never count",
        )


@pytest.mark.exercise("grpo_loss")
def test_grpo_loss_rejects_an_empty_completion(rl):
    logp, old, ref, adv, mask = two_completions()
    mask = mask.clone()
    mask[0] = 0.0
    with pytest.raises(ValueError):
        rl.grpo_loss(logp, old, ref, adv, mask)
    with pytest.raises(ValueError):
        rl.grpo_loss(logp, old, ref[:, :2], adv, mask)


# --- train_grpo ----------------------------------------------------------------------------

# A small version of the chapter's run (``task.GRADED``): sums of digits 0–2, 15 steps of
# 16 prompts × 8 completions, a few hundredths of a CPU-second. With the reference solution the
# greedy accuracy on all 9 prompts goes from 0 to 0.78 (seed 0; 0.33 to 0.89, median 0.44, over
# seeds 0 to 29), and the mean sampled reward of the last 5 steps is above that of the first 3
# by 0.28 to 0.64. A loop that lays its groups out otherwise, or draws its prompts from another
# generator, samples other completions (another seed, in effect): over the same seeds it ends
# at 0.22 to 0.89 with a rise of 0.27 to 0.54. A flipped advantage, or one that never reaches
# the loss, stays at accuracy 0 with a rise of about 0. The bounds sit between, with margin.
SMALL = task.GRADED
N_PROMPTS = len(task.all_prompts(SMALL))
MIN_ACCURACY = 0.1  # at least 1 of the 9 prompts answered right (untrained: none)
EARLY, LATE, MIN_RISE = 3, 5, 0.1  # mean reward, last LATE steps against the first EARLY


@scenario
def train_small(rl, steps=None, constant_reward=None, raising=False):
    """``train_grpo`` on a fresh policy: its report and the trained weights."""
    config = SMALL if steps is None else replace(SMALL, steps=steps)
    policy = task.make_policy(config)
    reward_fn = None
    if constant_reward is not None:
        reward_fn = lambda prompt, completion: constant_reward  # noqa: E731
    if raising:

        def reward_fn(prompt, completion):
            raise ZeroDivisionError("a broken reward")

    report = rl.train_grpo(config, policy, reward_fn)
    return {
        "reward": np.asarray(report["reward"], dtype=np.float64),
        "accuracy": np.asarray(report["accuracy"], dtype=np.float64),
        "eval_after": {k: float(v) for k, v in report["eval_after"].items()},
        "state": {name: t.detach().clone() for name, t in policy.state_dict().items()},
    }


@scenario
def train_raises_value_error(rl):
    """Whether ``train_grpo`` with a reward function that raises gives a ValueError."""
    try:
        train_small.__wrapped__(rl, steps=2, raising=True)
    except ValueError:
        return True
    return False


def evaluate(state, config=SMALL):
    """Greedy accuracy of trained weights on every prompt, computed here."""
    policy = task.make_policy(config)
    policy.load_state_dict(state)
    return task.evaluate(policy, config)


@pytest.mark.exercise("train_grpo")
def test_train_grpo_learns_the_task(rl):
    run = train_small(rl)
    check.equal(np.shape(run["reward"]), (SMALL.steps,), what="train_grpo(...)['reward'].shape")
    after = evaluate(run["state"])
    check.close(
        run["eval_after"]["accuracy"],
        after["accuracy"],
        abs_tol=1e-6,
        rel=0.0,
        what="train_grpo(...)['eval_after']['accuracy'] against the trained policy",
        hint="train the policy that was passed in; report task.evaluate(policy, config) at the end",
    )
    hint = (
        "advantages per group from the step's rewards, the clipped ratio with the sampling "
        "policy's log-probabilities held fixed, a reference that is a frozen copy of the start"
    )
    check.equal(
        bool(after["accuracy"] >= MIN_ACCURACY),
        True,
        what=f"greedy accuracy on all {N_PROMPTS} prompts after training: "
        f"{after['accuracy']:.2f} (at least {MIN_ACCURACY} expected; an untrained policy gets 0)",
        hint=hint,
    )
    early, late = float(np.mean(run["reward"][:EARLY])), float(np.mean(run["reward"][-LATE:]))
    check.equal(
        bool(late >= early + MIN_RISE),
        True,
        what=f"mean sampled reward: first {EARLY} steps {early:.2f}, last {LATE} steps "
        f"{late:.2f} (a rise of at least {MIN_RISE} expected)",
        hint=hint,
    )


@pytest.mark.exercise("train_grpo")
def test_train_grpo_is_deterministic(rl):
    # Two steps, twice: the same rewards and the same weights. (Early rewards are mostly 0 and
    # their means may agree by chance; the weights tell two different draws apart.)
    first, second = train_small(rl, steps=2), train_small(rl, steps=2)
    hint = "seed torch and a torch.Generator from config.seed; sample with that generator"
    check.arrays_equal(
        second["reward"],
        first["reward"],
        what="train_grpo(2 steps)['reward'], run twice",
        hint=hint,
    )
    for name, tensor in second["state"].items():
        check.arrays_equal(
            tensor.numpy(),
            first["state"][name].numpy(),
            what=f"policy weight {name} after train_grpo(2 steps), run twice",
            hint=hint,
        )


@pytest.mark.exercise("train_grpo")
def test_train_grpo_constant_reward_moves_nothing(rl):
    # Every completion scores 0.5: every group is constant, every advantage 0, and the policy
    # starts equal to the reference, so the loss and its gradient are 0 at every step: the
    # weights must come back as they went in, and finite.
    run = train_small(rl, steps=3, constant_reward=0.5)
    start = task.make_policy(SMALL).state_dict()
    for name, tensor in run["state"].items():
        check.arrays_close(
            tensor.numpy(),
            start[name].numpy(),
            rtol=0.0,
            atol=1e-7,
            what=f"policy weight {name} after 3 steps with a constant reward",
            hint="a constant group has advantage 0 (not NaN); the KL to the reference is 0 "
            "while the policy equals it",
        )
    check.arrays_equal(run["reward"], np.full(3, 0.5), what="reported rewards, constant 0.5")


@pytest.mark.exercise("train_grpo")
def test_train_grpo_reports_a_broken_reward_function(rl):
    check.equal(
        train_raises_value_error(rl),
        True,
        what="train_grpo with a reward function that raises ZeroDivisionError raises ValueError",
        hint="score completions with task.rewards(prompts, completions, reward_fn, ...), "
        "which turns a failing reward into a ValueError",
    )


# --- rl_step_flops -------------------------------------------------------------------------


@pytest.mark.exercise("rl_step_flops")
def test_rl_step_flops_hand_worked(rl):
    # 1e9 active parameters, 4 completions of 100 prompt + 900 output tokens: 4,000 tokens.
    # Rollout 2 × 1e9 × 4,000 = 8e12; reference forward the same, 8e12; two updates of
    # 6 × 1e9 × 4,000 = 2.4e13 each: 4.8e13. Total 6.4e13.
    got = rl.rl_step_flops(1e9, 4, 100, 900, updates=2)
    expected = {"rollout": 8e12, "reference": 8e12, "update": 4.8e13, "total": 6.4e13}
    for key, want in expected.items():
        check.close(
            float(got[key]),
            want,
            rel=1e-12,
            what=f"rl_step_flops(1e9, 4, 100, 900, updates=2)['{key}']",
            hint="2·N per token for a forward pass, 6·N for forward and backward, over "
            "prompt and output tokens of every completion; the update once per gradient step",
        )


@pytest.mark.exercise("rl_step_flops")
def test_rl_step_flops_grows_with_output_length(rl):
    # One update, 37e9 active: per completion (P + L) × (2 + 2 + 6) × 37e9 FLOPs, so going from
    # 1,000 to 8,000 output tokens with a 200-token prompt multiplies the step by 8,200 / 1,200.
    short = rl.rl_step_flops(37e9, 1024, 200, 1000)
    long = rl.rl_step_flops(37e9, 1024, 200, 8000)
    check.close(
        float(short["total"]),
        10 * 37e9 * 1024 * 1200,
        rel=1e-12,
        what="rl_step_flops(37e9, 1024, 200, 1000)['total']",
    )
    check.close(
        float(long["total"]) / float(short["total"]),
        8200 / 1200,
        rel=1e-12,
        what="ratio of totals, 8,000 against 1,000 output tokens",
    )
    with pytest.raises(ValueError):
        rl.rl_step_flops(37e9, 1024, 200, 1000, updates=0)


# --- rl_bill -------------------------------------------------------------------------------


@pytest.mark.exercise("rl_bill")
def test_rl_bill_reconstructs_the_published_figure(rl):
    # 512 GPUs × 198 h = 101,376 GPU-hours (R1-Zero); 5,000 GPU-hours of SFT data;
    # 512 × 80 = 40,960 (R1). Total 147,336 GPU-hours; at $2, $294,672.
    runs = {
        "R1-Zero": (value("r1_zero_gpus"), value("r1_zero_hours")),
        "SFT data": value("r1_sft_data_gpu_hours"),
        "R1": (value("r1_gpus"), value("r1_hours")),
    }
    got = rl.rl_bill(runs, value("v3_price_per_gpu_hour"))
    check.close(
        float(got["gpu_hours"]["R1-Zero"]),
        101_376.0,
        rel=1e-12,
        what="rl_bill(...)['gpu_hours']['R1-Zero']",
        hint="GPUs × hours",
    )
    check.close(
        float(got["gpu_hours"]["SFT data"]),
        5_000.0,
        rel=1e-12,
        what="rl_bill(...)['gpu_hours']['SFT data']",
        hint="a single number is already GPU-hours",
    )
    check.close(
        float(got["total_gpu_hours"]), 147_336.0, rel=1e-12, what="rl_bill(...)['total_gpu_hours']"
    )
    check.close(
        float(got["usd"]),
        294_672.0,
        rel=1e-12,
        what="rl_bill(...)['usd']",
        hint="GPU-hours × price per GPU-hour",
    )
    # ... which is the reported ≈$294K, within the rounding of "≈".
    check.close(
        float(got["usd"]),
        value("r1_rl_cost_reported"),
        rel=0.01,
        what="rl_bill against the reported ≈$294K",
    )


@pytest.mark.exercise("rl_bill")
def test_rl_bill_rejects_bad_input(rl):
    with pytest.raises(ValueError):
        rl.rl_bill({}, 2.0)
    with pytest.raises(ValueError):
        rl.rl_bill({"a": (512, -1.0)}, 2.0)
