"""Plausible wrong answers to the ``parallel`` exercises (see checks/mutants/__init__.py)."""

from checks.mutants import Mutant

_ROOF = "_right_roof = gemm_roofline\n\ndef gemm_roofline(m, k, n, *, peak_flops, bandwidth, in_bytes=1.0, out_bytes=2.0):\n"
_TOK = "_right_tokens = tokens_for_compute_bound\n\ndef tokens_for_compute_bound(k, n, *, peak_flops, bandwidth, in_bytes=1.0, out_bytes=2.0):\n"
_A2A = (
    "_right_a2a = all_to_all_bytes\n\n"
    "def all_to_all_bytes(indices, expert_gpu, source_gpu, *, gpus_per_node=8, hidden=7168):\n"
    "    right = _right_a2a(indices, expert_gpu, source_gpu, gpus_per_node=gpus_per_node, hidden=hidden)\n"
    "    fp8 = hidden + 4 * (hidden // 128)\n"
    "    ib, nv = right['ib_copies'], right['nvlink_copies']\n"
)
_A2A_OUT = (
    "    return {'dispatch_ib': ib * d, 'dispatch_nvlink': nv * d, 'combine_ib': ib * c,\n"
    "            'combine_nvlink': nv * c, 'ib_copies': ib, 'nvlink_copies': nv}\n"
)
_SIM = "_right_sim = simulate_pipeline\n\ndef simulate_pipeline(schedule, pp, micro_batches, f, b, w=0.0):\n"
_BUB = (
    "_right_bubble = pipeline_bubble\n\ndef pipeline_bubble(schedule, pp, f, b, w, f_and_b=None):\n"
)

