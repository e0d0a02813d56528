"""Your work: one module per topic. `make grade` scores it."""
