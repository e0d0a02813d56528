"""Plausible wrong answers to the ``moe`` exercises (see checks/mutants/__init__.py)."""

from checks.mutants import Mutant

# The DeepSeek-V3 router mutants reuse the solution's private helpers and change one step.
_ROUTE = """
def deepseek_v3_route(hidden, weight, bias, *, n_group, topk_group, top_k, routed_scaling_factor):
    h, w, b = _as_tensor(hidden), _as_tensor(weight), _as_tensor(bias)
    logits = h @ w.T
    scores = {scores}
    choice = {choice}
    n_tokens, n_experts = choice.shape
    grouped = choice.view(n_tokens, n_group, n_experts // n_group)
    group_score = {group_score}
    best = group_score.topk({n_keep}, dim=-1).indices
    keep = torch.zeros_like(group_score, dtype=torch.bool).scatter_(1, best, True)
    allowed = grouped.masked_fill(~keep.unsqueeze(-1), {fill}).view(n_tokens, n_experts)
    indices = allowed.topk(top_k, dim=-1).indices
    chosen = {gate_source}.gather(1, indices)
    weights = {weights}
    return _like(hidden, indices, weights)
"""
_RIGHT = dict(
    scores="torch.sigmoid(logits)",
    choice="scores + b",
    group_score="grouped.topk(2, dim=-1).values.sum(dim=-1)",
    fill='float("-inf")',
    n_keep="topk_group",
    gate_source="scores",
    weights="routed_scaling_factor * chosen / chosen.sum(dim=-1, keepdim=True)",
)


def _route(**wrong: str) -> str:
    return _ROUTE.format(**{**_RIGHT, **wrong})


_LAYER = """
class MoELayer(MoELayer):
    def forward(self, x):
        tokens = x.reshape(-1, x.shape[-1])
        indices, weights = {route}
        self.last_indices = indices
        self.last_scores = torch.sigmoid(tokens @ self.gate_weight.T)
        out = {start}
        for e, expert in enumerate(self.experts):
            token_ids, slot = (indices == e).nonzero(as_tuple=True)
            if token_ids.numel():
                out = out.index_add(0, token_ids, {term})
        return out.reshape(x.shape)
"""
_V3 = (
    "deepseek_v3_route(tokens, self.gate_weight, self.gate_bias, n_group=self.n_group, "
    "topk_group=self.topk_group, top_k=self.top_k, "
    "routed_scaling_factor=self.routed_scaling_factor)"
)
_LAYER_RIGHT = dict(
    route=_V3,
    start="self.shared(tokens) if self.shared is not None else torch.zeros_like(tokens)",
    term="weights[token_ids, slot, None] * expert(tokens[token_ids])",
)


def _layer(**wrong: str) -> str:
    return _LAYER.format(**{**_LAYER_RIGHT, **wrong})


_LAYER_ROUTED = (
    """
class MoELayer(MoELayer):
    def forward(self, x):
        tokens = x.reshape(-1, x.shape[-1])
        indices, weights = """
    + _V3
    + """
        self.last_indices = indices
        self.last_scores = torch.sigmoid(tokens @ self.gate_weight.T)
        out = self.shared(tokens) if self.shared is not None else torch.zeros_like(tokens)
{body}
        return out.reshape(x.shape)
"""
)
_PER_TOKEN = """
        rows = []
        for t in range(len(tokens)):
            y = out[t : t + 1]
            for j in range(self.top_k):
                y = y + weights[t, j] * self.experts[int(indices[t, j])](tokens[t : t + 1])
            rows.append(y)
        out = torch.cat(rows)"""
_DENSE = """
        dense = torch.zeros(len(tokens), len(self.experts), dtype=weights.dtype)
        dense = dense.scatter(1, indices, weights)
        for e, expert in enumerate(self.experts):
            out = out + dense[:, e, None] * expert(tokens)"""
_BIASED_WEIGHTS = """
        biased = torch.sigmoid(tokens @ self.gate_weight.T) + self.gate_bias
        chosen = biased.gather(1, indices)
        weights = self.routed_scaling_factor * chosen / chosen.sum(dim=-1, keepdim=True)
        for e, expert in enumerate(self.experts):
            token_ids, slot = (indices == e).nonzero(as_tuple=True)
            if token_ids.numel():
                out = out.index_add(0, token_ids, weights[token_ids, slot, None] * expert(tokens[token_ids]))"""
_LOOP = """
        for e, expert in enumerate(self.experts):
            token_ids, slot = (indices == e).nonzero(as_tuple=True)
            if token_ids.numel():
                out = out.index_add(0, token_ids, weights[token_ids, slot, None] * expert(tokens[token_ids]))"""
