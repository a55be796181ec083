"""Freeze a release: record the hashes of its files in purchase_lab/releases/frozen.json.

    python scripts/freeze_release.py pricing 1.3 services/pricing/releases/v1_3 services/pricing/adjustments.py

A folder stands for every .py file under it. Once frozen, tests/releases/test_frozen.py fails whenever
one of these files changes: a change of behaviour is a new release, never an edit of a released one.
"""

from __future__ import annotations

import argparse
import sys

from purchase_lab.releases import UnknownRelease, find_release
from purchase_lab.releases.freeze import freeze


def main() -> int:
    """Record one release's files; exit 1 with the reason when it cannot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("service")
    parser.add_argument("version")
    parser.add_argument("files", nargs="+", help="files or folders (relative to the repository) of this release")
    options = parser.parse_args()
    try:
        find_release(options.service, options.version)
        recorded = freeze(options.service, options.version, options.files)
    except (UnknownRelease, ValueError) as error:
        print(f"freeze_release: {error}", file=sys.stderr)
        return 1
    print(f"froze {options.service} {options.version}: {len(recorded)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
