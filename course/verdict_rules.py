"""Verdicts as the output of stated rules, applied to what the chapters compute.

A verdict on a news claim is decided by five rules, tried in order; the first whose condition
holds gives the verdict:

====  ==============================================================  ============
rule  condition                                                       verdict
====  ==============================================================  ============
R1    no primary or market evidence for the quantity the sentence      unverifiable
      states (only estimates, assertions, or nothing)
R2    the evidence disagrees with the claim, and no narrower reading   wrong
      of the claim agrees with evidence either
R3    the evidence disagrees with the claim as stated, but the claim's  misleading
      number agrees with the evidence for something narrower
R4    the evidence agrees, but the sentence leaves out costs or         simplified
      conditions that a source names
R5    the evidence agrees and nothing named is left out                accurate
====  ==============================================================  ============

"Agrees" for numbers means within a relative tolerance (``TOLERANCE``, 5%: wide enough for a
figure rounded to two significant figures, as news figures are); for a date, the same day; for a
claim without a number, a stated test. Three inputs need judgment and are data, not arithmetic:
which quantity the sentence states (and which narrower reading to try), whether a source counts
as evidence, and which omissions are named. The closing chapter shows each claim's inputs.

:func:`rule_inputs` computes every claim's inputs from the claims ledger, the sourced figures
and the course's reference data; :func:`verdicts` applies the rules. Chapter 1's ledger shows
these verdicts, and the self-checks compare them with the statuses recorded in the ledger.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache

from course.claims import claim, claims
from course.facts import fact, value
from course.formats import get_format
from course.precision_reference import ADAM_MOMENTS, BF16_MIXED, DEEPSEEK_V3, Recipe

TOLERANCE = 0.05  # relative; a figure rounded to 2 significant figures is off by at most ~4.8%

EVIDENCE_KINDS = ("primary", "market", "none")


@dataclass(frozen=True)
class Rule:
    """One rule of the verdict set: its identifier, its condition in words, its verdict."""

    id: str
    condition: str
    verdict: str


RULES: tuple[Rule, ...] = (
    Rule(
        "R1", "no primary or market evidence for the quantity the sentence states", "unverifiable"
    ),
    Rule("R2", "the evidence disagrees, and no narrower reading agrees either", "wrong"),
    Rule(
        "R3",
        "the evidence disagrees with the claim as stated, but agrees with its number for "
        "something narrower",
        "misleading",
    ),
    Rule(
        "R4",
        "the evidence agrees, but the sentence leaves out named costs or conditions",
        "simplified",
    ),
    Rule("R5", "the evidence agrees and nothing named is left out", "accurate"),
)


def within(
    claimed: float | tuple[float, float], evidence: float, tolerance: float = TOLERANCE
) -> bool:
    """Whether a claimed number (or range) agrees with the evidence, within a relative tolerance.

    Args:
        claimed: the claimed figure, or a (low, high) range of figures, in the evidence's unit.
        evidence: the figure the sources give or the chapters compute.
        tolerance: relative tolerance (0.05 is 5%); a range is widened by it at both ends.

    Returns:
        For a number, |claimed − evidence| ≤ tolerance × |evidence|; for a range,
        low × (1 − tolerance) ≤ evidence ≤ high × (1 + tolerance).
    """
    if isinstance(claimed, tuple):
        low, high = claimed
        return low * (1 - tolerance) <= evidence <= high * (1 + tolerance)
    return abs(claimed - evidence) <= tolerance * abs(evidence)


def relative_gap(claimed: float, evidence: float) -> float:
    """(claimed − evidence) / evidence: the signed relative distance of a claim from the evidence."""
    return (claimed - evidence) / evidence


@dataclass(frozen=True)
class Reading:
    """One reading of a claim, compared with the evidence for it.

    Attributes:
        what: the quantity this reading compares, in words.
        claimed: the claim's figure for it, as displayed (e.g. "\\$5.5M").
        evidence: the evidence's figure for it, as displayed, or "" when there is none.
        agrees: the comparison's outcome; None when there is no evidence to compare with.
        test: how agreement was decided, in words (e.g. "1.4% apart, within 5%").
    """

    what: str
    claimed: str
    evidence: str
    agrees: bool | None
    test: str


@dataclass(frozen=True)
class RuleInputs:
    """Everything the rules read for one claim.

    Attributes:
        claim_id: the ledger's identifier of the claim.
        evidence_kind: "primary" (the maker's own document), "market" (exchange data as
            reported), or "none" (only estimates, assertions, or nothing) for the quantity the
            sentence states.
        source: what the evidence is, in words.
        stated: the claim read as the sentence states it.
        narrower: a narrower reading tried when the stated one disagrees, or None.
        omitted: costs or conditions that a source names and the sentence leaves out.
        judgment: where the inputs rest on judgment rather than arithmetic, in words.
    """

    claim_id: str
    evidence_kind: str
    source: str
    stated: Reading
    narrower: Reading | None = None
    omitted: tuple[str, ...] = ()
    judgment: str = ""

    def __post_init__(self) -> None:
        """Reject an unknown kind of evidence, naming the known ones."""
        if self.evidence_kind not in EVIDENCE_KINDS:
            raise ValueError(f"evidence_kind {self.evidence_kind!r} is not one of {EVIDENCE_KINDS}")


@dataclass(frozen=True)
class Finding:
    """The outcome of the rules for one claim: the rule that fired and its verdict."""

    claim_id: str
    rule: Rule
    inputs: RuleInputs = field(repr=False)

    @property
    def verdict(self) -> str:
        """The verdict of the rule that fired."""
        return self.rule.verdict


def decide(inputs: RuleInputs) -> Finding:
    """Apply the rules R1–R5 in order to one claim's inputs; the first that holds decides.

    Args:
        inputs: the claim's evidence kind, its stated (and narrower) readings and the named
            omissions.

    Returns:
        The rule that fired, with its verdict.
    """
    by_id = {r.id: r for r in RULES}
    if inputs.evidence_kind == "none":
        fired = "R1"
    elif not inputs.stated.agrees:
        narrower_agrees = inputs.narrower is not None and bool(inputs.narrower.agrees)
        fired = "R3" if narrower_agrees else "R2"
    elif inputs.omitted:
        fired = "R4"
    else:
        fired = "R5"
    return Finding(inputs.claim_id, by_id[fired], inputs)


# --- the inputs of each claim ------------------------------------------------------------------


def _musd(x: float, digits: int = 1) -> str:
    return f"${x / 1e6:,.{digits}f}M"


def _numeric(
    what: str, claimed: float | tuple[float, float], evidence: float, shown: tuple[str, str]
) -> Reading:
    """A reading whose agreement is decided by ``within``; ``shown`` is (claimed, evidence) as text."""
    agrees = within(claimed, evidence)
    if isinstance(claimed, tuple):
        test = f"{'inside' if agrees else 'outside'} the range widened by {TOLERANCE:.0%}"
    else:
        gap = abs(relative_gap(claimed, evidence))
        size = f"{gap:.1%} apart" if gap < 1 else f"{claimed / evidence:.1f}× the evidence"
        test = f"{size}, {'within' if agrees else 'beyond'} {TOLERANCE:.0%}"
    return Reading(what, shown[0], shown[1], agrees, test)


def state_bytes(recipe: Recipe) -> dict[str, float]:
    """Bytes per parameter of each training state of a recipe (weights, master, gradients, Adam).

    The same count as the precision chapter's exercise: a format of b bits takes b / 8 bytes,
    and Adam keeps two moments.
    """

    def size(name: str | None) -> float:
        return 0.0 if name is None else get_format(name).bits / 8

    return {
        "weights": size(recipe.weights),
        "master_weights": size(recipe.master_weights),
        "gradients": size(recipe.gradients),
        "adam_moments": ADAM_MOMENTS * size(recipe.adam_moments),
    }


def fp32_share(recipe: Recipe) -> float:
    """Fraction of a recipe's per-parameter training state held in FP32."""
    per_state = state_bytes(recipe)
    fp32 = sum(n for state, n in per_state.items() if getattr(recipe, state) == "fp32")
    return fp32 / sum(per_state.values())


