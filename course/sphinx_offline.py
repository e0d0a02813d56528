"""A small Sphinx extension that keeps the built site free of references to other hosts.

Jupyter Book 1 always loads ``sphinx_thebe``, which writes an inline script naming a CDN copy of
thebe into every page (twice, on some builds). The course does not use live code cells, so the
extension's page scripts are dropped; everything else stays as it is.
"""

from __future__ import annotations

from sphinx.application import Sphinx


def setup(app: Sphinx) -> dict[str, bool]:
    """Disconnect sphinx-thebe's script injection (its only effect on pages)."""
    app.setup_extension("sphinx_thebe")
    for listener in list(app.events.listeners.get("env-before-read-docs", [])):
        if getattr(listener.handler, "__name__", "") == "init_thebe_core":
            app.disconnect(listener.id)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
