"""Graded tests for chapter 5, "Mixture-of-Experts routing" (topic ``moe``).

Expected values are worked by hand in the comments, or come from an independent brute-force
router written below as a plain per-token Python loop; none is computed by the solution.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from course.moe_reference import Expert
from grading import check, scenario, topic_fixture

TOPIC = "moe"
POINTS = {
    "softmax_topk_gate": 2,
    "sigmoid_topk_gate": 2,
    "deepseek_v3_route": 5,
    "expert_load": 1,
    "MoELayer": 8,
}
moe = topic_fixture(TOPIC)


# ---------------------------------------------------------------------------------------------
# Independent references


def logit(p: float) -> float:
    """The logit whose sigmoid is ``p``: ln(p / (1 − p))."""
    return math.log(p / (1.0 - p))


def brute_force_route(hidden, weight, bias, n_group, topk_group, top_k, scale):
    """DeepSeek-V3 routing, one token at a time, in plain Python floats.

    Only the affinities ``sigmoid(hidden @ weight.T)`` ``[T, E]`` are computed with numpy;
    the selection (group scores, kept groups, top-k) and the weights are a per-token loop.
    Returns (experts, weights): arrays [T, top_k], experts sorted ascending, weights matching.
    """
    hidden, weight = np.asarray(hidden, dtype=np.float64), np.asarray(weight, dtype=np.float64)
    affinities = (1.0 / (1.0 + np.exp(-(hidden @ weight.T)))).tolist()
    bias = [float(b) for b in bias]
    n_experts = len(bias)
    size = n_experts // n_group
    all_experts, all_weights = [], []
    for scores in affinities:
        choice = [s + b for s, b in zip(scores, bias, strict=True)]
        group_score = [
            sum(sorted(choice[g * size : (g + 1) * size], reverse=True)[:2]) for g in range(n_group)
        ]
        kept = sorted(range(n_group), key=lambda g: -group_score[g])[:topk_group]
        allowed = [e for e in range(n_experts) if e // size in kept]
        chosen = sorted(sorted(allowed, key=lambda e: -choice[e])[:top_k])
        total = sum(scores[e] for e in chosen)
        all_experts.append(chosen)
        all_weights.append([scale * scores[e] / total for e in chosen])
    return np.array(all_experts, dtype=np.int64), np.array(all_weights)


def by_expert(indices, weights):
    """Rows sorted by expert number, so that any order of the k experts compares equal."""
    indices, weights = np.asarray(indices), np.asarray(weights, dtype=float)
    order = np.argsort(indices, axis=1, kind="stable")
    return np.take_along_axis(indices, order, 1), np.take_along_axis(weights, order, 1)


def random_case(seed, n_tokens, d, n_experts, bias_scale):
    rng = np.random.default_rng(seed)
    hidden = rng.normal(size=(n_tokens, d))
    weight = rng.normal(size=(n_experts, d)) / math.sqrt(d)
    bias = bias_scale * rng.normal(size=n_experts)
    return hidden, weight, bias


# The hand-worked router case: 12 experts in 3 groups of 4, keep 2 groups, top-3, scale 2.5.
# hidden is the logits themselves and weight the identity, so the affinities are exactly SCORES.
SCORES = [0.9, 0.2, 0.3, 0.3, 0.7, 0.6, 0.1, 0.1, 0.8, 0.45, 0.1, 0.1]
HAND_HIDDEN = np.array([[logit(p) for p in SCORES]])
HAND_WEIGHT = np.eye(12)
HAND = dict(n_group=3, topk_group=2, top_k=3, routed_scaling_factor=2.5)


def route_hand(moe, bias):
    return moe.deepseek_v3_route(HAND_HIDDEN, HAND_WEIGHT, np.asarray(bias, dtype=float), **HAND)


# ---------------------------------------------------------------------------------------------
# softmax_topk_gate


@pytest.mark.exercise("softmax_topk_gate")
def test_softmax_topk_gate_hand_worked(moe):
    # logits ln 1, ln 2, ln 3, ln 4: softmax is (1, 2, 3, 4) / 10. Top-2 is experts 3 and 2
    # with probabilities 0.4 and 0.3; renormalised over the two, 4/7 and 3/7.
    logits = np.log([[1.0, 2.0, 3.0, 4.0]])
    for renormalize, expected in ((False, [0.3, 0.4]), (True, [3 / 7, 4 / 7])):
        call = f"softmax_topk_gate(log([[1, 2, 3, 4]]), 2, renormalize={renormalize})"
        indices, weights = by_expert(*moe.softmax_topk_gate(logits, 2, renormalize=renormalize))
        check.arrays_equal(indices, np.array([[2, 3]]), what=f"{call} indices")
        check.arrays_close(
            weights,
            np.array([expected]),
            rtol=1e-12,
            what=f"{call} weights",
            hint="softmax over all experts, then keep the k largest; renormalize divides by their sum",
        )


@pytest.mark.exercise("softmax_topk_gate")
def test_softmax_topk_gate_switch_top1(moe):
    # Switch (k = 1, no renormalisation): the gate is the winner's probability, 0.4, not 1.
    # Renormalising a single weight always gives exactly 1.
    logits = np.log([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]])
    indices, weights = moe.softmax_topk_gate(logits, 1, renormalize=False)
    check.arrays_equal(np.asarray(indices), np.array([[3], [0]]), what="top-1 indices")
    check.arrays_close(
        weights,
        np.array([[0.4], [0.4]]),
        rtol=1e-12,
        what="softmax_topk_gate(..., 1, renormalize=False) weights",
        hint="the softmax runs over each token's row of experts (the last axis)",
    )
    _, weights = moe.softmax_topk_gate(logits, 1, renormalize=True)
    check.arrays_close(weights, np.ones((2, 1)), rtol=1e-12, what="renormalised top-1 weight")


@pytest.mark.exercise("softmax_topk_gate")
def test_softmax_topk_gate_matches_numpy_on_random_rows(moe):
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(30, 10)) * 3
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    top = np.sort(np.argsort(-probs, axis=1)[:, :3], axis=1)
    expected = np.take_along_axis(probs, top, 1)
    indices, weights = by_expert(*moe.softmax_topk_gate(logits, 3, renormalize=False))
    check.arrays_equal(indices, top, what="softmax_topk_gate(random [30, 10], 3) indices")
    check.arrays_close(
        weights, expected, rtol=1e-10, what="softmax_topk_gate(random [30, 10], 3) weights"
    )


@pytest.mark.exercise("softmax_topk_gate")
def test_softmax_topk_gate_is_stable_for_large_logits(moe):
    # Logits 1000 and 999 (e^1000 overflows): probabilities e/(1+e) = 0.7310586 and 0.2689414.
    _, weights = by_expert(
        *moe.softmax_topk_gate(np.array([[999.0, 1000.0]]), 2, renormalize=False)
    )
    check.arrays_close(
        weights,
        np.array([[0.2689414214, 0.7310585786]]),
        rtol=1e-9,
        what="softmax_topk_gate([[999, 1000]], 2) weights",
        hint="subtract each row's maximum before exponentiating (or use a library softmax)",
    )


# ---------------------------------------------------------------------------------------------
# sigmoid_topk_gate


@pytest.mark.exercise("sigmoid_topk_gate")
def test_sigmoid_topk_gate_hand_worked(moe):
    # Affinities 0.2, 0.9, 0.5, 0.6: top-2 are experts 1 (0.9) and 3 (0.6), sum 1.5.
    # Weights 2.5 × 0.9 / 1.5 = 1.5 and 2.5 × 0.6 / 1.5 = 1.0. (A softmax would give
    # 2.5 × 9 / 10.5 = 2.14 and 0.36; skipping the normalisation, 2.25 and 1.5.)
    logits = np.array([[logit(0.2), logit(0.9), logit(0.5), logit(0.6)]])
    indices, weights = by_expert(*moe.sigmoid_topk_gate(logits, 2, scaling_factor=2.5))
    check.arrays_equal(indices, np.array([[1, 3]]), what="sigmoid_topk_gate indices")
    check.arrays_close(
        weights,
        np.array([[1.5, 1.0]]),
        rtol=1e-12,
        what="sigmoid_topk_gate(logits of 0.2, 0.9, 0.5, 0.6; k=2; scaling 2.5) weights",
        hint="sigmoid each logit, keep the k largest, divide by their sum, times scaling_factor",
    )


@pytest.mark.exercise("sigmoid_topk_gate")
def test_sigmoid_topk_gate_rows_sum_to_scaling_factor(moe):
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(40, 16)) * 2
    scores = 1 / (1 + np.exp(-logits))
    top = np.sort(np.argsort(-scores, axis=1)[:, :4], axis=1)
    chosen = np.take_along_axis(scores, top, 1)
    expected = 0.5 * chosen / chosen.sum(axis=1, keepdims=True)
    indices, weights = by_expert(*moe.sigmoid_topk_gate(logits, 4, scaling_factor=0.5))
    check.arrays_equal(indices, top, what="sigmoid_topk_gate(random [40, 16], 4) indices")
    check.arrays_close(
        weights,
        expected,
        rtol=1e-10,
        what="sigmoid_topk_gate(random [40, 16], 4, scaling_factor=0.5) weights",
        hint="each row of weights sums to scaling_factor",
    )


# ---------------------------------------------------------------------------------------------
# deepseek_v3_route


@pytest.mark.exercise("deepseek_v3_route")
def test_deepseek_v3_route_hand_worked_groups(moe):
    # Groups (affinities): g0 = 0.9 0.2 0.3 0.3, g1 = 0.7 0.6 0.1 0.1, g2 = 0.8 0.45 0.1 0.1.
    # Group score = sum of the two highest: g0 1.2, g1 1.3, g2 1.25 → keep g1 and g2.
    # (By the maximum alone g0 and g2 would win; by the sum of all four, g0 and g1.)
    # Best three in g1 ∪ g2: expert 8 (0.8), 4 (0.7), 5 (0.6); sum 2.1.
    # Weights 2.5 × (0.7, 0.6, 0.8) / 2.1 = 0.8333333, 0.7142857, 0.9523810.
    indices, weights = by_expert(*route_hand(moe, np.zeros(12)))
    check.arrays_equal(
        indices,
        np.array([[4, 5, 8]]),
        what="deepseek_v3_route(hand case, zero bias) indices",
        hint="group score = sum of the group's two highest biased affinities; keep the best "
        "topk_group groups; expert 0 (0.9) is in a dropped group",
    )
    check.arrays_close(
        weights,
        np.array([[2.5 * 0.7 / 2.1, 2.5 * 0.6 / 2.1, 2.5 * 0.8 / 2.1]]),
        rtol=1e-12,
        what="deepseek_v3_route(hand case, zero bias) weights",
        hint="sigmoid affinities of the chosen experts, divided by their sum, times the scaling factor",
    )


@pytest.mark.exercise("deepseek_v3_route")
def test_deepseek_v3_route_bias_selects_but_does_not_weigh(moe):
    # Bias +0.3 on expert 9 (0.45 → 0.75 for selection): g2 now scores 0.8 + 0.75 = 1.55,
    # g1 1.3; the best three are 8 (0.8), 9 (0.75), 4 (0.7). The weights use the unbiased
    # affinities 0.7, 0.8, 0.45 (sum 1.95): 2.5 × (0.7, 0.8, 0.45) / 1.95.
    bias = np.zeros(12)
    bias[9] = 0.3
    indices, weights = by_expert(*route_hand(moe, bias))
    check.arrays_equal(
        indices,
        np.array([[4, 8, 9]]),
        what="deepseek_v3_route(hand case, bias[9]=0.3) indices",
        hint="select with scores + bias",
    )
    check.arrays_close(
        weights,
        np.array([[2.5 * 0.7 / 1.95, 2.5 * 0.8 / 1.95, 2.5 * 0.45 / 1.95]]),
        rtol=1e-12,
        what="deepseek_v3_route(hand case, bias[9]=0.3) weights",
        hint="the bias is for selection only: gate weights use the unbiased sigmoid scores",
    )


@pytest.mark.exercise("deepseek_v3_route")
def test_deepseek_v3_route_negative_bias_excludes_dropped_groups(moe):
    # A bias of −1 on every expert shifts every choice score equally, so the answer is the
    # zero-bias one: experts 4, 5, 8. Experts of the dropped group must be excluded (−inf): if
    # they were set to 0 instead, 0 would beat every kept expert's choice (all below −0.2).
    indices, weights = by_expert(*route_hand(moe, np.full(12, -1.0)))
    check.arrays_equal(
        indices,
        np.array([[4, 5, 8]]),
        what="deepseek_v3_route(hand case, bias −1 everywhere) indices",
        hint="mask the experts of dropped groups with −inf, not 0: biased scores can be negative",
    )
    check.arrays_close(
        weights,
        np.array([[2.5 * 0.7 / 2.1, 2.5 * 0.6 / 2.1, 2.5 * 0.8 / 2.1]]),
        rtol=1e-12,
        what="deepseek_v3_route(hand case, bias −1 everywhere) weights",
    )


@pytest.mark.parametrize(
    ("seed", "n_experts", "n_group", "topk_group", "top_k"),
    [(0, 16, 4, 2, 3), (1, 12, 3, 1, 2), (2, 32, 8, 4, 8), (3, 10, 5, 3, 4), (4, 8, 1, 1, 2)],
)
@pytest.mark.exercise("deepseek_v3_route")
def test_deepseek_v3_route_matches_brute_force(moe, seed, n_experts, n_group, topk_group, top_k):
    hidden, weight, bias = random_case(seed, n_tokens=25, d=6, n_experts=n_experts, bias_scale=0.3)
    config = dict(n_group=n_group, topk_group=topk_group, top_k=top_k, routed_scaling_factor=2.5)
    expected_indices, expected_weights = brute_force_route(hidden, weight, bias, *config.values())
    indices, weights = by_expert(*moe.deepseek_v3_route(hidden, weight, bias, **config))
    call = f"deepseek_v3_route(random case {seed}, E={n_experts}, {config})"
    check.arrays_equal(
        indices,
        expected_indices,
        what=f"{call} indices (sorted per row)",
        hint="sigmoid, + bias, group score = top-2 sum, keep topk_group groups (others −inf), top_k",
    )
    check.arrays_close(
        weights,
        expected_weights,
        rtol=1e-10,
        what=f"{call} weights (sorted by expert)",
        hint="unbiased sigmoid scores of the chosen experts, normalised, times the scaling factor",
    )


def v3_sized_route(moe, bias_scale=0.05, seed=11):
    # DeepSeek-V3's shape of routing: 256 experts in 8 groups, keep 4 groups, 8 experts, × 2.5.
    hidden, weight, bias = random_case(
        seed, n_tokens=64, d=16, n_experts=256, bias_scale=bias_scale
    )
    config = dict(n_group=8, topk_group=4, top_k=8, routed_scaling_factor=2.5)
    return hidden, weight, bias, config, moe.deepseek_v3_route(hidden, weight, bias, **config)


@pytest.mark.exercise("deepseek_v3_route")
def test_deepseek_v3_route_properties_at_v3_size(moe):
    *_, (indices, weights) = v3_sized_route(moe)
    indices, weights = np.asarray(indices), np.asarray(weights, dtype=float)
    check.equal(indices.shape, (64, 8), what="indices.shape for 64 tokens, top_k=8")
    check.equal(str(indices.dtype), "int64", what="indices.dtype", hint="expert indices are int64")
    distinct = np.array([len(set(row)) for row in indices])
    check.arrays_equal(
        distinct, np.full(64, 8), what="distinct experts per token", hint="k different experts"
    )
    groups = np.array([len(set(row // 32)) for row in indices])
    check.equal(
        bool(groups.max() <= 4),
        True,
        what=f"every token uses at most topk_group=4 groups (most used: {groups.max()})",
        hint="experts outside the kept groups must be excluded before the top-k",
    )
    check.arrays_close(
        weights.sum(axis=1),
        np.full(64, 2.5),
        rtol=1e-12,
        what="row sums of the gate weights",
        hint="normalise over the chosen experts, then multiply by routed_scaling_factor",
    )


@pytest.mark.exercise("deepseek_v3_route")
def test_deepseek_v3_route_large_bias_forces_an_expert(moe):
    hidden, weight, bias, config, _ = v3_sized_route(moe)
    bias[77] = 10.0
    indices, weights = moe.deepseek_v3_route(hidden, weight, bias, **config)
    indices, weights = np.asarray(indices), np.asarray(weights, dtype=float)
    hit = indices == 77
    check.arrays_equal(
        hit.sum(axis=1),
        np.ones(64, dtype=int),
        what="times expert 77 (bias +10) is chosen, per token",
        hint="selection uses scores + bias",
    )
    # Its gate weight is 2.5 × s77 / (s77 + the seven other chosen scores), all below 1, so it
    # stays under 2.5 / 2 whenever the seven others add up to more than s77; with the bias
    # wrongly included it would be about 2.5 × 10.5 / (10.5 + 7 × 0.6) ≈ 1.8.
    _, expected = by_expert(*brute_force_route(hidden, weight, bias, *config.values()))
    _, got = by_expert(indices, weights)
    check.arrays_close(
        got,
        expected,
        rtol=1e-10,
        what="gate weights with bias[77] = +10",
        hint="the bias must not enter the gate weights",
    )
    check.equal(
        bool(weights[hit].max() < 1.25),
        True,
        what=f"largest gate weight of expert 77: {weights[hit].max():.3f} (< 1.25 expected)",
        hint="the bias must not enter the gate weights",
    )


@pytest.mark.exercise("deepseek_v3_route")
def test_deepseek_v3_route_accepts_torch_and_float32(moe):
    hidden, weight, bias, config, (np_indices, _) = v3_sized_route(moe, bias_scale=0.0, seed=3)
    indices, weights = moe.deepseek_v3_route(
        torch.tensor(hidden), torch.tensor(weight), torch.tensor(bias), **config
    )
    check.equal(
        isinstance(indices, torch.Tensor) and isinstance(weights, torch.Tensor),
        True,
        what="deepseek_v3_route(torch tensors) returns torch tensors",
        hint="torch in, torch out (numpy in, numpy out)",
    )
    check.equal(indices.dtype, torch.int64, what="indices.dtype (torch)")
    check.arrays_equal(
        np.sort(indices.numpy(), axis=1),
        np.sort(np.asarray(np_indices), axis=1),
        what="torch and numpy inputs choose the same experts",
    )
    _, expected = by_expert(*brute_force_route(hidden, weight, bias, *config.values()))
    indices32, weights32 = moe.deepseek_v3_route(
        hidden.astype(np.float32), weight.astype(np.float32), bias.astype(np.float32), **config
    )
    check.arrays_close(
        by_expert(indices32, weights32)[1],
        expected,
        rtol=1e-5,
        what="deepseek_v3_route(float32 inputs) weights, within float32 rounding",
    )


# ---------------------------------------------------------------------------------------------
# expert_load


@pytest.mark.exercise("expert_load")
def test_expert_load_hand_worked(moe):
    # Three tokens, two experts each: expert 0 twice, 2 three times, 3 once; 1, 4, 5 never.
    indices = np.array([[0, 2], [2, 3], [2, 0]])
    load = moe.expert_load(indices, 6)
    check.arrays_equal(
        load,
        np.array([2, 0, 3, 1, 0, 0]),
        what="expert_load([[0, 2], [2, 3], [2, 0]], 6)",
        hint="count every column, and return one entry per expert, unused ones included",
    )
    check.equal(
        np.issubdtype(np.asarray(load).dtype, np.integer),
        True,
        what="expert_load returns integer counts",
        hint="counts of tokens, not fractions",
    )


@pytest.mark.exercise("expert_load")
def test_expert_load_sums_to_tokens_times_k(moe):
    # 100 tokens × 4 experts = 400 assignments; each expert's count is compared with a loop.
    rng = np.random.default_rng(2)
    indices = np.stack([rng.choice(10, size=4, replace=False) for _ in range(100)])
    expected = np.zeros(10, dtype=np.int64)
    for row in indices:
        for e in row:
            expected[e] += 1
    check.arrays_equal(
        moe.expert_load(torch.tensor(indices), 10),
        expected,
        what="expert_load(torch.tensor(random [100, 4]), 10)",
        hint="accept torch tensors as well as numpy arrays",
    )


# ---------------------------------------------------------------------------------------------
# MoELayer


def dense_loop(layer, x):
    """The layer's output computed token by token: every chosen expert called on one token."""
    weight = layer.gate_weight.detach().numpy()
    bias = layer.gate_bias.numpy()
    experts, gates = brute_force_route(
        x.numpy(),
        weight,
        bias,
        layer.n_group,
        layer.topk_group,
        layer.top_k,
        layer.routed_scaling_factor,
    )
    rows = []
    for t, token in enumerate(x):
        y = layer.shared(token) if layer.shared is not None else torch.zeros_like(token)
        for e, g in zip(experts[t], gates[t], strict=True):
            y = y + float(g) * layer.experts[int(e)](token)
        rows.append(y)
    return torch.stack(rows)