def table1_cost() -> float:
    """DeepSeek-V3's Table 1 recomputed: GPU-hours of the three stages × the assumed price, USD."""
    stages = ("v3_gpu_hours_pretrain", "v3_gpu_hours_context", "v3_gpu_hours_post")
    return sum(value(k) for k in stages) * value("v3_price_per_gpu_hour")


def _training_cost() -> RuleInputs:
    q = claim("training-cost").quantity
    cost = table1_cost()
    agree_all = (
        all(within(float(q[k]), cost) for k in ("value", "article_b"))
        and cost < q["article_b_below"]
    )
    test = (
        f"{abs(relative_gap(float(q['value']), cost)):.1%} and "
        f"{abs(relative_gap(float(q['article_b']), cost)):.1%} apart, within {TOLERANCE:.0%}; "
        f"below {_musd(q['article_b_below'], 0)}"
    )
    stated = Reading(
        "V3's training cost: GPU-hours × price",
        f"{_musd(q['value'])}, {_musd(q['article_b'], 2)}, under {_musd(q['article_b_below'], 0)}",
        f"{_musd(cost, 3)} (Table 1)",
        agree_all,
        test,
    )
    return RuleInputs(
        "training-cost",
        "primary",
        "DeepSeek-V3 report, Table 1",
        stated,
        omitted=("research and ablation runs before the final run, which the report excludes",),
        judgment="only the report's own exclusion is counted as named; owning the cluster, the "
        "staff and the data are outside the figure too, and would only add to it",
    )


