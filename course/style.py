"""One look for every figure of the book: readable sizes and a colour-blind-safe palette."""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.text import Text

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
# Each stored figure names its smallest text size in a PNG text chunk under this key, so the site
# checks can tell how large that text is on screen (points × 2 × FIGURE_DPI / 72 pixels in the
# PNG, times the browser's scale).
SMALLEST_TEXT_KEY = "Smallest text (pt)"


def smallest_text_pt(fig: Figure) -> float | None:
    """The font size in points of the smallest visible, non-empty text of ``fig`` (None: no text)."""
    sizes = [
        float(text.get_fontsize())
        for text in fig.findobj(Text)
        if text.get_visible() and text.get_text().strip()
    ]
    return min(sizes, default=None)


def figure_png(fig: Figure, **kwargs: Any) -> tuple[str, dict[str, int]] | None:
    """A figure as a base64 PNG at twice its display resolution, with its display size.

    Returns ``(data, {"width": w, "height": h})`` in CSS pixels (half the PNG's pixels), as
    IPython's "retina" format does, or None for an empty figure. The PNG also records the
    figure's smallest text size (``SMALLEST_TEXT_KEY``).
    """
    from IPython.core.pylabtools import retina_figure

    fig.canvas.draw()  # tick labels get their text when drawn
    smallest = smallest_text_pt(fig)
    metadata = {SMALLEST_TEXT_KEY: f"{smallest:g}"} if smallest is not None else {}
    return retina_figure(fig, base64=True, bbox_inches="tight", metadata=metadata, **kwargs)


def _store_figures_at_double_resolution() -> None:
    """In a Jupyter kernel, show every figure with ``figure_png``; elsewhere nothing changes.

    The book copies the display size into the ``<img>`` tag, so a figure is shown at 100 px per
    inch (or narrower, to fit the text column) from twice as many pixels.
    """
    try:
        from IPython import get_ipython
        from matplotlib_inline.config import InlineBackend
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return
    # Importing the inline backend configures IPython's figure display now (it would otherwise do
    # so at the first figure, replacing the formatter set below); "retina" is kept if it is
    # configured again.
    import matplotlib_inline.backend_inline  # noqa: F401

    InlineBackend.instance(parent=shell).figure_formats = {"retina"}
    shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)


def use() -> None:
    """Apply the course's matplotlib settings (call once at the top of a chapter)."""
    _store_figures_at_double_resolution()
    mpl.rcParams.update(
        {
            "figure.figsize": (8, 4.5),
            "figure.dpi": FIGURE_DPI,
            "savefig.dpi": 2 * FIGURE_DPI,
            "savefig.bbox": "tight",
            # 12 pt is 16.7 px at 100 px per inch: at least 11 px on screen for a figure up to
            # 10 inches wide in the desktop text column.
            "font.size": 12,
            "axes.titlesize": 13,
            "axes.labelsize": 12,
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
