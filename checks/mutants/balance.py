"""Plausible wrong answers to the ``balance`` exercises (see checks/mutants/__init__.py)."""

from checks.mutants import Mutant

# The train_moe mutants copy the solution's loop and change one step.
_TRAIN = """
def train_moe(method, config=None, layer=None):
    if method not in lab.METHODS:
        raise ValueError(method)
    config = config or lab.Config()
    with lab.deterministic_cpu():
        layer = layer if layer is not None else lab.make_layer(config)
        {patch}
        task = lab.make_task(config)
        batches = torch.Generator().manual_seed(config.seed + 2)
        optimiser = torch.optim.Adam(layer.parameters(), lr=config.learning_rate)
        ratios, losses = np.empty(config.steps), np.empty(config.steps)
        for step in range(config.steps):
            x, y, _ = task.sample(config.tokens_per_step, batches)
            task_loss = torch.mean((layer(x) - y) ** 2)
            chosen, scores = layer.last_indices, layer.last_scores
            loss = task_loss
            if method == "aux_loss":
                probs = {probs}
                loss = loss + config.aux_coef * switch_loss(probs, chosen)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            load = torch.bincount(chosen.flatten(), minlength=config.n_experts)
            if method == "bias":
                with torch.no_grad():
                    layer.gate_bias.copy_({new_bias})
            ratios[step], losses[step] = max_load_ratio(load), task_loss.item()
        x, y = lab.eval_batch(config)[:2]
        with torch.no_grad():
            eval_loss = torch.mean((layer(x) - y) ** 2).item()
            eval_load = torch.bincount(layer.last_indices.flatten(), minlength=config.n_experts)
    return {{
        "load_ratio": ratios,
        "task_loss": losses,
        "eval_load": eval_load.numpy().astype(np.float64),
        "eval_task_loss": eval_loss,
        "final_bias": layer.gate_bias.detach().numpy().astype(np.float64),
    }}
"""
_BIASED_GATES = """
def _biased_gates(layer):
    def forward(x):
        tokens = x.reshape(-1, x.shape[-1])
        scores = torch.sigmoid(tokens @ layer.gate_weight.T)
        biased = scores + layer.gate_bias
        indices = biased.detach().topk(layer.top_k, dim=-1).indices
        chosen = biased.gather(1, indices)
        gates = layer.routed_scaling_factor * chosen / chosen.sum(dim=-1, keepdim=True)
        layer.last_indices, layer.last_scores = indices, scores
        out = torch.zeros_like(tokens)
        for e, expert in enumerate(layer.experts):
            rows, slot = (indices == e).nonzero(as_tuple=True)
            if len(rows):
                out = out.index_add(0, rows, gates[rows, slot, None] * expert(tokens[rows]))
        return out.reshape(x.shape)

    layer.forward = forward
"""
_RIGHT_TRAIN = dict(
    patch="pass",
    probs="scores / scores.sum(dim=1, keepdim=True)",
    new_bias="bias_update(layer.gate_bias, load, config.bias_step)",
)


def _train(**wrong: str) -> str:
    return _TRAIN.format(**{**_RIGHT_TRAIN, **wrong})