MUTANTS = [
    Mutant("parallel", "gemm_roofline", "m·k·n FLOPs instead of 2·m·k·n",
           _ROOF + "    r = _right_roof(m, k, n, peak_flops=peak_flops, bandwidth=bandwidth, in_bytes=in_bytes, out_bytes=out_bytes)\n"
           "    f = r['flops'] / 2\n    t = max(f / peak_flops, r['bytes'] / bandwidth)\n"
           "    return dict(r, flops=f, intensity=f / r['bytes'], time=t, attainable=f / t)\n"),
    Mutant("parallel", "gemm_roofline", "weights not counted in the bytes",
           _ROOF + "    f = 2.0 * m * k * n\n    by = in_bytes * m * k + out_bytes * m * n\n"
           "    t = max(f / peak_flops, by / bandwidth)\n"
           "    return {'flops': f, 'bytes': by, 'intensity': f / by, 'ridge': peak_flops / bandwidth, 'time': t,\n"
           "            'attainable': f / t, 'bound': 'memory' if by / bandwidth > f / peak_flops else 'compute'}\n"),
    Mutant("parallel", "gemm_roofline", "time is the sum of compute and memory time",
           _ROOF + "    r = _right_roof(m, k, n, peak_flops=peak_flops, bandwidth=bandwidth, in_bytes=in_bytes, out_bytes=out_bytes)\n"
           "    t = r['flops'] / peak_flops + r['bytes'] / bandwidth\n"
           "    return dict(r, time=t, attainable=r['flops'] / t)\n"),
    Mutant("parallel", "tokens_for_compute_bound", "output bytes forgotten",
           _TOK + "    return _right_tokens(k, n, peak_flops=peak_flops, bandwidth=bandwidth, in_bytes=in_bytes, out_bytes=1e-12)\n"),
    Mutant("parallel", "tokens_for_compute_bound", "only the weight bytes: m = ridge · in_bytes / 2",
           _TOK + "    import math\n    return math.ceil(peak_flops / bandwidth * in_bytes / 2)\n"),
    Mutant("parallel", "tokens_for_compute_bound", "rounded down instead of up",
           _TOK + "    m = _right_tokens(k, n, peak_flops=peak_flops, bandwidth=bandwidth, in_bytes=in_bytes, out_bytes=out_bytes)\n"
           "    return m if m == float('inf') or m == 1 else m - 1\n"),
    Mutant("parallel", "all_to_all_bytes", "IB copies counted per expert, not per node",
           "_right_a2a = all_to_all_bytes\n\n"
           "def all_to_all_bytes(indices, expert_gpu, source_gpu, *, gpus_per_node=8, hidden=7168):\n"
           "    import numpy as np\n"
           "    idx, place = np.asarray(indices), np.asarray(expert_gpu)\n"
           "    src = np.broadcast_to(np.asarray(source_gpu), (idx.shape[0],))\n"
           "    right = _right_a2a(indices, expert_gpu, source_gpu, gpus_per_node=gpus_per_node, hidden=hidden)\n"
           "    ib = int(((place[idx] // gpus_per_node) != (src // gpus_per_node)[:, None]).sum())\n"
           "    nv = right['nvlink_copies']\n    d, c = hidden + 4 * (hidden // 128), 2 * hidden\n" + _A2A_OUT),
    Mutant("parallel", "all_to_all_bytes", "dispatch in BF16",
           _A2A + "    d, c = 2 * hidden, 2 * hidden\n" + _A2A_OUT),
    Mutant("parallel", "all_to_all_bytes", "FP8 scales forgotten",
           _A2A + "    d, c = hidden, 2 * hidden\n" + _A2A_OUT),
    Mutant("parallel", "all_to_all_bytes", "combine in FP8 like dispatch",
           _A2A + "    d = c = fp8\n" + _A2A_OUT),
    Mutant("parallel", "all_to_all_bytes", "NVLink copies per expert, not per GPU",
           "_right_a2a = all_to_all_bytes\n\n"
           "def all_to_all_bytes(indices, expert_gpu, source_gpu, *, gpus_per_node=8, hidden=7168):\n"
           "    import numpy as np\n"
           "    idx, place = np.asarray(indices), np.asarray(expert_gpu)\n"
           "    src = np.broadcast_to(np.asarray(source_gpu), (idx.shape[0],))\n"
           "    right = _right_a2a(indices, expert_gpu, source_gpu, gpus_per_node=gpus_per_node, hidden=hidden)\n"
           "    nv = int(((place[idx] % gpus_per_node) != (src % gpus_per_node)[:, None]).sum())\n"
           "    ib = right['ib_copies']\n    d, c = hidden + 4 * (hidden // 128), 2 * hidden\n" + _A2A_OUT),
    Mutant("parallel", "all_to_all_bytes", "no NVLink forwarding: every remote GPU gets its own IB copy",
           "_right_a2a = all_to_all_bytes\n\n"
           "def all_to_all_bytes(indices, expert_gpu, source_gpu, *, gpus_per_node=8, hidden=7168):\n"
           "    import numpy as np\n"
           "    idx, place = np.asarray(indices), np.asarray(expert_gpu)\n"
           "    src = np.broadcast_to(np.asarray(source_gpu), (idx.shape[0],))\n"
           "    ib = nv = 0\n"
           "    for row, s in zip(idx, src):\n"
           "        for g in set(int(x) for x in place[row]):\n"
           "            if g // gpus_per_node != s // gpus_per_node: ib += 1\n"
           "            elif g != s: nv += 1\n"
           "    d, c = hidden + 4 * (hidden // 128), 2 * hidden\n" + _A2A_OUT),
    Mutant("parallel", "all_to_all_bytes", "a placement that misses experts is accepted",
           "_right_a2a = all_to_all_bytes\n\n"
           "def all_to_all_bytes(indices, expert_gpu, source_gpu, *, gpus_per_node=8, hidden=7168):\n"
           "    import numpy as np\n"
           "    place = np.asarray(expert_gpu)\n"
           "    n = int(np.asarray(indices).max()) + 1\n"
           "    if n > len(place): place = np.concatenate([place, np.zeros(n - len(place), dtype=place.dtype)])\n"
           "    return _right_a2a(indices, place, source_gpu, gpus_per_node=gpus_per_node, hidden=hidden)\n"),
    Mutant("parallel", "simulate_pipeline", "dependencies ignored: every stage runs back to back",
           _SIM + "    r = _right_sim(schedule, pp, micro_batches, f, b, w)\n"
           "    ops, free = [], [0.0] * pp\n"
           "    for s, k, j, a, e in sorted(r['ops'], key=lambda o: (o[0], o[3])):\n"
           "        ops.append((s, k, j, free[s], free[s] + e - a)); free[s] += e - a\n"
           "    mk = max(free)\n"
           "    return dict(r, ops=ops, makespan=mk, idle=mk - r['busy'], bubble=float((mk - r['busy']).max()))\n"),
    Mutant("parallel", "simulate_pipeline", "ZB1P treats W as part of B (no split)",
           _SIM + "    if schedule == 'zb1p':\n"
           "        r = _right_sim('1f1b', pp, micro_batches, f, b, w)\n"
           "        return r\n"
           "    return _right_sim(schedule, pp, micro_batches, f, b, w)\n"),
    Mutant("parallel", "simulate_pipeline", "ZB1P runs each W right after its B (nothing deferred)",
           "_right_order = _stage_order\n\n"
           "def _stage_order(schedule, pp, stage, micro):\n"
           "    out = []\n"
           "    for op in _right_order('1f1b', pp, stage, micro):\n"
           "        out.append(op)\n"
           "        if schedule == 'zb1p' and op[0] == 'B': out.append(('W', op[1]))\n"
           "    return out\n"),
    Mutant("parallel", "simulate_pipeline", "backward waits only for its own forward, not the next stage",
           _SIM + "    if not 0 <= w < b: raise ValueError('w')\n"
           "    from itertools import count\n"
           "    r = _right_sim(schedule, pp, micro_batches, f, b, w)\n"
           "    w = w if schedule == 'zb1p' else 0.0\n"
           "    dur = {'F': f, 'B': b - w, 'W': w}\n"
           "    orders = [[(k, j) for s2, k, j, a, e in sorted(r['ops'], key=lambda o: o[3]) if s2 == s] for s in range(pp)]\n"
           "    end, ops = {}, []\n"
           "    for s in range(pp):\n"
           "        t = 0.0\n"
           "        for k, j in orders[s]:\n"
           "            need = [end[(s - 1, 'F', j)]] if (k == 'F' and s > 0) else []\n"
           "            start = max([t] + need); t = start + dur[k]; end[(s, k, j)] = t; ops.append((s, k, j, start, t))\n"
           "    mk = max(e for *_, e in ops)\n"
           "    return dict(r, ops=ops, makespan=mk, idle=mk - r['busy'], bubble=float((mk - r['busy']).max()))\n"),
    Mutant("parallel", "simulate_pipeline", "idle time reported as makespan minus forward work only",
           _SIM + "    r = _right_sim(schedule, pp, micro_batches, f, b, w)\n"
           "    idle = r['makespan'] - micro_batches * f + 0 * r['busy']\n"
           "    return dict(r, idle=idle, bubble=float(idle.max()))\n"),
    Mutant("parallel", "simulate_pipeline", "no limit on micro_batches",
           _SIM + "    if isinstance(micro_batches, int) and micro_batches > 4096:\n"
           "        return {'makespan': 0.0, 'busy': None, 'idle': None, 'bubble': 0.0, 'ops': []}\n"
           "    return _right_sim(schedule, pp, micro_batches, f, b, w)\n"),
    Mutant("parallel", "pipeline_bubble", "1F1B bubble without the (pp − 1) factor",
           _BUB + "    r = _right_bubble(schedule, pp, f, b, w, f_and_b)\n"
           "    return f + b if schedule == '1f1b' else r\n"),
    Mutant("parallel", "pipeline_bubble", "ZB1P subtracts W once (W treated as part of B only once)",
           _BUB + "    r = _right_bubble(schedule, pp, f, b, w, f_and_b)\n"
           "    return (pp - 1) * (f + b - w) if schedule == 'zb1p' else r\n"),
    Mutant("parallel", "pipeline_bubble", "DualPipe with (pp − 1) instead of (pp/2 − 1)",
           _BUB + "    r = _right_bubble(schedule, pp, f, b, w, f_and_b)\n"
           "    return r * (pp - 1) / (pp / 2 - 1) if schedule == 'dualpipe' else r\n"),
    Mutant("parallel", "pipeline_bubble", "odd pp accepted for DualPipe",
           _BUB + "    if schedule == 'dualpipe' and pp % 2:\n"
           "        return (pp / 2 - 1) * ((f + b if f_and_b is None else f_and_b) + b - 3 * w)\n"
           "    return _right_bubble(schedule, pp, f, b, w, f_and_b)\n"),
    Mutant("parallel", "overlapped_step_time", "overlap still adds the two times",
           "def overlapped_step_time(compute, communication, *, overlap, comm_sms=0, total_sms=132):\n"
           "    if comm_sms >= total_sms: raise ValueError('comm_sms')\n"
           "    return compute + communication\n"),
    Mutant("parallel", "overlapped_step_time", "the SMs given to communication cost nothing",
           "def overlapped_step_time(compute, communication, *, overlap, comm_sms=0, total_sms=132):\n"
           "    if comm_sms >= total_sms: raise ValueError('comm_sms')\n"
           "    return max(compute, communication) if overlap else compute + communication\n"),
    Mutant("parallel", "overlapped_step_time", "slowdown taken as 1 + comm_sms / total_sms",
           "def overlapped_step_time(compute, communication, *, overlap, comm_sms=0, total_sms=132):\n"
           "    if comm_sms >= total_sms: raise ValueError('comm_sms')\n"
           "    return max(compute * (1 + comm_sms / total_sms), communication) if overlap else compute + communication\n"),
]  # fmt: skip
