"""Moving tokens: rooflines, all-to-all traffic and pipeline schedules.

Topic module ``parallel`` (chapter 8). Times are in seconds (or any one unit used throughout),
throughputs in FLOP/s, bandwidths in bytes/s, sizes in bytes. Functions are pure; bad input
raises ``ValueError`` naming the argument.
"""

from __future__ import annotations

import math

import numpy as np

SCHEDULES = ("1f1b", "zb1p", "dualpipe")
SIMULATED = ("1f1b", "zb1p")
MAX_MICRO_BATCHES = 4096  # the simulator's limit on micro_batches
DISPATCH_TILE = 128  # activation values per FP8 scale when tokens are dispatched
SCALE_BYTES = 4  # one FP32 scale per tile


def _positive(name: str, x: float) -> float:
    if not isinstance(x, int | float | np.integer | np.floating) or not x > 0 or math.isinf(x):
        raise ValueError(f"{name} must be a positive finite number, got {x!r}")
    return float(x)


def gemm_roofline(
    m: int,
    k: int,
    n: int,
    *,
    peak_flops: float,
    bandwidth: float,
    in_bytes: float = 1.0,
    out_bytes: float = 2.0,
) -> dict:
    """Where the GEMM ``[m, k] @ [k, n]`` sits on a roofline.

    The GEMM does 2·m·k·n FLOPs (a multiply and an add per term) and, at the least, reads both
    inputs once (``in_bytes`` per element) and writes the ``[m, n]`` output once (``out_bytes``
    per element). On a chip that does ``peak_flops`` and moves ``bandwidth`` bytes per second
    to and from memory, it takes at least the longer of the two times.

    Args:
        m, k, n: the GEMM's sizes (m: tokens, k: input width, n: output width), positive ints.
        peak_flops: the chip's peak throughput, FLOP/s.
        bandwidth: memory bandwidth, bytes/s.
        in_bytes: bytes per input element (1 for FP8, 2 for BF16).
        out_bytes: bytes per output element.

    Returns:
        A dict with ``"flops"``, ``"bytes"``, ``"intensity"`` (FLOPs per byte), ``"ridge"``
        (peak_flops / bandwidth, the intensity above which the chip's arithmetic is the limit),
        ``"time"`` (seconds: the larger of flops / peak_flops and bytes / bandwidth),
        ``"attainable"`` (flops / time, FLOP/s) and ``"bound"`` (``"memory"`` when the memory
        time is the longer one, else ``"compute"``).
    """
    for name, size in (("m", m), ("k", k), ("n", n)):
        if not isinstance(size, int | np.integer) or size <= 0:
            raise ValueError(f"{name} must be a positive int, got {size!r}")
    peak = _positive("peak_flops", peak_flops)
    bw = _positive("bandwidth", bandwidth)
    b_in, b_out = _positive("in_bytes", in_bytes), _positive("out_bytes", out_bytes)
    flops = 2.0 * m * k * n
    moved = b_in * (m * k + k * n) + b_out * m * n
    compute_time, memory_time = flops / peak, moved / bw
    time = max(compute_time, memory_time)
    return {
        "flops": flops,
        "bytes": moved,
        "intensity": flops / moved,
        "ridge": peak / bw,
        "time": time,
        "attainable": flops / time,
        "bound": "memory" if memory_time > compute_time else "compute",
    }


def tokens_for_compute_bound(
    k: int,
    n: int,
    *,
    peak_flops: float,
    bandwidth: float,
    in_bytes: float = 1.0,
    out_bytes: float = 2.0,
) -> float:
    """The fewest tokens m for which ``[m, k] @ [k, n]`` reaches the ridge point.

    With the byte count of ``gemm_roofline``, the intensity 2mkn / (in_bytes·(mk + kn) +
    out_bytes·mn) grows with m towards 2kn / (in_bytes·k + out_bytes·n). The answer is the
    smallest integer m whose intensity is at least peak_flops / bandwidth, or ``math.inf`` when
    even the limit stays below the ridge.

    Args:
        k, n: the weight matrix's sizes, positive ints.
        peak_flops, bandwidth, in_bytes, out_bytes: as in ``gemm_roofline``.

    Returns:
        An int (as a Python int), or ``math.inf``.
    """
    for name, size in (("k", k), ("n", n)):
        if not isinstance(size, int | np.integer) or size <= 0:
            raise ValueError(f"{name} must be a positive int, got {size!r}")
    ridge = _positive("peak_flops", peak_flops) / _positive("bandwidth", bandwidth)
    b_in, b_out = _positive("in_bytes", in_bytes), _positive("out_bytes", out_bytes)
    # 2mkn >= ridge·(b_in·mk + b_in·kn + b_out·mn)  <=>  m·(2kn - ridge·(b_in·k + b_out·n)) >= ridge·b_in·kn
    slope = 2.0 * k * n - ridge * (b_in * k + b_out * n)
    if slope <= 0:
        return math.inf
    m = max(1, math.ceil(ridge * b_in * k * n / slope))
    # guard the rounding of the division: step to the exact smallest integer
    while m > 1 and 2.0 * (m - 1) * k * n >= ridge * (
        b_in * ((m - 1) * k + k * n) + b_out * (m - 1) * n
    ):
        m -= 1
    while 2.0 * m * k * n < ridge * (b_in * (m * k + k * n) + b_out * m * n):
        m += 1
    return int(m)


