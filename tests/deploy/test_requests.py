"""A deploy request is checked before anything changes, and each refusal says what to give instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from purchase_lab.deploy.deployer import DeployFailed, deploy_request
from purchase_lab.deploy.measure import parse_reading
from purchase_lab.deploy.state import DeployRecord, previous_release, read_state, remember

pytestmark = pytest.mark.unit


def test_defaults_and_fields_from_a_control_request() -> None:
    request = deploy_request({"op": "deploy", "service": "pricing", "version": "1.2", "window": 5.0, "weight": None})
    assert (request.strategy, request.batch, request.window, request.weight) == ("rolling", 1, 5.0, 10.0)


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"service": "pricing"}, "give SERVICE and VERSION"),
        ({"service": "pricing", "version": "1.2", "batch": 0}, "--batch and --min-calls must be at least 1"),
        ({"service": "pricing", "version": "1.2", "window": 0}, "--window above 0"),
    ],
)
def test_a_bad_request_is_refused(fields: dict[str, object], says: str) -> None:
    with pytest.raises(DeployFailed, match=says):
        deploy_request(fields)


def test_a_reading_sums_calls_errors_and_seconds_of_every_method() -> None:
    family = "purchase_rpc_server_duration_seconds"
    text = "\n".join(
        [
            f"# TYPE {family} histogram",
            f'{family}_count{{release="1.1",rpc_method="GetAdjustment",rpc_response_status_code="OK"}} 30.0',
            f'{family}_sum{{release="1.1",rpc_method="GetAdjustment",rpc_response_status_code="OK"}} 0.3',
            f'{family}_count{{release="1.1",rpc_method="GetAdjustment",rpc_response_status_code="UNKNOWN"}} 10.0',
            f'{family}_sum{{release="1.1",rpc_method="GetAdjustment",rpc_response_status_code="UNKNOWN"}} 0.1',
            f'{family}_count{{release="1.1",rpc_method="GetProduct",rpc_response_status_code="NOT_FOUND"}} 5.0',
            f'{family}_sum{{release="1.1",rpc_method="GetProduct",rpc_response_status_code="NOT_FOUND"}} 0.05',
            "",
        ]
    )
    reading = parse_reading(text)
    assert (reading.calls, reading.errors) == (45, 10)  # NOT_FOUND is a contract answer, not a failure
    assert reading.seconds == pytest.approx(0.45)


def test_state_and_history_live_in_the_run_dir(tmp_path: Path) -> None:
    record = DeployRecord(tmp_path, service="pricing", version="1.2", strategy="rolling")
    record.event("step one")
    record.finish("succeeded", "done")
    state = read_state(tmp_path)
    assert state is not None
    assert state["phase"] == "succeeded"
    assert [event["message"] for event in state["events"]] == ["step one", "done"]
    assert previous_release(tmp_path, "pricing") is None
    remember(tmp_path, "pricing", "1.0", "1.2")
    assert previous_release(tmp_path, "pricing") == "1.0"