def small_layer(moe, n_shared=1, seed=0, bias=None):
    torch.manual_seed(seed)
    layer = moe.MoELayer(
        6, 5, 8, n_shared, n_group=4, topk_group=2, top_k=2, routed_scaling_factor=2.5
    ).double()
    if bias is None:
        bias = torch.linspace(-0.3, 0.2, 8, dtype=torch.float64)
    with torch.no_grad():
        layer.gate_bias.copy_(bias)
    return layer


# The scenarios build and run the learner's layer and return plain values (settings, weights,
# outputs); the checks rebuild the layer from those weights with course.moe_reference.Expert
# and compare against the token loop above.


@scenario
def moelayer_shapes(moe):
    """A layer with 2 shared experts: its parameter shapes and the types of its experts."""
    torch.manual_seed(0)
    layer = moe.MoELayer(6, 5, 8, 2, n_group=4, topk_group=2, top_k=2, routed_scaling_factor=2.5)
    return {
        "gate_weight": tuple(layer.gate_weight.shape),
        "gate_bias": tuple(layer.gate_bias.shape),
        "experts": len(layer.experts),
        "expert_modules": all(isinstance(e, Expert) for e in layer.experts)
        and isinstance(layer.shared, Expert),
        "shared_gate": tuple(layer.shared.gate.weight.shape),
    }


