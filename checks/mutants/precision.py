"""Plausible wrong answers to the ``precision`` exercises (see checks/mutants/__init__.py)."""

from checks.mutants import Mutant

MUTANTS = [
    # round_mantissa
    Mutant("precision", "round_mantissa", "truncation (round towards zero)",
           "def round_mantissa(x, mantissa_bits, mode='nearest'):\n"
           "    f, e = np.frexp(np.asarray(x, dtype=np.float64))\n"
           "    return np.ldexp(np.trunc(np.ldexp(f, mantissa_bits + 1)), e - mantissa_bits - 1)\n"),
    Mutant("precision", "round_mantissa", "ties away from zero",
           "def round_mantissa(x, mantissa_bits, mode='nearest'):\n"
           "    f, e = np.frexp(np.asarray(x, dtype=np.float64))\n"
           "    s = np.ldexp(f, mantissa_bits + 1)\n"
           "    return np.ldexp(np.sign(s) * np.floor(np.abs(s) + 0.5), e - mantissa_bits - 1)\n"),
    Mutant("precision", "round_mantissa", "the implicit bit forgotten (one bit too few)",
           "def round_mantissa(x, mantissa_bits, mode='nearest'):\n"
           "    f, e = np.frexp(np.asarray(x, dtype=np.float64))\n"
           "    return np.ldexp(np.rint(np.ldexp(f, mantissa_bits)), e - mantissa_bits)\n"),
    Mutant("precision", "round_mantissa", "a fixed step 2^-m instead of one relative to the exponent",
           "def round_mantissa(x, mantissa_bits, mode='nearest'):\n"
           "    x = np.asarray(x, dtype=np.float64)\n"
           "    return np.rint(x * 2.0**mantissa_bits) / 2.0**mantissa_bits\n"),
    Mutant("precision", "round_mantissa", "truncation towards minus infinity (floor)",
           "def round_mantissa(x, mantissa_bits, mode='nearest'):\n"
           "    f, e = np.frexp(np.asarray(x, dtype=np.float64))\n"
           "    s = np.ldexp(f, mantissa_bits + 1)\n"
           "    return np.ldexp(np.rint(s) if mode == 'nearest' else np.floor(s), e - mantissa_bits - 1)\n"),
    Mutant("precision", "round_mantissa", "mode ignored: always to nearest",
           "def round_mantissa(x, mantissa_bits, mode='nearest'):\n"
           "    f, e = np.frexp(np.asarray(x, dtype=np.float64))\n"
           "    return np.ldexp(np.rint(np.ldexp(f, mantissa_bits + 1)), e - mantissa_bits - 1)\n"),
    # accumulate_limited
    Mutant("precision", "accumulate_limited", "mode not passed on: always to nearest",
           "def accumulate_limited(terms, mantissa_bits, mode='nearest'):\n"
           "    terms = np.asarray(terms, dtype=np.float64)\n"
           "    total = np.zeros(terms.shape[:-1])\n"
           "    for k in range(terms.shape[-1]):\n"
           "        total = round_mantissa(total + terms[..., k], mantissa_bits)\n"
           "    return total\n"),
    Mutant("precision", "accumulate_limited", "rounds once, at the end",
           "def accumulate_limited(terms, mantissa_bits, mode='nearest'):\n"
           "    return round_mantissa(np.asarray(terms, dtype=np.float64).sum(axis=-1), mantissa_bits)\n"),
    Mutant("precision", "accumulate_limited", "rounds each term, not the running sum",
           "def accumulate_limited(terms, mantissa_bits, mode='nearest'):\n"
           "    return round_mantissa(terms, mantissa_bits).sum(axis=-1)\n"),
    Mutant("precision", "accumulate_limited", "truncates the running sum",
           "def accumulate_limited(terms, mantissa_bits, mode='nearest'):\n"
           "    terms = np.asarray(terms, dtype=np.float64)\n"
           "    total = np.zeros(terms.shape[:-1])\n"
           "    for k in range(terms.shape[-1]):\n"
           "        f, e = np.frexp(total + terms[..., k])\n"
           "        total = np.ldexp(np.trunc(np.ldexp(f, mantissa_bits + 1)), e - mantissa_bits - 1)\n"
           "    return total\n"),
    Mutant("precision", "accumulate_limited", "the first term is not rounded",
           "def accumulate_limited(terms, mantissa_bits, mode='nearest'):\n"
           "    terms = np.asarray(terms, dtype=np.float64)\n"
           "    if terms.shape[-1] == 0:\n"
           "        return np.zeros(terms.shape[:-1])\n"
           "    total = terms[..., 0]\n"
           "    for k in range(1, terms.shape[-1]):\n"
           "        total = round_mantissa(total + terms[..., k], mantissa_bits)\n"
           "    return total\n"),
    Mutant("precision", "accumulate_limited", "mantissa bits ignored (FP32 accumulation)",
           "def accumulate_limited(terms, mantissa_bits, mode='nearest'):\n"
           "    return np.cumsum(np.asarray(terms, dtype=np.float32), axis=-1)[..., -1].astype(float)\n"),
    # accumulate_promoted
    Mutant("precision", "accumulate_promoted", "the last, shorter run is dropped",
           "def accumulate_promoted(terms, mantissa_bits, interval, mode='nearest'):\n"
           "    terms = np.asarray(terms, dtype=np.float64)\n"
           "    blocks = terms.shape[-1] // interval\n"
           "    runs = terms[..., : blocks * interval].reshape(*terms.shape[:-1], blocks, interval)\n"
           "    return accumulate_limited(accumulate_limited(runs, mantissa_bits), 23)\n"),
    Mutant("precision", "accumulate_promoted", "partial sums added in limited precision",
           "def accumulate_promoted(terms, mantissa_bits, interval, mode='nearest'):\n"
           "    terms = np.asarray(terms, dtype=np.float64)\n"
           "    k = terms.shape[-1]\n"
           "    blocks = -(-k // interval)\n"
           "    pad = [(0, 0)] * (terms.ndim - 1) + [(0, blocks * interval - k)]\n"
           "    runs = np.pad(terms, pad).reshape(*terms.shape[:-1], blocks, interval)\n"
           "    return accumulate_limited(accumulate_limited(runs, mantissa_bits), mantissa_bits)\n"),
    Mutant("precision", "accumulate_promoted", "the limited accumulator is never restarted",
           "def accumulate_promoted(terms, mantissa_bits, interval, mode='nearest'):\n"
           "    return accumulate_limited(terms, mantissa_bits)\n"),
    Mutant("precision", "accumulate_promoted", "no limited precision at all",
           "def accumulate_promoted(terms, mantissa_bits, interval, mode='nearest'):\n"
           "    return np.asarray(terms, dtype=np.float64).sum(axis=-1)\n"),
    Mutant("precision", "accumulate_promoted", "runs always rounded to nearest (mode not passed on)",
           "_right_promoted = accumulate_promoted\n\n"
           "def accumulate_promoted(terms, mantissa_bits, interval, mode='nearest'):\n"
           "    return _right_promoted(terms, mantissa_bits, interval)\n"),
    Mutant("precision", "accumulate_promoted", "the FP32 accumulator truncates as well",
           "def accumulate_promoted(terms, mantissa_bits, interval, mode='nearest'):\n"
           "    terms = np.asarray(terms, dtype=np.float64)\n"
           "    k = terms.shape[-1]\n"
           "    blocks = -(-k // interval)\n"
           "    pad = [(0, 0)] * (terms.ndim - 1) + [(0, blocks * interval - k)]\n"
           "    runs = np.pad(terms, pad).reshape(*terms.shape[:-1], blocks, interval)\n"
           "    return accumulate_limited(accumulate_limited(runs, mantissa_bits, mode), 23, mode)\n"),
    # bytes_per_parameter
    Mutant("precision", "bytes_per_parameter", "master weights forgotten",
           "def bytes_per_parameter(recipe):\n"
           "    size = lambda n: 0.0 if n is None else get_format(n).bits / 8\n"
           "    return {'weights': size(recipe.weights), 'master_weights': 0.0,\n"
           "            'gradients': size(recipe.gradients), 'adam_moments': 2 * size(recipe.adam_moments)}\n"),
    Mutant("precision", "bytes_per_parameter", "Adam moments counted once",
           "def bytes_per_parameter(recipe):\n"
           "    size = lambda n: 0.0 if n is None else get_format(n).bits / 8\n"
           "    return {'weights': size(recipe.weights), 'master_weights': size(recipe.master_weights),\n"
           "            'gradients': size(recipe.gradients), 'adam_moments': size(recipe.adam_moments)}\n"),
    Mutant("precision", "bytes_per_parameter", "bits, not bytes",
           "def bytes_per_parameter(recipe):\n"
           "    size = lambda n: 0.0 if n is None else float(get_format(n).bits)\n"
           "    return {'weights': size(recipe.weights), 'master_weights': size(recipe.master_weights),\n"
           "            'gradients': size(recipe.gradients), 'adam_moments': 2 * size(recipe.adam_moments)}\n"),
    Mutant("precision", "bytes_per_parameter", "no master copy read as an FP32 master",
           "def bytes_per_parameter(recipe):\n"
           "    size = lambda n: 4.0 if n is None else get_format(n).bits / 8\n"
           "    return {'weights': size(recipe.weights), 'master_weights': size(recipe.master_weights),\n"
           "            'gradients': size(recipe.gradients), 'adam_moments': 2 * size(recipe.adam_moments)}\n"),
    # training_memory_gb
    Mutant("precision", "training_memory_gb", "GiB instead of GB",
           "def training_memory_gb(n_params, recipe):\n"
           "    return n_params * sum(bytes_per_parameter(recipe).values()) / 2**30\n"),
    Mutant("precision", "training_memory_gb", "weights only",
           "def training_memory_gb(n_params, recipe):\n"
           "    return n_params * bytes_per_parameter(recipe)['weights'] / 1e9\n"),
    # memory_saving
    Mutant("precision", "memory_saving", "the ratio, not the saving",
           "def memory_saving(baseline, recipe):\n"
           "    b = lambda r: sum(bytes_per_parameter(r).values())\n"
           "    return b(recipe) / b(baseline)\n"),
    Mutant("precision", "memory_saving", "relative to the new recipe",
           "def memory_saving(baseline, recipe):\n"
           "    b = lambda r: sum(bytes_per_parameter(r).values())\n"
           "    return (b(baseline) - b(recipe)) / b(recipe)\n"),
    Mutant("precision", "memory_saving", "a percentage, not a fraction",
           "def memory_saving(baseline, recipe):\n"
           "    b = lambda r: sum(bytes_per_parameter(r).values())\n"
           "    return 100 * (1 - b(recipe) / b(baseline))\n"),
    Mutant("precision", "memory_saving", "weights alone compared",
           "def memory_saving(baseline, recipe):\n"
           "    return 1 - bytes_per_parameter(recipe)['weights'] / bytes_per_parameter(baseline)['weights']\n"),
]  # fmt: skip
