"""One look for every figure of the book: readable sizes and a colour-blind-safe palette."""

from __future__ import annotations

import matplotlib as mpl

# Okabe & Ito's palette, distinguishable with the common colour-vision deficiencies.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
    "grey": "#7F7F7F",
}


# Figures are drawn at 100 px per inch of figure width and stored at twice that resolution, so they
# stay sharp on high-density screens and when the browser scales them to the text column.
FIGURE_DPI = 100


def _store_figures_at_double_resolution() -> None:
    """In a Jupyter kernel, store each figure as a 2x PNG whose display size is half its pixels.

    IPython's "retina" format does this: the PNG carries ``width`` and ``height`` metadata at half
    its pixel size, which the book copies into the ``<img>`` tag. Outside a kernel (a script, the
    tests) nothing changes.
    """
    try:
        from IPython import get_ipython
        from matplotlib_inline.config import InlineBackend
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return
    # Setting the trait updates the display formatters now and keeps "retina" when the inline
    # backend is (re)configured later by the first pyplot figure.
    InlineBackend.instance(parent=shell).figure_formats = {"retina"}


def use() -> None:
    """Apply the course's matplotlib settings (call once at the top of a chapter)."""
    _store_figures_at_double_resolution()
    mpl.rcParams.update(
        {
            "figure.figsize": (8, 4.5),
            "figure.dpi": FIGURE_DPI,
            "savefig.dpi": 2 * FIGURE_DPI,
            "savefig.bbox": "tight",
            "font.size": 11,
            "axes.titlesize": 12,
            "axes.labelsize": 11,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.prop_cycle": mpl.cycler(color=list(PALETTE.values())),
            "legend.frameon": False,
        }
    )


def human_number(x: float, dollars: bool = False) -> str:
    """A tick label a reader can take in at a glance: 5.6e6 → "5.6M", with "$" for money."""
    sign = "$" if dollars else ""
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= size and (dollars or size >= 1e6):
            return f"{sign}{x / size:g}{suffix}"
    return f"{sign}{x:,.0f}" if abs(x) >= 1 else f"{sign}{x:g}"