def _rivals_cost() -> RuleInputs:
    q = claim("rivals-cost").quantity
    low, high = float(q["low"]), float(q["high"])
    stated = Reading(
        "what Google and OpenAI spent on training",
        f"{_musd(low, 0)}–{_musd(high, 0)}",
        "",
        None,
        "no company figure to compare with",
    )
    narrower = _numeric(
        "GPT-4's compute, outside estimate",
        (low, high),
        value("gpt4_compute_cost_est"),
        (
            f"{_musd(low, 0)}–{_musd(high, 0)}",
            f"{_musd(value('gpt4_compute_cost_est'), 0)} (estimate)",
        ),
    )
    return RuleInputs(
        "rivals-cost",
        "none",
        "outside estimates (secondary) and an executive's remark reported by the press",
        stated,
        narrower=narrower,
        judgment="an outside estimate, and a remark that gives only a lower bound of unstated "
        "scope, are not counted as evidence",
    )


def _gpu_count() -> RuleInputs:
    q = claim("gpu-count").quantity
    stated = Reading(
        "GPUs DeepSeek owns",
        f"{float(q['value']):,.0f}",
        "",
        None,
        "no document gives the fleet's size",
    )
    return RuleInputs(
        "gpu-count",
        "none",
        "an assertion on television; the report documents only the cluster used for V3",
        stated,
        judgment="the documented cluster measures what trained V3, not what the company owns",
    )


def _highflyer_cluster() -> RuleInputs:
    claimed = float(claim("highflyer-cluster").quantity["value"])
    evidence = value("highflyer_a100s")
    stated = _numeric(
        "A100 GPUs in High-Flyer's cluster",
        claimed,
        evidence,
        (f"{claimed:,.0f}", f"about {evidence:,.0f} (Fire-Flyer 2 paper)"),
    )
    return RuleInputs("highflyer-cluster", "primary", "Fire-Flyer 2 paper", stated)


def _fp32_baseline() -> RuleInputs:
    claimed = float(claim("fp32-baseline").quantity["value"])
    gemm_bits = float(get_format(BF16_MIXED.weights).bits)
    master_bits = float(get_format(BF16_MIXED.master_weights or "fp32").bits)
    stated = _numeric(
        "bits of the numbers the usual recipe multiplies",
        claimed,
        gemm_bits,
        (f"{claimed:.0f}", f"{gemm_bits:.0f} (BF16 mixed precision)"),
    )
    narrower = _numeric(
        "bits of the usual recipe's master weights and Adam moments",
        claimed,
        master_bits,
        (
            f"{claimed:.0f}",
            f"{master_bits:.0f}: {fp32_share(BF16_MIXED):.0%} of its bytes per parameter",
        ),
    )
    return RuleInputs(
        "fp32-baseline",
        "primary",
        "the V3 report's FP8-against-BF16 comparison; the precision chapter's recipes",
        stated,
        narrower=narrower,
        judgment="the sentence is read as being about arithmetic, because it contrasts 32 bits with "
        "DeepSeek's 8-bit matrix products",
    )


