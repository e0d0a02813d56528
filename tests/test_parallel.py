"""Graded tests for chapter 8, "Moving tokens: parallelism and the H800's links" (topic ``parallel``).

The references are independent of the solution: byte and FLOP counts worked by hand in the
comments, a brute-force count of all-to-all copies with Python sets, a brute-force search for the
ridge point, schedules worked by hand, and the closed forms of DeepSeek-V3's Table 2 written out
here. Routings come from the given group-limited router (``course.parallel_reference``).
"""

import itertools
import math

import numpy as np
import pytest

from course.parallel_reference import group_limited_route, v3_placement
from grading import check, scenario, topic_fixture

TOPIC = "parallel"
POINTS = {
    "gemm_roofline": 2,
    "tokens_for_compute_bound": 2,
    "all_to_all_bytes": 4,
    "simulate_pipeline": 6,
    "pipeline_bubble": 2,
    "overlapped_step_time": 1,
}
parallel = topic_fixture(TOPIC)


# ---------------------------------------------------------------- rooflines


@pytest.mark.exercise("gemm_roofline")
def test_gemm_roofline_memory_bound_by_hand(parallel):
    # [4, 8] @ [8, 2]: 2·4·8·2 = 128 FLOPs; bytes 1·(32 + 16) + 2·8 = 64; intensity 2.
    # ridge 100 / 10 = 10; compute 1.28 s, memory 6.4 s: memory-bound, 128 / 6.4 = 20 FLOP/s.
    got = parallel.gemm_roofline(4, 8, 2, peak_flops=100.0, bandwidth=10.0, in_bytes=1, out_bytes=2)
    hint = "FLOPs 2·m·k·n; bytes: both inputs read once, the output written once"
    check.close(got["flops"], 128.0, what="flops of [4, 8] @ [8, 2]", hint=hint)
    check.close(got["bytes"], 64.0, what="bytes of [4, 8] @ [8, 2] (FP8 in, BF16 out)", hint=hint)
    check.close(got["intensity"], 2.0, what="intensity", hint="flops / bytes")
    check.close(got["ridge"], 10.0, what="ridge", hint="peak_flops / bandwidth")
    check.close(got["time"], 6.4, what="time", hint="the longer of flops/peak and bytes/bandwidth")
    check.close(got["attainable"], 20.0, what="attainable FLOP/s", hint="flops / time")
    check.equal(got["bound"], "memory", what="bound")


@pytest.mark.exercise("gemm_roofline")
def test_gemm_roofline_compute_bound_by_hand(parallel):
    # [1000, 1000] @ [1000, 1000] in BF16: 2e9 FLOPs, 2·(1e6 + 1e6) + 2·1e6 = 6e6 bytes.
    # peak 1e12, bandwidth 1e10: compute 2e-3 s > memory 6e-4 s.
    got = parallel.gemm_roofline(
        1000, 1000, 1000, peak_flops=1e12, bandwidth=1e10, in_bytes=2, out_bytes=2
    )
    check.close(got["intensity"], 2e9 / 6e6, what="intensity of a square BF16 GEMM")
    check.close(got["time"], 2e-3, what="time", hint="compute-bound: flops / peak_flops")
    check.close(
        got["attainable"], 1e12, what="attainable FLOP/s", hint="the peak when compute-bound"
    )
    check.equal(got["bound"], "compute", what="bound")


@pytest.mark.exercise("gemm_roofline")
def test_gemm_roofline_rejects_bad_sizes(parallel):
    with pytest.raises(ValueError, match="m"):
        parallel.gemm_roofline(0, 8, 8, peak_flops=1.0, bandwidth=1.0)
    with pytest.raises(ValueError, match="bandwidth"):
        parallel.gemm_roofline(8, 8, 8, peak_flops=1.0, bandwidth=-1.0)


def _intensity(m, k, n, in_bytes, out_bytes):
    return 2 * m * k * n / (in_bytes * (m * k + k * n) + out_bytes * m * n)


