"""Read the commands a doc tells a student to run, and what it says they print, straight from its Markdown.

A doc section's ```console blocks hold lines `$ command` followed by the output the command prints;
`…` in an output stands for text that changes from run to run (ids, times). Tests run the commands
and compare what they print, so the doc and the code cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ELLIPSIS = "…"
_BLOCK = re.compile(r"^```console\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass
class Command:
    """One `$ command` of a doc and the output it should print (empty: not checked)."""

    line: str
    output: list[str] = field(default_factory=list)

    def matches(self, printed: str) -> bool:
        """True when printed is the documented output, `…` matching anything."""
        pattern = ".*".join(re.escape(part) for part in "\n".join(self.output).split(ELLIPSIS))
        return re.fullmatch(pattern, printed.rstrip("\n"), re.DOTALL) is not None


@dataclass
class Step:
    """A `###` heading of a doc section and the commands of its console blocks, in order."""

    title: str
    commands: list[Command]


def section(doc: str, heading: str) -> str:
    """The text of one `## heading` section of a Markdown document, up to the next `## `."""
    start = doc.index(f"\n## {heading}\n")
    end = doc.find("\n## ", start + 1)
    return doc[start : end if end != -1 else len(doc)]


def steps(doc_path: Path, heading: str) -> list[Step]:
    """Every `###` step of a section, with the commands of its console blocks."""
    found: list[Step] = []
    for part in section(doc_path.read_text(encoding="utf-8"), heading).split("\n### ")[1:]:
        title, _, body = part.partition("\n")
        commands: list[Command] = []
        for block in _BLOCK.findall(body):
            for line in block.splitlines():
                if line.startswith("$ "):
                    commands.append(Command(line[2:]))
                elif commands:
                    commands[-1].output.append(line)
        found.append(Step(title.strip(), commands))
    return found