def _fp8_memory() -> RuleInputs:
    claimed = float(claim("fp8-memory").quantity["value"])
    ours, theirs = (sum(state_bytes(r).values()) for r in (DEEPSEEK_V3, BF16_MIXED))
    saving = 1 - ours / theirs
    one_value = 1 - get_format("e4m3").bits / get_format("fp32").bits
    stated = _numeric(
        "training memory per parameter saved by V3's recipe against BF16 mixed precision",
        claimed,
        saving,
        (f"{claimed:.0%}", f"{saving:.2%} ({ours:g} against {theirs:g} bytes)"),
    )
    narrower = _numeric(
        "memory of one stored value, FP32 to FP8",
        claimed,
        one_value,
        (f"{claimed:.0%}", f"{one_value:.0%}"),
    )
    return RuleInputs(
        "fp8-memory",
        "primary",
        "the V3 report's recipe (§3.3); the precision chapter's count",
        stated,
        narrower=narrower,
        judgment="the baseline is BF16 mixed precision, the recipe the report measures FP8 against",
    )


def _moe_active() -> RuleInputs:
    share = value("v3_active_params") / value("v3_total_params")
    stated = Reading(
        "part of the parameters used per token",
        "no number",
        f"{value('v3_active_params') / 1e9:.0f}B of {value('v3_total_params') / 1e9:.0f}B ({share:.1%})",
        share < 0.5,
        "test: fewer than half of the parameters",
    )
    return RuleInputs(
        "moe-active",
        "primary",
        "DeepSeek-V3 report §4.2; the parameter chapter's count",
        stated,
        omitted=(
            "attention, the shared expert, the dense layers and the output head serve every token",
            "selection adds a balancing bias and a limit of nodes per token",
        ),
        judgment="both are counted as named because the report describes them",
    )


def serving_day() -> dict[str, float]:
    """DeepSeek's published serving day (27–28 Feb 2025) and what follows from it, in USD and tokens.

    Returns:
        ``cost`` (USD per day at the assumed GPU-hour price), ``tokens`` (input + output),
        ``usd_per_m_tokens`` (cost per million tokens of either kind), ``usd_per_m_output``
        (the whole cost charged to output tokens), ``r1_revenue`` (every token at R1's list
        prices), ``o1_revenue`` (the same tokens at o1's list prices), ``price_ratio``
        (o1 ÷ R1 on this token mix) and ``price_ratio_low``/``_high`` (the smallest and largest
        per-kind ratio). The cost split between phases by the node-hours each needed at its
        published throughput per node: ``node_hours_used``, ``prefill_share``,
        ``usd_per_m_input_split`` and ``usd_per_m_output_split`` (USD per million tokens), and
        o1's list prices over them, ``o1_input_over_cost`` (cache-miss input) and
        ``o1_output_over_cost``.
    """
    gpu_hours = value("serving_nodes_avg") * value("serving_gpus_per_node") * 24
    cost = gpu_hours * value("v3_price_per_gpu_hour")
    inputs, hits, outputs = (
        value(k)
        for k in ("serving_input_tokens", "serving_input_cache_hit_tokens", "serving_output_tokens")
    )
    mix = {"miss": inputs - hits, "hit": hits, "out": outputs}  # tokens per day
    r1 = {"miss": "r1_price_input_miss", "hit": "r1_price_input_hit", "out": "r1_price_output"}
    o1 = {"miss": "o1_price_input", "hit": "o1_price_input_cached", "out": "o1_price_output"}
    r1_revenue = sum(n / 1e6 * value(r1[k]) for k, n in mix.items())
    o1_revenue = sum(n / 1e6 * value(o1[k]) for k, n in mix.items())
    # node-hours each phase needed at its published throughput per node
    prefill_hours = inputs / value("serving_prefill_tps_node") / 3600
    decode_hours = outputs / value("serving_decode_tps_node") / 3600
    prefill_share = prefill_hours / (prefill_hours + decode_hours)
    per_m_input = prefill_share * cost / (inputs / 1e6)
    per_m_output = (1 - prefill_share) * cost / (outputs / 1e6)
    per_kind = [value(o1[k]) / value(r1[k]) for k in mix]
    return {
        "gpu_hours": gpu_hours,
        "cost": cost,
        "tokens": inputs + outputs,
        "usd_per_m_tokens": cost / ((inputs + outputs) / 1e6),
        "usd_per_m_output": cost / (outputs / 1e6),
        "r1_revenue": r1_revenue,
        "o1_revenue": o1_revenue,
        "price_ratio": o1_revenue / r1_revenue,
        "price_ratio_low": min(per_kind),
        "price_ratio_high": max(per_kind),
        "node_hours_used": prefill_hours + decode_hours,
        "prefill_share": prefill_share,
        "usd_per_m_input_split": per_m_input,
        "usd_per_m_output_split": per_m_output,
        "o1_input_over_cost": value(o1["miss"]) / per_m_input,
        "o1_output_over_cost": value(o1["out"]) / per_m_output,
    }


