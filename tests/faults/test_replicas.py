"""Processes of one service claim distinct replica numbers in the shared control dir, and free them when they end."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from purchase_lab.faults.replicas import ReplicaClaim, claim_replica

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

Claim = Callable[[str, int], ReplicaClaim]


@pytest.fixture
def claim(tmp_path: Path) -> Iterator[Claim]:
    """Claim numbers in a fresh control dir, as a process would; every claim is released after the test."""
    made: list[ReplicaClaim] = []

    def make(service: str, wanted: int) -> ReplicaClaim:
        made.append(claim_replica(service, wanted, tmp_path))
        return made[-1]

    yield make
    for done in made:
        done.release()


def test_processes_without_a_number_number_themselves_1_2_3(claim: Claim) -> None:
    claims = [claim("pricing", 1) for _ in range(3)]

    assert [claim.number for claim in claims] == [1, 2, 3]


def test_a_given_number_is_kept_when_free_and_other_services_do_not_count(claim: Claim) -> None:
    cart = claim("cart", 2)
    pricing = claim("pricing", 2)

    assert (cart.number, pricing.number) == (2, 2)
    assert claim("pricing", 2).number == 1  # taken: the lowest free one instead


def test_a_released_number_is_claimed_again(claim: Claim) -> None:
    first, second = claim("email", 1), claim("email", 1)
    first.release()

    assert (second.number, claim("email", 1).number) == (2, 1)


def test_a_killed_process_frees_its_number(claim: Claim, tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from purchase_lab.faults.replicas import claim_replica; "
        "claim = claim_replica('pricing', 1, Path(sys.argv[1])); print(claim.number, flush=True); time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "1"
        assert claim("pricing", 1).number == 2
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()

    assert claim("pricing", 1).number == 1


def test_a_control_dir_that_cannot_be_made_keeps_the_given_number(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the control dir should be", encoding="utf-8")

    claim = claim_replica("pricing", 3, blocker)

    assert (claim.number, claim.lock) == (3, None)
