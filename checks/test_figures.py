"""The course's figure format: PNGs at twice their display size that name their smallest text."""

from __future__ import annotations

import base64
import io

import matplotlib.pyplot as plt
import pytest
from PIL import Image

from course import style


@pytest.fixture
def figure():
    style.use()
    fig, ax = plt.subplots(figsize=(4, 2))
    ax.plot([0, 1], [0, 1], label="a line")
    ax.legend()
    ax.annotate("small note", (0.5, 0.5), fontsize=7)
    yield fig
    plt.close(fig)


def test_figures_are_stored_at_twice_their_display_size(figure):
    data, size = style.figure_png(figure)
    with Image.open(io.BytesIO(base64.b64decode(data))) as image:
        assert (size["width"], size["height"]) == (image.width // 2, image.height // 2)
        assert 0.9 * 4 * style.FIGURE_DPI <= size["width"] <= 1.1 * 4 * style.FIGURE_DPI
        assert image.text[style.SMALLEST_TEXT_KEY] == "7"


def test_smallest_text_ignores_empty_and_hidden_text(figure):
    figure.axes[0].set_title("")
    hidden = figure.axes[0].text(0, 0, "hidden", fontsize=3)
    hidden.set_visible(False)
    assert style.smallest_text_pt(figure) == 7
