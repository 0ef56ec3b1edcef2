"""The `keepwarm` command: a thin shell over keepwarm.services."""

import os

# One BLAS thread: the rhythm fits are many small vector operations, and OpenBLAS's idle
# worker threads, once woken, halve numpy's speed on small machines. Set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from keepwarm.cli.app import app, main

__all__ = ["app", "main"]