def _serving_price() -> RuleInputs:
    q = claim("serving-price").quantity
    band = (float(q["low"]), float(q["high"]))
    day = serving_day()
    claimed = f"{band[0]:.0f}–{band[1]:.0f}×"
    # Part 1, the cost to operate: DeepSeek's own cost per token is published, OpenAI's is not.
    # The most a reader can compute is o1's *price* over DeepSeek's cost: a bound on the cost
    # ratio only if o1 is not sold below its cost.
    stated = Reading(
        "OpenAI's cost to operate ÷ DeepSeek's",
        claimed,
        f"at most {day['o1_output_over_cost']:.0f}× (output) and "
        f"{day['o1_input_over_cost']:.0f}× (input) if o1 is sold at or above cost: o1's list "
        f"prices ÷ DeepSeek's ${day['usd_per_m_output_split']:.2f} and "
        f"${day['usd_per_m_input_split']:.3f} per million tokens",
        None,
        "OpenAI's cost is not published; the bound neither confirms nor rules out the claim",
    )
    # Part 2, the price to users: list prices, per kind and on DeepSeek's own token mix.
    narrower = _numeric(
        "o1's list prices ÷ R1's, on DeepSeek's own token mix",
        band,
        day["price_ratio"],
        (
            claimed,
            f"{day['price_ratio']:.1f}× on the mix, {day['price_ratio_low']:.0f}–"
            f"{day['price_ratio_high']:.0f}× by kind (prices to users)",
        ),
    )
    return RuleInputs(
        "serving-price",
        "none",
        "list prices; DeepSeek's own serving statistics for one day (published after the news, "
        "not audited); nothing from OpenAI",
        stated,
        narrower=narrower,
        judgment="a price to users is not a cost to operate; DeepSeek's cost assumes $2 per "
        "GPU-hour and splits the day's bill between input and output by the node-hours each "
        "phase needed at its published throughput",
    )


def _nvidia_drop() -> RuleInputs:
    q = claim("nvidia-drop").quantity
    pct, lost = float(q["percent"]), float(q["value_lost"])
    close = (
        100 * (value("nvda_close_after") - value("nvda_close_before")) / value("nvda_close_before")
    )
    lost_close = value("nvda_value_lost_close")
    agrees = within(pct, close) and within(lost, lost_close)
    test = (
        f"{abs(relative_gap(pct, close)):.0%} and {abs(relative_gap(lost, lost_close)):.0%} apart, "
        f"beyond {TOLERANCE:.0%}"
        if not agrees
        else f"within {TOLERANCE:.0%}"
    )
    stated = Reading(
        "the day's fall: share price and market value lost",
        f"{pct:.0f}%, ${lost / 1e9:.0f}B",
        f"{close:.1f}%, ${lost_close / 1e9:.0f}B (at the close)",
        agrees,
        test,
    )
    narrower = Reading(
        "the fall at some moment during the day",
        f"{pct:.0f}%, ${lost / 1e9:.0f}B",
        "",
        None,
        "no intraday prices in the course's sources",
    )
    return RuleInputs(
        "nvidia-drop",
        "market",
        "closing prices and the reported loss (financial press, secondary)",
        stated,
        narrower=narrower,
        judgment="the article's pair is self-consistent, which suggests a snapshot during the "
        "day; without intraday prices that reading is not evidence",
    )