MUTANTS = [
    Mutant("balance", "switch_loss", "fᵢ from each token's first choice only",
           "def switch_loss(probs, chosen):\n"
           "    p, c = _as_tensor(probs), _as_tensor(chosen)[:, :1]\n"
           "    n = p.shape[1]\n"
           "    f = torch.bincount(c.reshape(-1), minlength=n).to(p.dtype) / c.numel()\n"
           "    return _like(probs, n * (f * p.mean(dim=0)).sum())\n"),
    Mutant("balance", "switch_loss", "Pᵢ summed over tokens, not averaged",
           "def switch_loss(probs, chosen):\n"
           "    p, c = _as_tensor(probs), _as_tensor(chosen)\n"
           "    n = p.shape[1]\n"
           "    f = torch.bincount(c.reshape(-1), minlength=n).to(p.dtype) / c.numel()\n"
           "    return _like(probs, n * (f * p.sum(dim=0)).sum())\n"),
    Mutant("balance", "switch_loss", "numpy only: the torch graph is lost",
           "def switch_loss(probs, chosen):\n"
           "    p = np.asarray(torch.as_tensor(probs).detach(), dtype=float)\n"
           "    c = np.asarray(torch.as_tensor(chosen))\n"
           "    n = p.shape[1]\n"
           "    f = np.bincount(c.ravel(), minlength=n) / c.size\n"
           "    return float(n * np.sum(f * p.mean(axis=0)))\n"),
    Mutant("balance", "switch_loss", "forgot the factor N",
           "def switch_loss(probs, chosen):\n"
           "    n = np.shape(probs)[1]\n"
           "    f = np.bincount(np.ravel(chosen), minlength=n) / np.size(chosen)\n"
           "    return float(np.sum(f * np.mean(probs, axis=0)))\n"),
    Mutant("balance", "switch_loss", "counts instead of fractions",
           "def switch_loss(probs, chosen):\n"
           "    n = np.shape(probs)[1]\n"
           "    counts = np.bincount(np.ravel(chosen), minlength=n)\n"
           "    return float(n * np.sum(counts * np.mean(probs, axis=0)))\n"),
    Mutant("balance", "switch_loss", "fᵢ divided by T, so top-k gives k",
           "def switch_loss(probs, chosen):\n"
           "    n = np.shape(probs)[1]\n"
           "    f = np.bincount(np.ravel(chosen), minlength=n) / len(chosen)\n"
           "    return float(n * np.sum(f * np.mean(probs, axis=0)))\n"),
    Mutant("balance", "switch_loss", "fᵢ squared (probabilities ignored)",
           "def switch_loss(probs, chosen):\n"
           "    n = np.shape(probs)[1]\n"
           "    f = np.bincount(np.ravel(chosen), minlength=n) / np.size(chosen)\n"
           "    return float(n * np.sum(f ** 2))\n"),
    Mutant("balance", "sequence_balance_loss", "forgot the factor N/K in fᵢ",
           "def sequence_balance_loss(scores, chosen, alpha=1e-4):\n"
           "    scores = np.asarray(scores, dtype=float)\n"
           "    f = np.bincount(np.ravel(chosen), minlength=scores.shape[1]) / len(scores)\n"
           "    p = (scores / scores.sum(axis=1, keepdims=True)).mean(axis=0)\n"
           "    return float(alpha * np.sum(f * p))\n"),
    Mutant("balance", "sequence_balance_loss", "fᵢ as a share of T·K (Switch-style), no N",
           "def sequence_balance_loss(scores, chosen, alpha=1e-4):\n"
           "    scores = np.asarray(scores, dtype=float)\n"
           "    f = np.bincount(np.ravel(chosen), minlength=scores.shape[1]) / np.size(chosen)\n"
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
    Mutant("balance", "bias_update", "numpy only: torch tensors rejected",
           "def bias_update(bias, load, gamma):\n"
           "    if isinstance(bias, torch.Tensor):\n"
           "        raise TypeError('numpy arrays only')\n"
           "    load = np.asarray(load, dtype=float)\n"
           "    return np.asarray(bias) + gamma * np.sign(load.mean() - load)\n"),
    Mutant("balance", "train_moe", "method 'bias' never updates the bias",
           _train(new_bias="layer.gate_bias")),
    Mutant("balance", "train_moe", "bias update with the sign reversed",
           _train(new_bias="2 * layer.gate_bias - bias_update(layer.gate_bias, load, config.bias_step)")),
    Mutant("balance", "train_moe", "auxiliary loss detached: no gradient reaches the router",
           _train(probs="(scores / scores.sum(dim=1, keepdim=True)).detach()")),
    Mutant("balance", "train_moe", "bias used in the output's gate weights",
           _BIASED_GATES + _train(patch="_biased_gates(layer)")),
]  # fmt: skip