def all_to_all_bytes(
    indices: np.ndarray,
    expert_gpu: np.ndarray,
    source_gpu: np.ndarray | int,
    *,
    gpus_per_node: int = 8,
    hidden: int = 7168,
) -> dict:
    """Bytes one MoE layer's dispatch and combine move over InfiniBand and NVLink.

    GPU g sits on node g // gpus_per_node at in-node index g % gpus_per_node. Token t starts on
    GPU ``source_gpu[t]`` and is routed to the experts ``indices[t]``; expert e lives on GPU
    ``expert_gpu[e]``. As in DeepSeek-V3's kernels:

    - dispatch: the token crosses InfiniBand (IB) once to each *node* other than its own that
      hosts one of its experts, landing on the GPU with its own in-node index; from there (or
      from the source GPU, on its own node) it is forwarded over NVLink once to each other GPU
      of that node that hosts one of its experts. One copy per GPU, however many of the token's
      experts that GPU holds. A copy is FP8: ``hidden`` bytes plus one 4-byte (FP32) scale per
      128 values.
    - combine: the way back, copy for copy (each GPU returns one summed result, partial sums
      are added on the landing GPU before crossing IB), each copy BF16: 2·``hidden`` bytes.

    Args:
        indices: int array [T, k], the experts each token is routed to (distinct in a row).
        expert_gpu: int array [E], the GPU of every expert; every expert in ``indices`` must
            have one (0 <= index < E, GPU >= 0).
        source_gpu: int array [T] (or one int for all tokens), the GPU each token starts on.
        gpus_per_node: GPUs per node (8 for H800 nodes).
        hidden: width of a token vector, a multiple of 128.

    Returns:
        A dict of ints: ``"dispatch_ib"``, ``"dispatch_nvlink"``, ``"combine_ib"``,
        ``"combine_nvlink"`` (bytes summed over all tokens), and ``"ib_copies"``,
        ``"nvlink_copies"`` (token copies per direction).
    """
    idx = np.asarray(indices)
    if idx.ndim != 2 or idx.shape[1] == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"indices must be an int array [T, k], got shape {idx.shape}")
    place = np.asarray(expert_gpu)
    if place.ndim != 1 or not np.issubdtype(place.dtype, np.integer):
        raise ValueError("expert_gpu must be a 1-D int array: the GPU of every expert")
    if idx.size and (idx.min() < 0 or idx.max() >= len(place)):
        raise ValueError(
            f"expert_gpu places {len(place)} experts but indices uses expert {idx.max()}: "
            "the placement must cover every expert"
        )
    if idx.size and (place[idx] < 0).any():
        raise ValueError("expert_gpu has no GPU (a negative entry) for a routed expert")
    if not isinstance(gpus_per_node, int) or gpus_per_node <= 0:
        raise ValueError(f"gpus_per_node must be a positive int, got {gpus_per_node!r}")
    if not isinstance(hidden, int) or hidden <= 0 or hidden % DISPATCH_TILE:
        raise ValueError(f"hidden must be a positive multiple of {DISPATCH_TILE}, got {hidden!r}")
    src = np.broadcast_to(np.asarray(source_gpu), (idx.shape[0],))
    if not np.issubdtype(src.dtype, np.integer) or (src < 0).any():
        raise ValueError("source_gpu must hold non-negative GPU numbers, one per token")

    dest = np.sort(place[idx], axis=1)  # [T, k] GPUs, sorted so repeats are neighbours
    first = np.ones_like(dest, dtype=bool)
    first[:, 1:] = dest[:, 1:] != dest[:, :-1]  # one copy per distinct GPU
    # a copy lands on the GPU with the source's in-node index (the source itself on its own node);
    # every other GPU of that node holding one of the token's experts is one NVLink hop away
    lands_there = (dest % gpus_per_node) == (src[:, None] % gpus_per_node)
    nvlink = int((first & ~lands_there).sum())

    nodes = np.sort(dest // gpus_per_node, axis=1)
    new_node = np.ones_like(nodes, dtype=bool)
    new_node[:, 1:] = nodes[:, 1:] != nodes[:, :-1]
    ib = int((new_node & (nodes != (src // gpus_per_node)[:, None])).sum())

    fp8_copy = hidden + SCALE_BYTES * (hidden // DISPATCH_TILE)
    bf16_copy = 2 * hidden
    return {
        "dispatch_ib": ib * fp8_copy,
        "dispatch_nvlink": nvlink * fp8_copy,
        "combine_ib": ib * bf16_copy,
        "combine_nvlink": nvlink * bf16_copy,
        "ib_copies": ib,
        "nvlink_copies": nvlink,
    }


def _check_times(f: float, b: float, w: float) -> tuple[float, float, float]:
    f, b = _positive("f", f), _positive("b", b)
    if not isinstance(w, int | float | np.integer | np.floating) or not 0 <= w < b:
        raise ValueError(f"w must be at least 0 and less than b (W is part of B), got {w!r}")
    return f, b, float(w)


def _check_pp(pp: int) -> int:
    if not isinstance(pp, int | np.integer) or isinstance(pp, bool) or pp < 1:
        raise ValueError(f"pp must be a positive int (pipeline stages), got {pp!r}")
    return int(pp)


def _stage_order(schedule: str, pp: int, stage: int, micro: int) -> list[tuple[str, int]]:
    """The fixed order of one stage's operations (see ``simulate_pipeline``)."""
    warm = min(pp - stage - 1, micro)
    order = [("F", j) for j in range(warm)]
    for i in range(micro - warm):
        order += [("F", warm + i), ("B", i)]
    order += [("B", i) for i in range(micro - warm, micro)]
    if schedule == "1f1b":
        return order
    delayed, done_w, out = stage, 0, []
    for op in order:
        out.append(op)
        if op[0] == "B" and op[1] >= delayed:
            out.append(("W", done_w))
            done_w += 1
    out += [("W", j) for j in range(done_w, micro)]
    return out


def simulate_pipeline(
    schedule: str, pp: int, micro_batches: int, f: float, b: float, w: float = 0.0
) -> dict:
    """Simulate one training step of a pipeline with ``pp`` stages and ``micro_batches``.

    Every stage does, for every micro-batch j, a forward chunk F(j) of time ``f`` and a backward
    chunk of total time ``b``. Dependencies: F(j) on stage s waits for F(j) on stage s − 1; the
    backward of j on stage s waits for F(j) on s and for the backward (input part) of j on s + 1.
    Each stage runs one chunk at a time, in a fixed order, each as soon as it may; there is no
    communication time.

    - ``"1f1b"``: the backward is one chunk B(j) of time ``b``. Stage s (0 = first) runs
      min(pp − s − 1, M) forwards, then alternates F(next), B(oldest) until the forwards are
      done, then the remaining B's.
    - ``"zb1p"`` (zero bubble, ZB-H1): the backward is split into B(j), the input gradient, of
      time ``b − w``, and W(j), the weight gradient, of time ``w``; W(j) waits for B(j) on the
      same stage and nobody waits for W. The order is 1F1B's (B now the input part only), and stage s
      runs W(0), W(1), ... one right after each of its B(j) with j >= s (so its first s W's are
      deferred), the rest at the end.

    Args:
        schedule: ``"1f1b"`` or ``"zb1p"``.
        pp: stages, a positive int.
        micro_batches: M, from 1 to ``MAX_MICRO_BATCHES``.
        f, b, w: chunk times, f > 0, b > 0, 0 <= w < b (w is ignored by ``"1f1b"``).

    Returns:
        A dict with ``"makespan"`` (time from the first chunk's start to the last one's end),
        ``"busy"`` and ``"idle"`` (float arrays [pp]: each stage's computing time, and makespan
        minus it), ``"bubble"`` (the largest idle time) and ``"ops"`` (a list of tuples
        ``(stage, kind, micro_batch, start, end)``, kind ``"F"``, ``"B"`` or ``"W"``).
    """
    if schedule not in SIMULATED:
        raise ValueError(f"schedule must be one of {SIMULATED} for the simulator, got {schedule!r}")
    pp = _check_pp(pp)
    if (
        not isinstance(micro_batches, int | np.integer)
        or not 1 <= micro_batches <= MAX_MICRO_BATCHES
    ):
        raise ValueError(
            f"micro_batches must be an int from 1 to {MAX_MICRO_BATCHES}, got {micro_batches!r}"
        )
    f, b, w = _check_times(f, b, w)
    if schedule == "1f1b":
        w = 0.0
    duration = {"F": f, "B": b - w, "W": w}
    orders = [_stage_order(schedule, pp, s, int(micro_batches)) for s in range(pp)]
    end: dict[tuple[int, str, int], float] = {}
    position, free = [0] * pp, [0.0] * pp
    ops: list[tuple[int, str, int, float, float]] = []
    remaining = sum(len(o) for o in orders)
    while remaining:
        progressed = False
        for s in range(pp):
            order = orders[s]
            while position[s] < len(order):
                kind, j = order[position[s]]
                if kind == "F":
                    needs = [(s - 1, "F", j)] if s > 0 else []
                elif kind == "B":
                    needs = [(s, "F", j)] + ([(s + 1, "B", j)] if s < pp - 1 else [])
                else:
                    needs = [(s, "B", j)]
                if any(need not in end for need in needs):
                    break
                start = max([free[s]] + [end[need] for need in needs])
                finish = start + duration[kind]
                end[(s, kind, j)] = free[s] = finish
                ops.append((s, kind, j, start, finish))
                position[s] += 1
                remaining -= 1
                progressed = True
        if not progressed:  # cannot happen with the orders above
            raise RuntimeError("the stage orders deadlock")
    makespan = max(free)
    busy = np.full(pp, micro_batches * (f + b))
    idle = makespan - busy
    return {
        "makespan": makespan,
        "busy": busy,
        "idle": idle,
        "bubble": float(idle.max()),
        "ops": ops,
    }


def pipeline_bubble(
    schedule: str, pp: int, f: float, b: float, w: float, f_and_b: float | None = None
) -> float:
    """The pipeline bubble of a schedule, as in DeepSeek-V3's Table 2 (same number of stages).

    - ``"1f1b"``: (pp − 1)(F + B)
    - ``"zb1p"``: (pp − 1)(F + B − 2W)
    - ``"dualpipe"``: (pp/2 − 1)(F&B + B − 3W), pp even

    F is a forward chunk's time, B a full backward chunk's, W the backward-for-weights part of
    B, F&B the time of a forward and a backward chunk run together with their computation and
    communication overlapped (``None``: F + B, no gain from the overlap).

    Args:
        schedule: ``"1f1b"``, ``"zb1p"`` or ``"dualpipe"``.
        pp: pipeline stages, a positive int (even for DualPipe).
        f, b: positive times; w: 0 <= w < b; f_and_b: positive, or None.

    Returns:
        The bubble, in the unit of the times.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    pp = _check_pp(pp)
    f, b, w = _check_times(f, b, w)
    if schedule == "1f1b":
        return (pp - 1) * (f + b)
    if schedule == "zb1p":
        return (pp - 1) * (f + b - 2 * w)
    if pp % 2:
        raise ValueError(f"pp must be even for DualPipe (two directions), got {pp}")
    overlapped = f + b if f_and_b is None else _positive("f_and_b", f_and_b)
    return (pp // 2 - 1) * (overlapped + b - 3 * w)


def overlapped_step_time(
    compute: float,
    communication: float,
    *,
    overlap: bool,
    comm_sms: int = 0,
    total_sms: int = 132,
) -> float:
    """Time of a stretch of work that computes for ``compute`` and communicates for
    ``communication`` (both measured with nothing else running).

    Without overlap the two run one after the other on all SMs. With overlap they run at the
    same time: communication takes ``comm_sms`` of the GPU's ``total_sms`` streaming
    multiprocessors, so computation, left with the rest, runs ``total_sms / (total_sms −
    comm_sms)`` times slower; the stretch lasts as long as the slower of the two.

    Args:
        compute: computation time on the whole GPU, > 0.
        communication: communication time, >= 0.
        overlap: whether the two overlap.
        comm_sms: SMs reserved for communication when overlapping, 0 <= comm_sms < total_sms.
        total_sms: SMs on the GPU (132 on an H800).

    Returns:
        The elapsed time, in the unit of the inputs.
    """
    compute = _positive("compute", compute)
    if not isinstance(communication, int | float | np.integer | np.floating) or not (
        0 <= communication < math.inf
    ):
        raise ValueError(f"communication must be a finite time >= 0, got {communication!r}")
    if not isinstance(total_sms, int) or total_sms <= 0:
        raise ValueError(f"total_sms must be a positive int, got {total_sms!r}")
    if not isinstance(comm_sms, int) or not 0 <= comm_sms < total_sms:
        raise ValueError(f"comm_sms must be an int from 0 to total_sms - 1, got {comm_sms!r}")
    if not overlap:
        return compute + communication
    return max(compute * total_sms / (total_sms - comm_sms), float(communication))
