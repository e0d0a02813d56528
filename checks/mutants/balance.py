"""Plausible wrong answers to the ``balance`` exercises (see checks/mutants/__init__.py)."""

from checks.mutants import Mutant

MUTANTS = [
    Mutant("balance", "expert_fractions", "counts instead of fractions",
           "def expert_fractions(chosen, n_experts):\n"
           "    return np.bincount(np.ravel(chosen), minlength=n_experts).astype(float)\n"),
    Mutant("balance", "expert_fractions", "divided by T instead of T·k",
           "def expert_fractions(chosen, n_experts):\n"
           "    return np.bincount(np.ravel(chosen), minlength=n_experts) / len(chosen)\n"),
    Mutant("balance", "expert_fractions", "idle experts at the end dropped",
           "def expert_fractions(chosen, n_experts):\n"
           "    return np.bincount(np.ravel(chosen)) / np.size(chosen)\n"),
    Mutant("balance", "expert_fractions", "only each token's first choice counted",
           "def expert_fractions(chosen, n_experts):\n"
           "    first = np.asarray(chosen)[:, 0]\n"
           "    return np.bincount(first, minlength=n_experts) / len(first)\n"),
    Mutant("balance", "mean_probabilities", "averaged over experts, not tokens",
           "def mean_probabilities(probs):\n    return np.asarray(probs).mean(axis=1)\n"),
    Mutant("balance", "mean_probabilities", "summed, not averaged",
           "def mean_probabilities(probs):\n    return np.asarray(probs).sum(axis=0)\n"),
    Mutant("balance", "switch_loss", "forgot the factor N",
           "def switch_loss(probs, chosen):\n"
           "    n = np.shape(probs)[1]\n"
           "    return float(np.sum(expert_fractions(chosen, n) * mean_probabilities(probs)))\n"),
    Mutant("balance", "switch_loss", "counts instead of fractions",
           "def switch_loss(probs, chosen):\n"
           "    n = np.shape(probs)[1]\n"
           "    counts = np.bincount(np.ravel(chosen), minlength=n)\n"
           "    return float(n * np.sum(counts * mean_probabilities(probs)))\n"),
    Mutant("balance", "switch_loss", "fᵢ divided by T, so top-k gives k",
           "def switch_loss(probs, chosen):\n"
           "    n = np.shape(probs)[1]\n"
           "    f = np.bincount(np.ravel(chosen), minlength=n) / len(chosen)\n"
           "    return float(n * np.sum(f * mean_probabilities(probs)))\n"),
    Mutant("balance", "switch_loss", "fᵢ squared (probabilities ignored)",
           "def switch_loss(probs, chosen):\n"
           "    n = np.shape(probs)[1]\n"
           "    return float(n * np.sum(expert_fractions(chosen, n) ** 2))\n"),
    Mutant("balance", "sequence_balance_loss", "forgot the factor N/K in fᵢ",
           "def sequence_balance_loss(scores, chosen, alpha=1e-4):\n"
           "    scores = np.asarray(scores, dtype=float)\n"
           "    f = np.bincount(np.ravel(chosen), minlength=scores.shape[1]) / len(scores)\n"
           "    p = (scores / scores.sum(axis=1, keepdims=True)).mean(axis=0)\n"
           "    return float(alpha * np.sum(f * p))\n"),
    Mutant("balance", "sequence_balance_loss", "fᵢ as a share of T·K (Switch-style), no N",
           "def sequence_balance_loss(scores, chosen, alpha=1e-4):\n"
           "    scores = np.asarray(scores, dtype=float)\n"
           "    f = expert_fractions(chosen, scores.shape[1])\n"
           "    p = (scores / scores.sum(axis=1, keepdims=True)).mean(axis=0)\n"
           "    return float(alpha * np.sum(f * p))\n"),
    Mutant("balance", "sequence_balance_loss", "scores not normalised per token",
           "def sequence_balance_loss(scores, chosen, alpha=1e-4):\n"
           "    scores = np.asarray(scores, dtype=float)\n"
           "    n, k = scores.shape[1], np.shape(chosen)[1]\n"
           "    f = n / (k * len(scores)) * np.bincount(np.ravel(chosen), minlength=n)\n"
           "    return float(alpha * np.sum(f * scores.mean(axis=0)))\n"),
    Mutant("balance", "sequence_balance_loss", "normalised over the sequence, not per token",
           "def sequence_balance_loss(scores, chosen, alpha=1e-4):\n"
           "    scores = np.asarray(scores, dtype=float)\n"
           "    n, k = scores.shape[1], np.shape(chosen)[1]\n"
           "    f = n / (k * len(scores)) * np.bincount(np.ravel(chosen), minlength=n)\n"
           "    p = scores.sum(axis=0) / scores.sum()\n"
           "    return float(alpha * np.sum(f * p))\n"),
    Mutant("balance", "sequence_balance_loss", "default alpha 0.001",
           "def sequence_balance_loss(scores, chosen, alpha=1e-3):\n"
           "    scores = np.asarray(scores, dtype=float)\n"
           "    n, k = scores.shape[1], np.shape(chosen)[1]\n"
           "    f = n / (k * len(scores)) * np.bincount(np.ravel(chosen), minlength=n)\n"
           "    p = (scores / scores.sum(axis=1, keepdims=True)).mean(axis=0)\n"
           "    return float(alpha * np.sum(f * p))\n"),
    Mutant("balance", "bias_update", "sign reversed",
           "def bias_update(bias, load, gamma):\n"
           "    load = np.asarray(load, dtype=float)\n"
           "    return np.asarray(bias) + gamma * np.sign(load - load.mean())\n"),
    Mutant("balance", "bias_update", "step proportional to the gap, no sign",
           "def bias_update(bias, load, gamma):\n"
           "    load = np.asarray(load, dtype=float)\n"
           "    return np.asarray(bias) + gamma * (load.mean() - load)\n"),
    Mutant("balance", "bias_update", "an average expert is pushed down",
           "def bias_update(bias, load, gamma):\n"
           "    load = np.asarray(load, dtype=float)\n"
           "    return np.asarray(bias) + np.where(load < load.mean(), gamma, -gamma)\n"),
    Mutant("balance", "bias_update", "modifies the bias in place",
           "def bias_update(bias, load, gamma):\n"
           "    load = np.asarray(load, dtype=float)\n"
           "    bias += gamma * np.sign(load.mean() - load)\n"
           "    return bias\n"),
    Mutant("balance", "bias_update", "compared with the median, not the mean",
           "def bias_update(bias, load, gamma):\n"
           "    load = np.asarray(load, dtype=float)\n"
           "    return np.asarray(bias) + gamma * np.sign(np.median(load) - load)\n"),
    Mutant("balance", "max_load_ratio", "max over min",
           "def max_load_ratio(load):\n"
           "    load = np.asarray(load, dtype=float)\n"
           "    return float(load.max() / max(load.min(), 1e-12))\n"),
    Mutant("balance", "max_load_ratio", "max over sum",
           "def max_load_ratio(load):\n"
           "    load = np.asarray(load, dtype=float)\n"
           "    return float(load.max() / load.sum())\n"),
    Mutant("balance", "max_load_ratio", "max over median",
           "def max_load_ratio(load):\n"
           "    load = np.asarray(load, dtype=float)\n"
           "    return float(load.max() / np.median(load))\n"),
]  # fmt: skip