def _r1_release() -> RuleInputs:
    claimed = dt.date.fromisoformat(claim("r1-release").quantity["date"])
    released = dt.date.fromisoformat(str(fact("r1_release_date").value))
    stated = Reading(
        "R1's release date",
        f"{claimed:%d %b %Y}",
        f"{released:%d %b %Y}",
        claimed == released,
        "same day" if claimed == released else f"{abs((claimed - released).days)} days apart",
    )
    return RuleInputs("r1-release", "primary", "DeepSeek's release", stated)


def r1_rl_bill() -> dict[str, float]:
    """R1's reported training stages on top of V3-Base, recomputed from the reported runs.

    Returns:
        ``gpu_hours`` (R1-Zero's run, the SFT data and R1's stages, H800 GPU-hours), ``usd`` (at
        V3's assumed price per GPU-hour), ``v3_usd`` (V3's Table 1) and ``share`` (R1's stages
        as a share of the two together).
    """
    hours = (
        value("r1_zero_gpus") * value("r1_zero_hours")
        + value("r1_sft_data_gpu_hours")
        + value("r1_gpus") * value("r1_hours")
    )
    usd = hours * value("v3_price_per_gpu_hour")
    v3 = table1_cost()
    return {"gpu_hours": hours, "usd": usd, "v3_usd": v3, "share": usd / (usd + v3)}


def _r1_cost_undisclosed() -> RuleInputs:
    published = dt.date.fromisoformat(str(fact("r1_cost_published").value))
    released = dt.date.fromisoformat(str(fact("r1_release_date").value))
    months = (published.year - released.year) * 12 + published.month - released.month
    # The article appeared in the week after R1's release (its own words: "released last
    # week"), so any date in the weeks after the release stands for it; a month is generous.
    article_by = released + dt.timedelta(days=31)
    bill = r1_rl_bill()
    stated = Reading(
        "a published figure for R1's training cost when the article appeared",
        "none published",
        f"none until {published:%d %b %Y}, {months} months after R1's release; then "
        f"≈${value('r1_rl_cost_reported') / 1e3:,.0f}K for the RL stages (as reported; "
        f"{bill['gpu_hours'] / 1e3:,.0f}K GPU-hours recomputed)",
        published > article_by,
        "first published after the article's date",
    )
    return RuleInputs(
        "r1-cost-undisclosed",
        "primary",
        "DeepSeek's R1 report of January 2025 (no cost figure) and the Nature paper of "
        "September 2025 (the first one), as reported",
        stated,
        judgment="the sentence describes January 2025; the RL stages' cost published later does "
        "not make it wrong then, and the research behind V3 and R1 is still unpublished",
    )


_INPUTS = {
    "training-cost": _training_cost,
    "rivals-cost": _rivals_cost,
    "gpu-count": _gpu_count,
    "highflyer-cluster": _highflyer_cluster,
    "fp32-baseline": _fp32_baseline,
    "fp8-memory": _fp8_memory,
    "moe-active": _moe_active,
    "serving-price": _serving_price,
    "nvidia-drop": _nvidia_drop,
    "r1-release": _r1_release,
    "r1-cost-undisclosed": _r1_cost_undisclosed,
}


def rule_inputs(claim_id: str) -> RuleInputs:
    """The rule inputs of the claim called ``claim_id``, computed from the ledger and the facts."""
    if claim_id not in _INPUTS:
        raise KeyError(f"no rule inputs for claim {claim_id!r}; known: {', '.join(_INPUTS)}")
    return _INPUTS[claim_id]()


@cache
def findings() -> dict[str, Finding]:
    """Every claim of the ledger, in ledger order, with the rule that fired for it."""
    missing = [c.id for c in claims() if c.id not in _INPUTS]
    if missing:
        raise KeyError(f"claims without rule inputs: {missing}")
    return {c.id: decide(rule_inputs(c.id)) for c in claims()}


def verdicts() -> dict[str, str]:
    """Every claim's computed verdict, keyed by claim id, in ledger order."""
    return {claim_id: f.verdict for claim_id, f in findings().items()}
