"""Diff what a fake answered with what the real service answered, and classify each difference.

Classes, as the issue names them:

- `compatible`: the real answer has a field the fake's lacks, and the gateway never reads it;
- `incompatible`: the fake has a field the real answer lacks, a field's type differs, the status
  code differs, or the fake lacks a field the gateway reads (its tests never saw what it does with it);
- `asserted`: a value differs, and the scenario's test asserts on the fake's value;
- `http`: a value differs and reaches the gateway's HTTP answer;
- `unobserved`: a value differs and nobody looks at it.

What differs between two real answers to the same call (ids, timestamps) is noise and ignored.
A scenario whose test calls or replaces a fake's method by hand put the fake in a state no call
made, which a replay cannot reproduce: its differences are reported apart and never fail the check.
"""

from __future__ import annotations

import ast
import re
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

from purchase_lab.drift.fixtures import FIXTURE_KEYS, LISTING_KEYS, to_fake

FAILING = ("incompatible", "asserted")
ROOT = Path(__file__).resolve().parents[2]
GATEWAY_SOURCES = ROOT / "services" / "gateway"
MISSING = object()


@dataclass(frozen=True)
class Difference:
    """One difference at one field of one call of one scenario, under one downstream flag combination."""

    scenario: str
    flags: str
    call: str
    path: str
    fake: str
    real: str
    kind: str
    why: str
    by_hand: bool = False

    def to_dict(self) -> dict[str, str]:
        """As JSON."""
        return asdict(self)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaves by path (`lines[0].sku`); an empty message is a leaf of its own ({})."""
    if isinstance(value, dict):
        if not value:
            return {prefix: {}} if prefix else {}
        found: dict[str, Any] = {}
        for key, child in value.items():
            found.update(flatten(child, f"{prefix}.{key}" if prefix else key))
        return found
    if isinstance(value, list):
        found = {}
        for index, child in enumerate(value):
            found.update(flatten(child, f"{prefix}[{index}]"))
        return found or {prefix: []}
    return {prefix: value}


def shapes(leaves: dict[str, Any]) -> dict[str, Any]:
    """Leaves with a catalogue listing's items folded into one (`products[*].sku`), the first value kept."""
    folded: dict[str, Any] = {}
    for path, value in leaves.items():
        for key in LISTING_KEYS:
            path = re.sub(rf"(^|\.){key}\[\d+\]", rf"\1{key}[*]", path)
        folded.setdefault(path, value)
    return folded


def keys_of(path: str) -> list[str]:
    """The field names on a path: `lines[0].unit_price.minor_units` -> lines, unit_price, minor_units."""
    return [re.sub(r"\[(\d+|\*)\]", "", part) for part in path.split(".")]


@cache
def gateway_reads() -> frozenset[str]:
    """Every attribute name the gateway's code reads (`.amount`, `.reason`, ...): the fields it may use."""
    names: set[str] = set()
    for source in GATEWAY_SOURCES.rglob("*.py"):
        names.update(re.findall(r"\.([a-z_][a-z0-9_]*)\b", source.read_text(encoding="utf-8")))
    return frozenset(names)


@cache
def test_source(scenario: str) -> str:
    """The source of the scenario's test function ('' when it cannot be found)."""
    file, _, name = scenario.partition("::")
    path = ROOT / file
    if not path.is_file():
        return ""
    name = name.split("[")[0].split("::")[-1]
    text = path.read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return ast.get_source_segment(text, node) or ""
    return ""


# `fakes.cart.PlaceOrder(...)`, `fakes.cart.PlaceOrder = ...`, `setattr(fakes.cart, ...)`.
HAND_SET = re.compile(r"fakes\.\w+\.[A-Z]\w*\s*[(=]|setattr\(\s*fakes\.")


def set_by_hand(scenario: str) -> bool:
    """Whether the scenario's test calls or replaces one of its fakes' methods itself."""
    return bool(HAND_SET.search(test_source(scenario)))


def trivial(value: Any) -> bool:
    """A value too common to trace to an assertion or an answer: empty, zero, true/false, one character."""
    return value in (None, "", 0, False, True, {}, []) or (isinstance(value, str) and len(value) < 3)


def http_values(bodies: list[Any]) -> tuple[set[str], set[str]]:
    """The keys and the leaf values (as text) of the scenario's HTTP answers."""
    keys: set[str] = set()
    values: set[str] = set()
    for body in bodies:
        for path, value in flatten(body).items():
            keys.update(keys_of(path))
            values.add(str(value))
    return keys, values