@scenario
def moelayer_run(moe, n_shared, seed, x):
    """``small_layer(moe, n_shared, seed)`` applied to ``x``: settings, weights and output."""
    layer = small_layer(moe, n_shared, seed)
    with torch.no_grad():
        output = layer(x)
    return {
        "settings": [layer.n_group, layer.topk_group, layer.top_k, layer.routed_scaling_factor],
        "shared": layer.shared is not None,
        "state": {name: tensor.detach().clone() for name, tensor in layer.state_dict().items()},
        "output": output,
    }


def rebuilt_layer(run: dict, n_experts: int, what: str):
    """A stand-in for the learner's layer with its weights in fresh ``Expert`` modules."""
    state = run["state"]

    def expert(prefix: str) -> Expert:
        names = [f"{prefix}.{part}.weight" for part in ("gate", "up", "down")]
        missing = [n for n in names if n not in state]
        if missing:
            check.fail(
                what,
                "state_dict keys " + ", ".join(names),
                sorted(state),
                hint="experts is an nn.ModuleList of Expert, shared an Expert (or None)",
            )
        module = Expert(*reversed(state[names[0]].shape)).double()
        module.load_state_dict(
            {
                part: state[n]
                for part, n in zip(("gate.weight", "up.weight", "down.weight"), names, strict=True)
            }
        )
        return module

    for name in ("gate_weight", "gate_bias"):
        if name not in state:
            check.fail(
                what,
                f"a state_dict entry {name}",
                sorted(state),
                hint="register gate_weight as a parameter and gate_bias as a buffer",
            )
    n_group, topk_group, top_k, scale = run["settings"]
    return SimpleNamespace(
        gate_weight=state["gate_weight"],
        gate_bias=state["gate_bias"],
        n_group=n_group,
        topk_group=topk_group,
        top_k=top_k,
        routed_scaling_factor=scale,
        experts=[expert(f"experts.{i}") for i in range(n_experts)],
        shared=expert("shared") if run["shared"] else None,
    )