@pytest.mark.exercise("tokens_for_compute_bound")
@pytest.mark.parametrize(
    ("k", "n", "peak", "bandwidth", "in_bytes", "out_bytes"),
    [
        (7168, 2048, 1979e12, 3.35e12, 1, 2),  # a V3 expert's up-projection, FP8, H800
        (2048, 7168, 989e12, 3.35e12, 2, 2),  # its down-projection in BF16
        (64, 64, 100.0, 10.0, 1, 1),
        (512, 128, 3000.0, 100.0, 2, 4),
    ],
)
def test_tokens_for_compute_bound_matches_a_search(
    parallel, k, n, peak, bandwidth, in_bytes, out_bytes
):
    ridge = peak / bandwidth
    m = 1
    while _intensity(m, k, n, in_bytes, out_bytes) < ridge:
        m += 1
    got = parallel.tokens_for_compute_bound(
        k, n, peak_flops=peak, bandwidth=bandwidth, in_bytes=in_bytes, out_bytes=out_bytes
    )
    check.equal(
        got,
        m,
        what=f"tokens_for_compute_bound({k}, {n}, ridge {ridge:.4g})",
        hint="the smallest m whose intensity 2mkn / (in·(mk + kn) + out·mn) reaches the ridge",
    )


@pytest.mark.exercise("tokens_for_compute_bound")
def test_tokens_for_compute_bound_never(parallel):
    # k = n = 4, FP8 in, BF16 out: the intensity tends to 2·16 / (4 + 8) = 2.67 < ridge 10.
    got = parallel.tokens_for_compute_bound(4, 4, peak_flops=100.0, bandwidth=10.0)
    check.equal(
        isinstance(got, float) and math.isinf(got),
        True,
        what="tokens_for_compute_bound(4, 4) with ridge 10",
        hint="when even infinitely many tokens stay below the ridge, return math.inf",
    )


# ---------------------------------------------------------------- all-to-all bytes


