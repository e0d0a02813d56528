"""Reference implementations of the exercises, one module per topic (the book imports these)."""
