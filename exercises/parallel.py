"""Moving tokens: rooflines, all-to-all traffic and pipeline schedules.

Topic module ``parallel`` (chapter 8). Times are in seconds (or any one unit used throughout),
throughputs in FLOP/s, bandwidths in bytes/s, sizes in bytes. Functions are pure; bad input
raises ``ValueError`` naming the argument.

Exercises: replace each `raise NotImplementedError` with your implementation.
Check your work with `make grade` or `pytest tests/test_parallel.py`.
"""

from __future__ import annotations

import math

import numpy as np

SCHEDULES = ("1f1b", "zb1p", "dualpipe")
SIMULATED = ("1f1b", "zb1p")
MAX_MICRO_BATCHES = 4096  # the simulator's limit on micro_batches
DISPATCH_TILE = 128  # activation values per FP8 scale when tokens are dispatched
SCALE_BYTES = 4  # one FP32 scale per tile


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
    raise NotImplementedError


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
    raise NotImplementedError


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
    raise NotImplementedError


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
    raise NotImplementedError


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
    raise NotImplementedError


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
    raise NotImplementedError
