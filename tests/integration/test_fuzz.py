"""API fuzzing of the real gateway from its live /openapi.json with schemathesis: no server error, no schema violation.

The live document is read, so a route added to the gateway is fuzzed without touching this test. Admin routes
are fuzzed with the token where they only read; the admin routes that change flags or faults would change the
lab under the fuzzer's feet, so they are checked for refusing a missing or wrong token (test_admin_auth.py).

Phases: `examples` and `fuzzing`. The `coverage` phase is left out: in schemathesis 4.32 its "valid" cases fill
the optional X-User-Email header with "0" whatever its pattern says, and report the gateway's 400 as a
schema-valid request rejected.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Lab

pytestmark = pytest.mark.integration

# Generated cases per operation (at most: small inputs run out sooner); 20 operations are fuzzed.
CASES_PER_OPERATION = 100
MIN_CASES = 1000
SEED = 20
# Which answers count as accepting valid data (see the file's comments).
CONFIG = Path(__file__).parents[2] / "schemathesis.toml"


def schemathesis(lab: Lab, report: Path, *options: str) -> dict:
    """Run `schemathesis run` against the lab's /openapi.json with every check; return its JSON report."""
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{lab.gateway_url}/openapi.json",
        "--checks",
        "all",
        "--phases",
        "examples,fuzzing",
        "--max-examples",
        str(CASES_PER_OPERATION),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--no-color",
        "--generation-database",
        "none",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        *options,
    ]
    # In the test's own directory: schemathesis keeps a cache in its working directory.
    done = subprocess.run(command, cwd=report.parent, capture_output=True, text=True, timeout=600, check=False)
    assert report.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(report.read_text(encoding="utf-8"))
    result["output"] = done.stdout[-6000:]
    return result


@pytest.mark.timeout(600)
def test_the_fuzzer_finds_no_server_error_and_no_schema_violation(lab: Lab, tmp_path: Path) -> None:
    shop = schemathesis(lab, tmp_path / "shop.json", "--exclude-path-regex", "^/api/v1/admin/")
    admin_reads = schemathesis(
        lab,
        tmp_path / "admin.json",
        "--include-path-regex",
        "^/api/v1/admin/",
        # schemathesis joins include filters with "or": leave the other methods out instead.
        *("--exclude-method", "POST", "--exclude-method", "PUT", "--exclude-method", "DELETE"),
        "--header",
        f"Authorization: Bearer {lab.admin_token}",
    )
    for result in (shop, admin_reads):
        assert result["failures"] == [], result["output"]
        assert result["errors"] == [], result["output"]
        assert result["operations"]["tested"] > 0, result["output"]
    generated = shop["test_cases"]["generated"] + admin_reads["test_cases"]["generated"]
    assert generated >= MIN_CASES, (shop["test_cases"], admin_reads["test_cases"])