def reaches_http(path: str, fake: Any, keys: set[str], values: set[str]) -> bool:
    """Whether a field's value shows in the HTTP answers: its value is there, or a key named for it is."""
    names = keys_of(path)
    leaf = names[-1]
    if not trivial(fake) and str(fake) in values:
        return True
    if leaf == "minor_units" and len(names) > 1:
        return any(key.endswith("_cents") and names[-2].split("_")[-1] in key for key in keys)
    return any(key == leaf or key.endswith("_" + leaf) for key in keys)


def asserted(scenario: str, fake: Any) -> bool:
    """Whether the scenario's test names the fake's value (so an assertion may rest on it)."""
    if trivial(fake):
        return False
    source = test_source(scenario)
    return str(fake) in source or repr(fake) in source


def classify_value(scenario: str, path: str, fake: Any, http: tuple[set[str], set[str]]) -> tuple[str, str]:
    """asserted, http or unobserved, and why."""
    if asserted(scenario, fake):
        return "asserted", f"the test names the fake's value {fake!r}"
    if reaches_http(path, fake, *http):
        return "http", "the field's value shows in the gateway's HTTP answer"
    return "unobserved", "no test or HTTP answer shows this value"


def diff_call(
    fake: dict[str, Any], real: dict[str, Any], again: dict[str, Any], real_to_fake: Any
) -> list[tuple[str, Any, Any, str]]:
    """(path, fake value, real value, what) for each field that differs; noise (real vs again) left out."""
    fake_leaves = shapes(flatten(fake))
    real_leaves = {path: real_to_fake(value) for path, value in shapes(flatten(real)).items()}
    again_leaves = {path: real_to_fake(value) for path, value in shapes(flatten(again)).items()}
    found = []
    for path in sorted(fake_leaves.keys() | real_leaves.keys()):
        mine, theirs = fake_leaves.get(path, MISSING), real_leaves.get(path, MISSING)
        if again_leaves.get(path, MISSING) != theirs:
            continue  # varies between two real answers: an id, a time
        if mine is MISSING:
            found.append((path, None, theirs, "fake_lacks"))
        elif theirs is MISSING:
            found.append((path, mine, None, "real_lacks"))
        elif type(mine) is not type(theirs):
            found.append((path, mine, theirs, "type"))
        elif mine != theirs and not (FIXTURE_KEYS | LISTING_KEYS) & set(keys_of(path)):
            found.append((path, mine, theirs, "value"))
    return found


def classify(
    scenario: str,
    flags: str,
    call: str,
    fake: tuple[str, dict[str, Any] | None],
    real: tuple[str, dict[str, Any] | None],
    again: tuple[str, dict[str, Any] | None],
    http: tuple[set[str], set[str]],
    real_to_fake: Any,
) -> list[Difference]:
    """Every classified difference between the fake's answer and the real one to one call."""

    by_hand = set_by_hand(scenario)

    def difference(path: str, mine: Any, theirs: Any, kind: str, why: str) -> Difference:
        return Difference(scenario, flags, call, path, repr(mine), repr(theirs), kind, why, by_hand)

    (fake_status, fake_body), (real_status, real_body), (again_status, again_body) = fake, real, again
    if fake_status != real_status:
        if real_status != again_status:
            return []
        return [difference("(status)", fake_status, real_status, "incompatible", "the status code differs")]
    if fake_body is None or real_body is None or again_body is None:
        return []
    found = []
    for path, mine, theirs, what in diff_call(fake_body, real_body, again_body, real_to_fake):
        read = keys_of(path)[0] in gateway_reads() or keys_of(path)[-1] in gateway_reads()
        if what == "fake_lacks":
            if read:
                found.append(difference(path, mine, theirs, "incompatible", "the fake lacks a field the gateway reads"))
            else:
                found.append(difference(path, mine, theirs, "compatible", "the fake lacks a field nobody reads"))
        elif what == "real_lacks":
            found.append(difference(path, mine, theirs, "incompatible", "the fake has a field the real lacks"))
        elif what == "type":
            found.append(difference(path, mine, theirs, "incompatible", "the field's type differs"))
        else:
            kind, why = classify_value(scenario, path, mine, http)
            found.append(difference(path, mine, theirs, kind, why))
    return found


def default_real_to_fake(value: Any) -> Any:
    """A real leaf value with the fakes' SKUs and codes."""
    return to_fake(value) if isinstance(value, str) else value
