"""`python -m bench [--quick] [--out DIR]`: the benchmarks (see run.py and docs/benchmarks.md)."""

import sys

from bench.run import main

sys.exit(main())