def brute_force_copies(indices, expert_gpu, source_gpu, gpus_per_node):
    """IB and NVLink copies of one direction, token by token, with sets."""
    ib = nvlink = 0
    for row, src in zip(indices, source_gpu, strict=True):
        gpus = {int(expert_gpu[e]) for e in row}
        nodes = {g // gpus_per_node for g in gpus}
        ib += len(nodes - {src // gpus_per_node})
        for g in gpus:
            node = g // gpus_per_node
            landing = (
                src if node == src // gpus_per_node else node * gpus_per_node + src % gpus_per_node
            )
            nvlink += g != landing
    return ib, nvlink


def expected_bytes(ib, nvlink, hidden):
    fp8 = hidden + 4 * hidden // 128  # FP8 values plus one FP32 scale per 128
    bf16 = 2 * hidden
    return {
        "dispatch_ib": ib * fp8,
        "dispatch_nvlink": nvlink * fp8,
        "combine_ib": ib * bf16,
        "combine_nvlink": nvlink * bf16,
    }


def check_bytes(got, ib, nvlink, hidden, what):
    for key, value in expected_bytes(ib, nvlink, hidden).items():
        check.equal(
            int(got[key]),
            value,
            what=f"{what}: {key}",
            hint="IB once per destination node other than the token's own, NVLink once per "
            "other GPU of a node; dispatch FP8 with a 4-byte scale per 128 values, combine BF16",
        )


@pytest.mark.exercise("all_to_all_bytes")
def test_all_to_all_bytes_one_token_by_hand(parallel):
    # 2 nodes × 2 GPUs; token on GPU 0 routed to experts on GPUs 0, 1, 2, 3 (expert e on GPU e).
    # GPU 0: local, nothing. GPU 1: NVLink. Node 1: one IB copy, landing on GPU 2 (in-node index
    # 0, like GPU 0); GPU 2 needs nothing more, GPU 3 one NVLink copy. IB 1, NVLink 2.
    # FP8 copy: 256 + 4·2 = 264 bytes; BF16 copy 512 bytes.
    got = parallel.all_to_all_bytes(
        np.array([[0, 1, 2, 3]]), np.arange(4), np.array([0]), gpus_per_node=2, hidden=256
    )
    check.equal(
        int(got["dispatch_ib"]), 264, what="dispatch_ib", hint="one FP8 copy with its scales"
    )
    check.equal(int(got["dispatch_nvlink"]), 528, what="dispatch_nvlink", hint="two NVLink hops")
    check.equal(int(got["combine_ib"]), 512, what="combine_ib", hint="combine is BF16, no scales")
    check.equal(int(got["combine_nvlink"]), 1024, what="combine_nvlink")


@pytest.mark.exercise("all_to_all_bytes")
def test_all_to_all_bytes_counts_a_gpu_once(parallel):
    # Experts 0 and 1 on GPU 3 (node 1, index 1); token on GPU 1 (node 0, index 1): the copy
    # lands on GPU 3 itself. One IB copy, no NVLink, though two experts are reached.
    got = parallel.all_to_all_bytes(
        np.array([[0, 1]]), np.array([3, 3]), 1, gpus_per_node=2, hidden=128
    )
    check_bytes(got, 1, 0, 128, "two experts on one remote GPU")


@pytest.mark.exercise("all_to_all_bytes")
def test_all_to_all_bytes_on_group_limited_routing(parallel):
    # V3's layout: 256 experts on 64 GPUs in 8 nodes, 4 per GPU; router groups = nodes.
    rng = np.random.default_rng(5)
    scores = rng.random((300, 256))
    indices = group_limited_route(scores, n_group=8, topk_group=4, top_k=8)
    placement = v3_placement()
    source = rng.integers(0, 64, size=300)
    ib, nvlink = brute_force_copies(indices, placement, source, 8)
    got = parallel.all_to_all_bytes(indices, placement, source, gpus_per_node=8, hidden=7168)
    check_bytes(got, ib, nvlink, 7168, "300 tokens routed by a group-limited router")


@pytest.mark.exercise("all_to_all_bytes")
def test_all_to_all_bytes_on_a_shuffled_placement(parallel):
    # Experts scattered over 4 nodes × 4 GPUs at random, routing not limited to nodes.
    rng = np.random.default_rng(11)
    placement = rng.permutation(np.repeat(np.arange(16), 3))  # 48 experts, 3 per GPU
    indices = np.array([rng.choice(48, size=6, replace=False) for _ in range(200)])
    source = rng.integers(0, 16, size=200)
    ib, nvlink = brute_force_copies(indices, placement, source, 4)
    got = parallel.all_to_all_bytes(indices, placement, source, gpus_per_node=4, hidden=512)
    check_bytes(got, ib, nvlink, 512, "200 tokens, shuffled placement")


@pytest.mark.exercise("all_to_all_bytes")
def test_all_to_all_bytes_rejects_a_placement_missing_experts(parallel):
    with pytest.raises(ValueError, match="expert_gpu"):
        parallel.all_to_all_bytes(np.array([[0, 5]]), np.arange(4), 0, gpus_per_node=2, hidden=128)


# ---------------------------------------------------------------- pipeline simulator


def as_ops(result):
    """The result's ops as plain (stage, kind, micro_batch, start, end) tuples."""
    return [(int(s), str(k), int(j), float(a), float(b)) for s, k, j, a, b in result["ops"]]


@scenario
def schedule_in_columns(parallel, *args):
    """``simulate_pipeline(*args)`` with its ops as columns (arrays, and a list of kinds).

    Graded in isolation, this runs next to the learner's code: thousands of ops cross to the
    grader much faster as five columns than as thousands of tuples.
    """
    result = parallel.simulate_pipeline(*args)
    stage, kind, micro_batch, start, end = list(zip(*as_ops(result), strict=True)) or [()] * 5
    columns = {
        "stage": np.array(stage, dtype=np.int64),
        "kind": list(kind),
        "micro_batch": np.array(micro_batch, dtype=np.int64),
        "start": np.array(start, dtype=np.float64),
        "end": np.array(end, dtype=np.float64),
    }
    return {key: result[key] for key in ("makespan", "idle", "bubble")} | {"ops": columns}


def simulate_pipeline_via_columns(parallel, *args) -> dict:
    """``simulate_pipeline(*args)``'s result, its ops received as columns, as tuples again."""
    result = schedule_in_columns(parallel, *args)
    columns = result["ops"]
    ops = zip(
        columns["stage"].tolist(),
        columns["kind"],
        columns["micro_batch"].tolist(),
        columns["start"].tolist(),
        columns["end"].tolist(),
        strict=True,
    )
    return result | {"ops": list(ops)}


@pytest.mark.exercise("simulate_pipeline")
def test_simulate_pipeline_1f1b_by_hand(parallel):
    # P = 2, M = 2, F = 1, B = 2. Stage 0: F0 F1 B0 B1; stage 1: F0 B0 F1 B1.
    # stage 0: F0 [0,1], F1 [1,2]; stage 1: F0 [1,2], B0 [2,4], F1 [4,5], B1 [5,7];
    # stage 0: B0 waits for stage 1's B0: [4,6]; B1 waits for stage 1's B1: [7,9].
    result = parallel.simulate_pipeline("1f1b", 2, 2, 1.0, 2.0)
    expected = {
        (0, "F", 0, 0.0, 1.0), (0, "F", 1, 1.0, 2.0), (0, "B", 0, 4.0, 6.0), (0, "B", 1, 7.0, 9.0),
        (1, "F", 0, 1.0, 2.0), (1, "B", 0, 2.0, 4.0), (1, "F", 1, 4.0, 5.0), (1, "B", 1, 5.0, 7.0),
    }  # fmt: skip
    check.equal(sorted(as_ops(result)), sorted(expected), what="1F1B ops, P=2, M=2, F=1, B=2",
                hint="(stage, kind, micro-batch, start, end); each chunk starts as soon as its "
                "stage is free and its inputs are ready")  # fmt: skip
    check.close(result["makespan"], 9.0, what="makespan")
    check.arrays_close(result["idle"], np.array([3.0, 3.0]), what="idle per stage", rtol=1e-9)


@pytest.mark.exercise("simulate_pipeline")
def test_simulate_pipeline_zb1p_by_hand(parallel):
    # P = 2, M = 2, F = 1, B = 2 of which W = 1 (so the input part takes 1).
    # stage 0 order F0 F1 B0 W0 B1 W1; stage 1 (defers one W) F0 B0 F1 B1 W0 W1.
    # stage 1: F0 [1,2] B0 [2,3] F1 [3,4] B1 [4,5] W0 [5,6] W1 [6,7]
    # stage 0: F0 [0,1] F1 [1,2] B0 [3,4] W0 [4,5] B1 [5,6] W1 [6,7]. Makespan 7, idle 1 each.
    result = parallel.simulate_pipeline("zb1p", 2, 2, 1.0, 2.0, 1.0)
    expected = {
        (0, "F", 0, 0.0, 1.0), (0, "F", 1, 1.0, 2.0), (0, "B", 0, 3.0, 4.0), (0, "W", 0, 4.0, 5.0),
        (0, "B", 1, 5.0, 6.0), (0, "W", 1, 6.0, 7.0),
        (1, "F", 0, 1.0, 2.0), (1, "B", 0, 2.0, 3.0), (1, "F", 1, 3.0, 4.0), (1, "B", 1, 4.0, 5.0),
        (1, "W", 0, 5.0, 6.0), (1, "W", 1, 6.0, 7.0),
    }  # fmt: skip
    check.equal(sorted(as_ops(result)), sorted(expected), what="ZB1P ops, P=2, M=2, F=1, B=2, W=1",
                hint="B is the input-gradient part (b − w); stage s defers its first s W's")  # fmt: skip
    check.close(result["makespan"], 7.0, what="makespan")
    check.close(result["bubble"], 1.0, what="bubble", hint="makespan minus a stage's M·(F + B)")


def check_schedule_is_legal(result, schedule, pp, micro, f, b, w):
    """Every chunk once, with its duration, after its inputs, one at a time per stage."""
    ops = as_ops(result)
    kinds = ("F", "B") if schedule == "1f1b" else ("F", "B", "W")
    span = {"F": f, "B": b if schedule == "1f1b" else b - w, "W": w}
    ends = {}
    for s, k, j, start, end in ops:
        ends[(s, k, j)] = end
        if abs(end - start - span[k]) > 1e-9:
            check.equal(end - start, span[k], what=f"duration of {k}{j} on stage {s}")
    check.equal(sorted(ends), sorted(itertools.product(range(pp), kinds, range(micro))),
                what="the set of chunks", hint="every stage runs every chunk of every micro-batch once")  # fmt: skip
    starts = {(s, k, j): start for s, k, j, start, _ in ops}
    for (s, k, j), start in starts.items():
        needs = []
        if k == "F" and s > 0:
            needs = [(s - 1, "F", j)]
        if k == "B":
            needs = [(s, "F", j)] + ([(s + 1, "B", j)] if s < pp - 1 else [])
        if k == "W":
            needs = [(s, "B", j)]
        for need in needs:
            if start < ends[need] - 1e-9:
                check.equal(start, ends[need], what=f"start of {k}{j} on stage {s}",
                            hint=f"it must wait for {need[1]}{need[2]} on stage {need[0]}")  # fmt: skip
    spans_of = {s: [] for s in range(pp)}
    for s, _, _, start, end in ops:
        spans_of[s].append((start, end))
    for s in range(pp):
        for (_, end), (start, _) in itertools.pairwise(sorted(spans_of[s])):
            if start < end - 1e-9:
                check.equal(start, end, what=f"stage {s} runs two chunks at once")
    check.close(result["makespan"], max(e for *_, e in ops), what="makespan", rel=1e-9)


CASES = [
    (4, 8, 1.0, 2.0, 1.0),
    (4, 4, 2.0, 3.0, 1.0),
    (8, 16, 1.0, 2.0, 0.5),
    (6, 20, 3.0, 2.0, 1.0),
    (5, 7, 1.0, 1.0, 0.25),
    (16, 64, 1.0, 2.0, 1.0),
]


@pytest.mark.exercise("simulate_pipeline")
@pytest.mark.parametrize(("pp", "micro", "f", "b", "w"), CASES)
def test_simulate_pipeline_1f1b_bubble_is_table_2(parallel, pp, micro, f, b, w):
    result = simulate_pipeline_via_columns(parallel, "1f1b", pp, micro, f, b, w)
    check_schedule_is_legal(result, "1f1b", pp, micro, f, b, w)
    # Table 2: (PP − 1)(F + B), on every stage
    check.arrays_close(result["idle"], np.full(pp, (pp - 1) * (f + b)), rtol=1e-9,
                       what=f"1F1B idle per stage, P={pp}, M={micro}",
                       hint="each stage idles (P − 1)(F + B): the fill and the drain")  # fmt: skip


@pytest.mark.exercise("simulate_pipeline")
@pytest.mark.parametrize(("pp", "micro", "f", "b", "w"), CASES)
def test_simulate_pipeline_zb1p_bubble_is_table_2(parallel, pp, micro, f, b, w):
    result = simulate_pipeline_via_columns(parallel, "zb1p", pp, micro, f, b, w)
    check_schedule_is_legal(result, "zb1p", pp, micro, f, b, w)
    # Table 2: (PP − 1)(F + B − 2W), here with M >= P and W no longer than F or B − W
    check.close(result["bubble"], (pp - 1) * (f + b - 2 * w), rel=1e-9,
                what=f"ZB1P bubble, P={pp}, M={micro}, F={f}, B={b}, W={w}",
                hint="deferred W chunks fill the drain; B runs for b − w only")  # fmt: skip


@pytest.mark.exercise("simulate_pipeline")
def test_simulate_pipeline_fewer_micro_batches_than_stages(parallel):
    # P = 4, M = 1, F = 1, B = 2: the forward goes down in 4, the backward up in 8: makespan 12.
    result = parallel.simulate_pipeline("1f1b", 4, 1, 1.0, 2.0)
    check_schedule_is_legal(result, "1f1b", 4, 1, 1.0, 2.0, 0.0)
    check.close(result["makespan"], 12.0, what="makespan of one micro-batch through 4 stages")


@scenario
def pipeline_summary(parallel, *args):
    """``simulate_pipeline(*args)``'s bubble and number of ops; the ops list itself stays where
    the simulation ran (graded in isolation, it would cross to the grader for nothing)."""
    result = parallel.simulate_pipeline(*args)
    return {"bubble": result["bubble"], "ops": len(result["ops"])}


@pytest.mark.exercise("simulate_pipeline")
def test_simulate_pipeline_large_schedule(parallel):
    # 16 stages × 256 micro-batches: 16 · 256 · 3 = 12,288 chunks (its speed is measured in
    # benchmarks/bench_parallel.py, not here). ZB1P with F = 1, B = 2, W = 1: 15 · (3 − 2) = 15.
    result = pipeline_summary(parallel, "zb1p", 16, 256, 1.0, 2.0, 1.0)
    check.close(result["bubble"], 15.0, what="ZB1P bubble, P=16, M=256", rel=1e-9)
    check.equal(result["ops"], 16 * 256 * 3, what="number of ops (F, B and W chunks), P=16, M=256")


@pytest.mark.exercise("simulate_pipeline")
def test_simulate_pipeline_rejects_bad_input(parallel):
    with pytest.raises(ValueError, match="micro_batches"):
        parallel.simulate_pipeline("1f1b", 4, 10**6, 1.0, 2.0)
    with pytest.raises(ValueError, match="f"):
        parallel.simulate_pipeline("1f1b", 4, 8, 0.0, 2.0)
    with pytest.raises(ValueError, match="w"):
        parallel.simulate_pipeline("zb1p", 4, 8, 1.0, 2.0, 2.0)


# ---------------------------------------------------------------- closed forms


@pytest.mark.exercise("pipeline_bubble")
def test_pipeline_bubble_table_2_by_hand(parallel):
    # PP = 16, F = 1, B = 2, W = 1, F&B = 2.5:
    # 1F1B 15·3 = 45; ZB1P 15·(3 − 2) = 15; DualPipe 7·(2.5 + 2 − 3) = 10.5.
    hint = "Table 2: (PP−1)(F+B), (PP−1)(F+B−2W), (PP/2−1)(F&B+B−3W)"
    check.close(
        parallel.pipeline_bubble("1f1b", 16, 1.0, 2.0, 1.0), 45.0, what="1F1B, PP=16", hint=hint
    )
    check.close(
        parallel.pipeline_bubble("zb1p", 16, 1.0, 2.0, 1.0), 15.0, what="ZB1P, PP=16", hint=hint
    )
    check.close(parallel.pipeline_bubble("dualpipe", 16, 1.0, 2.0, 1.0, 2.5), 10.5,
                what="DualPipe, PP=16, F&B=2.5", hint=hint)  # fmt: skip


@pytest.mark.exercise("pipeline_bubble")
def test_pipeline_bubble_other_values(parallel):
    # PP = 8, F = 2, B = 3, W = 0.5: 1F1B 7·5 = 35; ZB1P 7·4 = 28;
    # DualPipe with F&B None (= F + B = 5): 3·(5 + 3 − 1.5) = 19.5.
    check.close(parallel.pipeline_bubble("1f1b", 8, 2.0, 3.0, 0.5), 35.0, what="1F1B, PP=8")
    check.close(parallel.pipeline_bubble("zb1p", 8, 2.0, 3.0, 0.5), 28.0, what="ZB1P, PP=8")
    check.close(parallel.pipeline_bubble("dualpipe", 8, 2.0, 3.0, 0.5), 19.5,
                what="DualPipe, PP=8, F&B=None", hint="without F&B, take F + B")  # fmt: skip


@pytest.mark.exercise("pipeline_bubble")
def test_pipeline_bubble_rejects_bad_input(parallel):
    with pytest.raises(ValueError, match="pp"):
        parallel.pipeline_bubble("dualpipe", 7, 1.0, 2.0, 1.0)
    with pytest.raises(ValueError, match="f"):
        parallel.pipeline_bubble("1f1b", 8, -1.0, 2.0, 1.0)
    with pytest.raises(ValueError, match="schedule"):
        parallel.pipeline_bubble("gpipe", 8, 1.0, 2.0, 1.0)


# ---------------------------------------------------------------- overlap


@pytest.mark.exercise("overlapped_step_time")
def test_overlapped_step_time_by_hand(parallel):
    # compute 1, communication 1: in sequence 2; overlapped on all SMs 1; with 20 of 132 SMs
    # for communication, compute takes 132/112 = 1.17857...; communication 2 dominates: 2.
    check.close(parallel.overlapped_step_time(1.0, 1.0, overlap=False), 2.0, what="no overlap")
    check.close(parallel.overlapped_step_time(1.0, 1.0, overlap=True), 1.0, what="overlap, 0 SMs")
    check.close(
        parallel.overlapped_step_time(1.0, 1.0, overlap=True, comm_sms=20, total_sms=132),
        132 / 112, what="overlap, 20 of 132 SMs",
        hint="computation keeps 112 SMs and slows by 132/112",
    )  # fmt: skip
    check.close(parallel.overlapped_step_time(1.0, 2.0, overlap=True, comm_sms=20), 2.0,
                what="overlap, communication longer")  # fmt: skip
    with pytest.raises(ValueError, match="comm_sms"):
        parallel.overlapped_step_time(1.0, 1.0, overlap=True, comm_sms=132)
