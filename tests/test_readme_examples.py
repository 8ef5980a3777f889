"""The documentation's examples are true: every ``$ command`` block of the README and of each
page in docs/ is run on the seed region (a fresh graph in a temporary folder per page) and its
output compared with what the page shows, as sqlite-utils and datasette keep their
documentation honest. The ``python`` blocks run too.

After a change that alters outputs (new seed data, a new column), regenerate the shown outputs:

    NESTMAP_UPDATE_README=1 python -m pytest tests/test_readme_examples.py

then read the diff of README.md and docs/ before committing it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import nestmap

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
# Every page that shows examples; the command line's holds most of them.
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
# What the README shows for the places that differ from machine to machine.
SHOWN_DB = "/home/me/.local/share/nestmap/graph.lbug"
SHOWN_SEED = "/home/me/.venv/lib/python3.11/site-packages/nestmap/seed_data/cwm_taf_morgannwg"
UPDATE = os.environ.get("NESTMAP_UPDATE_README") == "1"

_BLOCK = re.compile(r"^```\n(\$ .*?)^```\n", re.MULTILINE | re.DOTALL)
_PYTHON = re.compile(r"^```python\n(.*?)^```\n", re.MULTILINE | re.DOTALL)


def _examples(text: str) -> list[tuple[str, str]]:
    """(command, shown output) for every ``$ `` line of every example block, in order."""
    found = []
    for block in _BLOCK.finditer(text):
        command, output = None, []
        for line in block.group(1).splitlines():
            if line.startswith("$ "):
                if command is not None:
                    found.append((command, "\n".join(output)))
                command, output = line[2:], []
            else:
                output.append(line)
        found.append((str(command), "\n".join(output)))
    return found


def normalise(text: str) -> str:
    """What may differ between runs and machines: durations, load times, file hashes, who
    loaded the graph (the OS user), the alignment that follows from their widths, and a slow
    load's progress lines."""
    text = "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("… "))
    text = re.sub(r"\b\d+\.\d+ s\b", "N s", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+\d\d:\d\d|Z)?", "TIME", text)
    text = re.sub(r"\b[0-9a-f]{12,64}\b", "HASH", text)
    text = re.sub(r"(?m)^(loaded_by +).*$", r"\1USER", text)
    lines = [
        re.sub(r"-{3,}", "---", re.sub(r" +", " ", line)).rstrip() for line in text.split("\n")
    ]
    return "\n".join(lines).strip("\n")


def _broken_copy(seed: Path, target: Path) -> Path:
    """The seed region with the README's two mistakes: a level of ``tier3``, a ghost target."""
    shutil.copytree(seed, target)
    for name, column, value in (("offers.csv", 1, "tier3"), ("referrals.csv", 1, "ghost")):
        path = target / name
        lines = path.read_text(encoding="utf-8").split("\n")
        cells = lines[1].split(",")
        cells[column] = value
        lines[1] = ",".join(cells)
        path.write_text("\n".join(lines), encoding="utf-8")
    return target


def _session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A shell session's folder and environment: a fresh graph, the venv's commands first."""
    folder = tmp_path_factory.mktemp("readme")
    _broken_copy(nestmap.seed(), folder / "broken")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("NESTMAP_") and key != "PYTHONPATH"
    }
    env["NESTMAP_DB"] = str(folder / "graph.lbug")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["COLUMNS"] = "200"
    return folder, env


def _run(command: str, folder: Path, env: dict[str, str]) -> str:
    completed = subprocess.run(
        ["bash", "-c", command],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    # A load slower than 2 s reports its steps on stderr: how fast, not what, so not shown.
    lines = [line for line in completed.stdout.split("\n") if not line.lstrip().startswith("… ")]
    shown = "\n".join(lines).replace(env["NESTMAP_DB"], SHOWN_DB)
    return shown.replace(str(nestmap.seed()), SHOWN_SEED).rstrip("\n")


def test_the_command_line_page_shows_every_kind_of_example():
    examples = _examples((ROOT / "docs" / "command-line.md").read_text(encoding="utf-8"))
    assert len(examples) >= 15 and examples[0][0].startswith("nestmap load")
    shown = {command.split()[1] for command, _ in examples}
    assert {"load", "gaps", "misdirected", "boundaries", "pathways", "need", "query"} <= shown


@pytest.mark.parametrize(
    "document",
    [d for d in DOCUMENTS if _examples(d.read_text(encoding="utf-8"))],
    ids=lambda p: p.name,
)
def test_command_examples_print_what_the_page_shows(document, tmp_path_factory):
    folder, env = _session(tmp_path_factory)
    text = document.read_text(encoding="utf-8")
    examples = _examples(text)
    # Each page's examples start from a loaded seed region, as a reader following them would.
    assert examples[0][0].startswith("nestmap load"), document.name
    actual = [(command, _run(command, folder, env)) for command, _shown in examples]
    if UPDATE:
        document.write_text(_rewrite(text, dict(actual)), encoding="utf-8")
        return
    for (command, shown), (_, got) in zip(examples, actual, strict=True):
        assert normalise(got) == normalise(shown), f"$ {command}\n--- {document.name} ---\n{shown}"


def _rewrite(text: str, outputs: dict[str, str]) -> str:
    """The README with every example block's outputs replaced by ``outputs`` (by command)."""

    def block(match: re.Match[str]) -> str:
        lines = []
        for line in match.group(1).splitlines():
            if line.startswith("$ "):
                lines.append(line)
                if outputs[line[2:]]:
                    lines += [shown.rstrip() for shown in outputs[line[2:]].split("\n")]
        return "```\n" + "\n".join(lines) + "\n```\n"

    return _BLOCK.sub(block, text)


@pytest.mark.parametrize(
    "document",
    [d for d in DOCUMENTS if _PYTHON.findall(d.read_text(encoding="utf-8"))],
    ids=lambda p: p.name,
)
def test_python_examples_run(document, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NESTMAP_NEO4J_URI", raising=False)
    monkeypatch.setenv("NESTMAP_DB", str(tmp_path / "default.lbug"))
    for code in _PYTHON.findall(document.read_text(encoding="utf-8")):
        exec(compile(code, document.name, "exec"), {"__name__": "readme"})


def test_the_readme_shows_the_python_api():
    assert _PYTHON.findall(README.read_text(encoding="utf-8"))


def test_normalise_keeps_what_matters():
    shown = "Loaded 'x' into /a (embedded) in 1.1 s\nloaded_at  2026-11-23T17:38:22+00:00"
    got = "Loaded 'x' into /a (embedded) in 12.7 s\nloaded_at  2026-11-28T08:00:01+00:00"
    assert normalise(shown) == normalise(got)
    assert normalise("count  3") != normalise("count  7")
