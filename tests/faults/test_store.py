"""The rule file: rules added, listed, cleared and expired; many writers at once never lose one."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest

from purchase_lab.faults import SCENARIOS, control_dir, faults_path, replica
from purchase_lab.faults.rules import RuleError
from purchase_lab.faults.scenarios import UnknownScenario
from purchase_lab.faults.store import FaultFileError, FaultStore, UnknownRule

pytestmark = pytest.mark.unit

DOCS = Path(__file__).resolve().parents[2] / "docs" / "faults.md"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> FaultStore:
    return FaultStore(tmp_path / "control", clock=clock)


def test_an_added_rule_is_listed_and_written_to_the_file(store: FaultStore) -> None:
    rule = store.add_rule(service="pricing", error="INTERNAL", rate=0.5, description="half broken")
    assert store.list_rules() == [rule]
    stored = json.loads(store.path.read_text())
    assert stored["version"] == 1
    assert stored["rules"][0]["id"] == rule.id
    assert stored["rules"][0]["description"] == "half broken"


def test_a_bad_rule_is_refused_and_nothing_is_written(store: FaultStore) -> None:
    with pytest.raises(RuleError, match="service='shipping' is not known"):
        store.add_rule(service="shipping", error="INTERNAL")
    assert not store.path.exists()


def test_expired_rules_are_not_listed_and_are_pruned_on_the_next_write(store: FaultStore, clock: Clock) -> None:
    short = store.add_rule(service="cart", error="INTERNAL", ttl_s=10)
    clock.now += 11
    assert store.list_rules() == []
    assert short.id in store.path.read_text()
    store.add_rule(service="email", error="INTERNAL")
    assert short.id not in store.path.read_text()


def test_clear_removes_one_service_or_everything(store: FaultStore) -> None:
    store.add_rule(service="cart", error="INTERNAL")
    kept = store.add_rule(service="email", error="UNAVAILABLE")
    assert [rule.service for rule in store.clear("cart")] == ["cart"]
    assert store.list_rules() == [kept]
    assert store.clear() == [kept]
    assert store.list_rules() == []
    with pytest.raises(RuleError, match="service='shop' is not known"):
        store.clear("shop")


def test_a_rule_is_removed_by_its_id(store: FaultStore) -> None:
    rule = store.add_rule(service="cart", error="INTERNAL")
    assert store.remove_rule(rule.id) == rule
    with pytest.raises(UnknownRule, match=f"no active fault has id '{rule.id}'; `purchase fault list`"):
        store.remove_rule(rule.id)


def test_many_writers_at_once_never_lose_a_rule(store: FaultStore) -> None:
    def add_25() -> None:
        for _ in range(25):
            store.add_rule(service="pricing", latency_ms=1)

    writers = [threading.Thread(target=add_25) for _ in range(8)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert len({rule.id for rule in store.list_rules()}) == 200
    assert [path.name for path in store.directory.iterdir() if path.suffix == ".tmp"] == []


def test_the_file_is_readable_by_services_running_as_other_users(store: FaultStore) -> None:
    store.add_rule(service="cart", error="INTERNAL")
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o644


def test_a_damaged_file_is_reported_and_reset_starts_again(store: FaultStore) -> None:
    store.add_rule(service="cart", error="INTERNAL")
    store.path.write_text("{not json")
    with pytest.raises(FaultFileError, match=r"is not valid JSON .*run `purchase reset`"):
        store.add_rule(service="cart", error="INTERNAL")
    store.reset()
    assert store.list_rules() == []


def test_a_file_with_a_bad_rule_names_the_rule(store: FaultStore) -> None:
    store.directory.mkdir()
    store.path.write_text(json.dumps({"rules": [{"id": "f-1", "service": "cart", "error": "OOPS"}]}))
    with pytest.raises(FaultFileError, match=r"rule 0 \('f-1'\) is invalid: .*error='OOPS' is not a gRPC status"):
        store.list_rules()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_applies_as_rules_that_name_it(store: FaultStore, name: str) -> None:
    rules = store.apply_scenario(name)
    assert rules
    assert store.list_rules() == rules
    assert all(rule.description.startswith(f"scenario {name}: ") for rule in rules)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_is_documented_with_what_a_student_should_see(name: str) -> None:
    docs = DOCS.read_text(encoding="utf-8")
    assert f"### {name}" in docs
    assert SCENARIOS[name].student_sees.split(".")[0] in docs.replace("\n", " ")


def test_applying_a_scenario_again_replaces_its_rules_and_keeps_the_others(store: FaultStore, clock: Clock) -> None:
    other = store.add_rule(service="cart", latency_ms=50)
    store.apply_scenario("email-down")
    clock.now += 100
    again = store.apply_scenario("email-down", ttl_s=30)
    assert store.list_rules() == [other, *again]
    assert again[0].expires_at == clock.now + 30


def test_an_unknown_scenario_lists_the_known_ones(store: FaultStore) -> None:
    with pytest.raises(
        UnknownScenario, match="no scenario is called 'meteor'; choose one of: email-down, pricing-slow"
    ):
        store.apply_scenario("meteor")


def test_the_control_dir_and_replica_come_from_the_environment(tmp_path: Path) -> None:
    assert control_dir({"PURCHASE_CONTROL_DIR": str(tmp_path)}) == tmp_path
    assert control_dir({}) == Path.cwd() / ".run" / "control"
    assert faults_path(tmp_path) == tmp_path / "faults.json"
    assert replica({}) == 1
    assert replica({"PURCHASE_REPLICA": "3"}) == 3
    with pytest.raises(ValueError, match="PURCHASE_REPLICA=0 is out of range"):
        replica({"PURCHASE_REPLICA": "0"})
