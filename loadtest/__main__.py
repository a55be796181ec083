"""`python -m loadtest --host URL --out DIR ...`: one bounded headless load run with its report (see run.py)."""

import sys

from loadtest.run import main

sys.exit(main())
