"""`python -m purchase_lab.cli`: the same as the installed `purchase` command."""

import sys

from purchase_lab.cli import main

sys.exit(main())