_SOFTMAX_LAYER = """
class MoELayer(MoELayer):
    def forward(self, x):
        tokens = x.reshape(-1, x.shape[-1])
        logits = tokens @ self.gate_weight.T
        scores = torch.softmax(logits, dim=-1)
        indices = (scores.detach() + self.gate_bias).topk(self.top_k, dim=-1).indices
        chosen = scores.gather(1, indices)
        weights = self.routed_scaling_factor * chosen / chosen.sum(dim=-1, keepdim=True)
        self.last_indices, self.last_scores = indices, scores
        out = self.shared(tokens) if self.shared is not None else torch.zeros_like(tokens)
        for e, expert in enumerate(self.experts):
            token_ids, slot = (indices == e).nonzero(as_tuple=True)
            if token_ids.numel():
                out = out.index_add(0, token_ids, weights[token_ids, slot, None] * expert(tokens[token_ids]))
        return out.reshape(x.shape)
"""


MUTANTS = [
    # softmax_topk_gate
    Mutant("moe", "softmax_topk_gate", "sigmoid instead of softmax",
           "def softmax_topk_gate(logits, k, *, renormalize):\n"
           "    p = torch.sigmoid(_as_tensor(logits))\n"
           "    w, i = p.topk(k, dim=-1)\n"
           "    if renormalize:\n        w = w / w.sum(-1, keepdim=True)\n"
           "    return _like(logits, i, w)\n"),
    Mutant("moe", "softmax_topk_gate", "softmax over the k chosen logits even without renormalize",
           "def softmax_topk_gate(logits, k, *, renormalize):\n"
           "    l, i = _as_tensor(logits).topk(k, dim=-1)\n"
           "    return _like(logits, i, torch.softmax(l, dim=-1))\n"),
    Mutant("moe", "softmax_topk_gate", "renormalize ignored",
           "def softmax_topk_gate(logits, k, *, renormalize):\n"
           "    w, i = torch.softmax(_as_tensor(logits), dim=-1).topk(k, dim=-1)\n"
           "    return _like(logits, i, w)\n"),
    Mutant("moe", "softmax_topk_gate", "softmax over tokens (axis 0) instead of experts",
           "def softmax_topk_gate(logits, k, *, renormalize):\n"
           "    w, i = torch.softmax(_as_tensor(logits), dim=0).topk(k, dim=-1)\n"
           "    if renormalize:\n        w = w / w.sum(-1, keepdim=True)\n"
           "    return _like(logits, i, w)\n"),
    Mutant("moe", "softmax_topk_gate", "naive exp without subtracting the maximum",
           "def softmax_topk_gate(logits, k, *, renormalize):\n"
           "    e = np.exp(np.asarray(logits, dtype=float))\n"
           "    p = torch.as_tensor(e / e.sum(-1, keepdims=True))\n"
           "    w, i = p.topk(k, dim=-1)\n"
           "    if renormalize:\n        w = w / w.sum(-1, keepdim=True)\n"
           "    return _like(logits, i, w)\n"),
    Mutant("moe", "softmax_topk_gate", "the k smallest probabilities",
           "def softmax_topk_gate(logits, k, *, renormalize):\n"
           "    w, i = torch.softmax(_as_tensor(logits), dim=-1).topk(k, dim=-1, largest=False)\n"
           "    if renormalize:\n        w = w / w.sum(-1, keepdim=True)\n"
           "    return _like(logits, i, w)\n"),
    # sigmoid_topk_gate
    Mutant("moe", "sigmoid_topk_gate", "softmax instead of sigmoid",
           "def sigmoid_topk_gate(logits, k, *, scaling_factor):\n"
           "    a = torch.softmax(_as_tensor(logits), dim=-1)\n"
           "    c, i = a.topk(k, dim=-1)\n"
           "    return _like(logits, i, scaling_factor * c / c.sum(-1, keepdim=True))\n"),
    Mutant("moe", "sigmoid_topk_gate", "no normalisation over the chosen experts",
           "def sigmoid_topk_gate(logits, k, *, scaling_factor):\n"
           "    c, i = torch.sigmoid(_as_tensor(logits)).topk(k, dim=-1)\n"
           "    return _like(logits, i, scaling_factor * c)\n"),
    Mutant("moe", "sigmoid_topk_gate", "scaling factor forgotten",
           "def sigmoid_topk_gate(logits, k, *, scaling_factor):\n"
           "    c, i = torch.sigmoid(_as_tensor(logits)).topk(k, dim=-1)\n"
           "    return _like(logits, i, c / c.sum(-1, keepdim=True))\n"),
    # deepseek_v3_route
    Mutant("moe", "deepseek_v3_route", "softmax instead of sigmoid",
           _route(scores="torch.softmax(logits, dim=-1)")),
    Mutant("moe", "deepseek_v3_route", "bias used in the gate weights",
           _route(gate_source="choice")),
    Mutant("moe", "deepseek_v3_route", "bias ignored", _route(choice="scores + 0 * b")),
    Mutant("moe", "deepseek_v3_route", "no normalisation over the chosen experts",
           _route(weights="routed_scaling_factor * chosen")),
    Mutant("moe", "deepseek_v3_route", "scaling factor forgotten",
           _route(weights="chosen / chosen.sum(dim=-1, keepdim=True)")),
    Mutant("moe", "deepseek_v3_route", "group score by the maximum, not the top-2 sum",
           _route(group_score="grouped.max(dim=-1).values")),
    Mutant("moe", "deepseek_v3_route", "group score by the sum of the whole group",
           _route(group_score="grouped.sum(dim=-1)")),
    Mutant("moe", "deepseek_v3_route", "group score from unbiased scores",
           _route(group_score="(grouped - b.view(1, n_group, -1)).topk(2, dim=-1).values.sum(-1)")),
    Mutant("moe", "deepseek_v3_route", "dropped groups zero-filled instead of −inf",
           _route(fill="0.0")),
    Mutant("moe", "deepseek_v3_route", "groups ignored: top-k over all experts",
           _route(n_keep="n_group")),
    Mutant("moe", "deepseek_v3_route", "softmax over the chosen scores as weights",
           _route(weights="routed_scaling_factor * torch.softmax(chosen, dim=-1)")),
    # expert_load
    Mutant("moe", "expert_load", "first choice of each token only",
           "def expert_load(indices, n_experts):\n"
           "    first = np.asarray(_as_tensor(indices))[:, 0]\n"
           "    return np.bincount(first, minlength=n_experts)\n"),
    Mutant("moe", "expert_load", "unused trailing experts dropped (no minlength)",
           "def expert_load(indices, n_experts):\n"
           "    return np.bincount(np.asarray(_as_tensor(indices)).ravel())\n"),
    Mutant("moe", "expert_load", "fractions instead of counts",
           "def expert_load(indices, n_experts):\n"
           "    flat = np.asarray(_as_tensor(indices)).ravel()\n"
           "    return np.bincount(flat, minlength=n_experts) / flat.size\n"),
    Mutant("moe", "expert_load", "numpy arrays only",
           "def expert_load(indices, n_experts):\n"
           "    if not isinstance(indices, np.ndarray):\n"
           "        raise TypeError('expected a numpy array')\n"
           "    return np.bincount(indices.ravel(), minlength=n_experts)\n"),
    # MoELayer
    Mutant("moe", "MoELayer", "shared expert forgotten", _layer(start="torch.zeros_like(tokens)")),
    Mutant("moe", "MoELayer", "expert outputs not weighted by the gates",
           _layer(term="expert(tokens[token_ids])")),
    Mutant("moe", "MoELayer", "routed by sigmoid top-k without groups or bias",
           _layer(route="sigmoid_topk_gate(tokens @ self.gate_weight.T, self.top_k, "
                        "scaling_factor=self.routed_scaling_factor)")),
    Mutant("moe", "MoELayer", "gate weight of the first chosen expert for every expert",
           _layer(term="weights[token_ids, 0, None] * expert(tokens[token_ids])")),
    Mutant("moe", "MoELayer", "a loop over tokens: every chosen expert called once per token",
           _LAYER_ROUTED.format(body=_PER_TOKEN)),
    Mutant("moe", "MoELayer", "dense: every expert runs on every token, unchosen ones weighted 0",
           _LAYER_ROUTED.format(body=_DENSE)),
    Mutant("moe", "MoELayer", "gate weights detached: no gradient reaches gate_weight",
           _layer(term="weights[token_ids, slot, None].detach() * expert(tokens[token_ids])")),
    Mutant("moe", "MoELayer", "bias added into the gate weights",
           _LAYER_ROUTED.format(body=_BIASED_WEIGHTS)),
    Mutant("moe", "MoELayer", "softmax affinities where sigmoid belongs (no groups)",
           _SOFTMAX_LAYER),
    Mutant("moe", "MoELayer", "routing of the last forward not kept",
           _LAYER_ROUTED.format(body=_LOOP + "\n        self.last_indices = self.last_scores = None")),
    Mutant("moe", "MoELayer", "last_scores detached from the graph",
           _LAYER_ROUTED.format(body=_LOOP + "\n        self.last_scores = self.last_scores.detach()")),
]  # fmt: skip