@pytest.mark.exercise("MoELayer")
def test_moelayer_attributes(moe):
    got = moelayer_shapes(moe)
    check.equal(got["gate_weight"], (8, 6), what="gate_weight.shape")
    check.equal(got["gate_bias"], (8,), what="gate_bias.shape")
    check.equal(got["experts"], 8, what="len(experts)")
    check.equal(
        got["expert_modules"],
        True,
        what="experts and shared are course.moe_reference.Expert modules",
    )
    check.equal(
        got["shared_gate"],
        (10, 6),
        what="shared.gate.weight.shape with 2 shared experts of width 5",
        hint="the shared experts form one Expert of hidden width n_shared × d_expert",
    )


@pytest.mark.exercise("MoELayer")
def test_moelayer_equals_dense_token_loop(moe):
    x = torch.randn(17, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    run = moelayer_run(moe, 1, 0, x)
    what = "MoELayer(x) for 17 tokens vs a loop over tokens"
    layer = rebuilt_layer(run, 8, what)
    check.equal(run["settings"], [4, 2, 2, 2.5], what="[n_group, topk_group, top_k, scale]")
    check.arrays_equal(
        run["state"]["gate_bias"].numpy(),
        torch.linspace(-0.3, 0.2, 8, dtype=torch.float64).numpy(),
        what="gate_bias after copying into it",
        hint="gate_bias is a buffer of the layer (register_buffer), used by the router",
    )
    with torch.no_grad():
        expected = dense_loop(layer, x)
    check.arrays_close(
        run["output"].numpy(),
        expected.numpy(),
        rtol=1e-10,
        atol=1e-12,
        what=what,
        hint="y = shared(x) + Σ gate weight × chosen expert(x), routed by deepseek_v3_route "
        "with gate_weight and gate_bias",
    )


@pytest.mark.exercise("MoELayer")
def test_moelayer_without_shared_and_with_batch_shape(moe):
    x = torch.randn(2, 7, 6, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    run = moelayer_run(moe, 0, 3, x)
    what = "MoELayer with no shared expert, x of shape [2, 7, 6]"
    layer = rebuilt_layer(run, 8, what)
    check.equal(run["shared"], False, what="shared is None when n_shared == 0")
    with torch.no_grad():
        expected = dense_loop(layer, x.reshape(14, 6)).reshape(2, 7, 6)
    check.arrays_close(
        run["output"].numpy(),
        expected.numpy(),
        rtol=1e-10,
        atol=1e-12,
        what=what,
        hint="shared is None when n_shared == 0; flatten leading dimensions and restore them",
    )


# Training: the backward pass, against a dense reference differentiated by torch here.


@scenario
def moelayer_backward(moe, x, upstream, bias=None):
    """Forward and backward through ``small_layer``: weights, output, gradients, routing."""
    layer = small_layer(moe, 1, 5, bias)
    state = {name: tensor.detach().clone() for name, tensor in layer.state_dict().items()}
    output = layer(x)
    (output * upstream).sum().backward()
    scores = layer.last_scores
    return {
        "settings": [layer.n_group, layer.topk_group, layer.top_k, layer.routed_scaling_factor],
        "shared": layer.shared is not None,
        "state": state,
        "output": output.detach(),
        "grads": {
            name: None if p.grad is None else p.grad.detach().clone()
            for name, p in layer.named_parameters()
        },
        "bias_grad": layer.gate_bias.grad is not None or layer.gate_bias.requires_grad,
        "last_indices": None if layer.last_indices is None else layer.last_indices.clone(),
        "last_scores": None if scores is None else scores.detach().clone(),
        "scores_in_graph": scores is not None and scores.requires_grad,
    }


def reference_backward(run, x, upstream, what):
    """Output and gradients of a dense reference with the learner's weights: every expert runs
    on every token, weighted by a gate that is zero for the experts the token did not choose.

    The experts come from ``rebuilt_layer``; the selection is the brute-force router's (it
    has no gradient); the gate weights are recomputed in torch from ``gate_weight`` so that
    autograd gives their gradient.
    """
    layer = rebuilt_layer(run, 8, what)
    weight = layer.gate_weight.clone().requires_grad_(True)
    experts, _ = brute_force_route(
        x.numpy(),
        weight.detach().numpy(),
        layer.gate_bias.numpy(),
        layer.n_group,
        layer.topk_group,
        layer.top_k,
        layer.routed_scaling_factor,
    )
    scores = torch.sigmoid(x @ weight.T)  # [T, E]
    chosen = torch.zeros_like(scores)
    chosen[np.arange(len(experts))[:, None], experts] = 1.0
    chosen_scores = scores * chosen
    gates = layer.routed_scaling_factor * chosen_scores / chosen_scores.sum(-1, keepdim=True)
    every_expert = torch.stack([expert(x) for expert in layer.experts], dim=1)  # [T, E, d]
    output = layer.shared(x) + (gates[..., None] * every_expert).sum(1)
    (output * upstream).sum().backward()
    grads = {"gate_weight": weight.grad}
    for i, expert in enumerate(layer.experts):
        for part in ("gate", "up", "down"):
            grads[f"experts.{i}.{part}.weight"] = getattr(expert, part).weight.grad
    for part in ("gate", "up", "down"):
        grads[f"shared.{part}.weight"] = getattr(layer.shared, part).weight.grad
    return output.detach(), grads, experts, scores.detach()


def check_backward(run, x, upstream, what):
    expected_out, expected, experts, scores = reference_backward(run, x, upstream, what)
    check.arrays_close(
        run["output"].numpy(), expected_out.numpy(), rtol=1e-10, atol=1e-12, what=f"{what}: output"
    )
    check.equal(
        run["bias_grad"],
        False,
        what=f"{what}: gate_bias requires or received a gradient",
        hint="gate_bias is a buffer (register_buffer): it steers selection and is never trained",
    )
    check.equal(
        sorted(run["grads"]) == sorted(expected),
        True,
        what=f"{what}: the layer's parameters are {sorted(run['grads'])}",
        hint="parameters: gate_weight, the experts' and the shared expert's weights; "
        "gate_bias is a buffer",
    )
    got = run["grads"]["gate_weight"]
    check.equal(
        got is not None,
        True,
        what=f"{what}: gate_weight.grad after backward",
        hint="the gate weights must stay in the autograd graph (no .detach(), no numpy)",
    )
    check.arrays_close(
        got.numpy(),
        expected["gate_weight"].numpy(),
        rtol=1e-8,
        atol=1e-12,
        what=f"{what}: gradient of gate_weight",
        hint="gate weights are the unbiased sigmoid scores of the chosen experts, normalised and "
        "scaled; the bias must not enter them",
    )
    for name, grad in expected.items():
        if name == "gate_weight":
            continue
        want = np.zeros(run["state"][name].shape) if grad is None else grad.numpy()
        have = run["grads"][name]
        have = np.zeros(want.shape) if have is None else have.numpy()
        check.arrays_close(
            have,
            want,
            rtol=1e-8,
            atol=1e-12,
            what=f"{what}: gradient of {name}",
            hint="an expert gets gradient only from the tokens routed to it, weighted by their "
            "gate weights; an expert with no token gets none",
        )
    if run["last_indices"] is None or run["last_scores"] is None:
        check.fail(
            f"{what}: last_indices and last_scores after forward",
            "tensors",
            None,
            hint="keep the routing of the last forward pass in last_indices and last_scores",
        )
    check.arrays_equal(
        np.sort(run["last_indices"].numpy(), axis=1),
        experts,
        what=f"{what}: last_indices (sorted per row)",
        hint="last_indices is the [T, top_k] result of the router in the last forward pass",
    )
    check.arrays_close(
        run["last_scores"].numpy(),
        scores.numpy(),
        rtol=1e-10,
        what=f"{what}: last_scores",
        hint="last_scores = sigmoid(tokens @ gate_weight.T), without the bias",
    )
    check.equal(
        run["scores_in_graph"],
        True,
        what=f"{what}: last_scores is attached to the autograd graph",
        hint="an auxiliary loss on last_scores must reach gate_weight: do not detach it",
    )


@pytest.mark.exercise("MoELayer")
def test_moelayer_backward_matches_a_dense_reference(moe):
    generator = torch.Generator().manual_seed(6)
    x = torch.randn(23, 6, generator=generator, dtype=torch.float64)
    upstream = torch.randn(23, 6, generator=generator, dtype=torch.float64)
    run = moelayer_backward(moe, x, upstream)
    check_backward(run, x, upstream, "MoELayer backward, 23 tokens")


@pytest.mark.exercise("MoELayer")
def test_moelayer_backward_with_idle_experts(moe):
    # A bias of −10 on experts 0–3 (groups 0 and 1 of four groups of two) leaves every token to
    # groups 2 and 3: experts 0–3 receive nothing, so their gradients are zero (or None).
    generator = torch.Generator().manual_seed(8)
    x = torch.randn(9, 6, generator=generator, dtype=torch.float64)
    upstream = torch.randn(9, 6, generator=generator, dtype=torch.float64)
    bias = torch.tensor([-10.0] * 4 + [0.0] * 4, dtype=torch.float64)
    run = moelayer_backward(moe, x, upstream, bias)
    check_backward(run, x, upstream, "MoELayer backward, experts 0–3 biased out")


@pytest.mark.exercise("MoELayer")
def test_moelayer_backward_with_one_token(moe):
    # One token uses two experts: the other six run on nothing and get no gradient.
    generator = torch.Generator().manual_seed(9)
    x = torch.randn(1, 6, generator=generator, dtype=torch.float64)
    upstream = torch.randn(1, 6, generator=generator, dtype=torch.float64)
    run = moelayer_backward(moe, x, upstream)
    check_backward(run, x, upstream, "MoELayer backward, one token")


@scenario
def moelayer_expert_calls(moe, x):
    """The inputs of every call of every routed expert during one forward pass."""
    layer = small_layer(moe, 1, 2)
    calls = [[] for _ in layer.experts]
    for e, expert in enumerate(layer.experts):
        expert.register_forward_hook(
            lambda module, inputs, output, e=e: calls[e].append(inputs[0].detach().clone())
        )
    with torch.no_grad():
        layer(x)
    state = {name: tensor.detach().clone() for name, tensor in layer.state_dict().items()}
    settings = [layer.n_group, layer.topk_group, layer.top_k, layer.routed_scaling_factor]
    return {"calls": calls, "state": state, "settings": settings, "shared": True}


@pytest.mark.exercise("MoELayer")
def test_moelayer_runs_each_expert_once_on_its_tokens(moe):
    x = torch.randn(40, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    run = moelayer_expert_calls(moe, x)
    layer = rebuilt_layer(run, 8, "MoELayer expert calls")
    experts, _ = brute_force_route(
        x.numpy(),
        layer.gate_weight.numpy(),
        layer.gate_bias.numpy(),
        layer.n_group,
        layer.topk_group,
        layer.top_k,
        layer.routed_scaling_factor,
    )
    for e, calls in enumerate(run["calls"]):
        mine = x.numpy()[(experts == e).any(axis=1)]
        check.equal(
            len(calls) <= 1,
            True,
            what=f"calls of expert {e} in one forward pass of 40 tokens: {len(calls)}",
            hint="gather each expert's tokens and call it once on that batch, not token by token",
        )
        seen = np.concatenate([c.reshape(-1, 6).numpy() for c in calls]) if calls else mine[:0]
        order = lambda rows: rows[np.lexsort(rows.T[::-1])]  # noqa: E731
        check.equal(
            len(seen),
            len(mine),
            what=f"tokens expert {e} ran on (the router sent it {len(mine)})",
            hint="run an expert only on the tokens routed to it, not on every token",
        )
        check.arrays_close(
            order(seen),
            order(mine),
            rtol=0,
            atol=0,
            what=f"the tokens expert {e} ran on",
            hint="run an expert only on the tokens routed to it",
        )
