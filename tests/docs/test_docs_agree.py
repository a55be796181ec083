"""Texts a student reads in two places are the same text: the docs hold the code's tables and scenarios whole."""

from __future__ import annotations

import re

import pytest

from purchase_lab.cli.flags import rollout_table
from purchase_lab.faults.scenarios import SCENARIOS, Scenario
from services.gateway.checkout_table import markdown_table
from tests.docs.commands import ROOT, section

pytestmark = pytest.mark.unit

DOCS = ROOT / "docs"
GLOSSARY_TERMS = ("eligible", "returning", "employee", "degraded", "hard", "soft", "breaker")


def read(name: str) -> str:
    """A doc's text."""
    return (DOCS / name).read_text(encoding="utf-8")


def scenario_markdown(scenario: Scenario) -> str:
    """How docs/faults.md presents one scenario: title, what it does, its rules, what a student should see."""
    rules = "; ".join(", ".join(f"{field}={value}" for field, value in rule.items()) for rule in scenario.rules)
    title = scenario.title[0].upper() + scenario.title[1:]
    return (
        f"### {scenario.name}\n\n**{title}.** {scenario.does}\n\nRule: `{rules}`\n\n"
        f"What a student should see: {scenario.student_sees}\n"
    )


def test_the_checkout_table_in_the_doc_is_the_one_the_console_explains() -> None:
    assert markdown_table() in read("checkout.md")


def test_every_scenario_is_in_the_faults_doc_whole_and_in_order() -> None:
    documented = section(read("faults.md"), "Scenarios")
    subsections = documented[documented.index("\n### ") + 1 :].rstrip("\n") + "\n"

    assert subsections == "\n".join(scenario_markdown(scenario) for scenario in SCENARIOS.values())


def test_the_flag_commands_table_is_the_one_purchase_flag_help_prints() -> None:
    assert rollout_table() in read("flags.md")


def test_the_glossary_defines_every_term_with_an_anchor() -> None:
    glossary = read("glossary.md")

    headings = re.findall(r"^## (\w+)$", glossary, re.MULTILINE)
    assert headings == list(GLOSSARY_TERMS)


@pytest.mark.parametrize("doc", sorted(path.name for path in DOCS.glob("*.md") if path.name != "glossary.md"))
def test_every_doc_links_to_the_glossary(doc: str) -> None:
    assert "glossary.md" in read(doc)


def test_every_link_to_a_glossary_term_names_one_it_defines() -> None:
    links = {term for path in DOCS.glob("*.md") for term in re.findall(r"glossary\.md#(\w+)", path.read_text())}

    assert links <= set(GLOSSARY_TERMS)
