"""The README is the front door a newcomer reads: short, the two commands first, a link to every
page of docs/. The reference it points to stays complete: every command is documented in
docs/command-line.md and every query in docs/analyses.md (docs tested, as sqlite-utils does),
every relative link in the documentation resolves, and no page refers to the team's internal
issue numbers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nestmap import cli, queries

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMAND_LINE = (DOCS / "command-line.md").read_text(encoding="utf-8")
ANALYSES = (DOCS / "analyses.md").read_text(encoding="utf-8")
# Every page a user reads: the README, docs/ and the Markdown shipped inside the package.
DOCUMENTS = [ROOT / "README.md", *sorted(DOCS.glob("*.md")), *sorted(ROOT.glob("nestmap/**/*.md"))]


@pytest.mark.parametrize("command", sorted(cli.app.commands))
def test_every_command_is_documented(command):
    assert f"### nestmap {command}" in COMMAND_LINE
    assert f"`nestmap {command}" in README or f"`{command}`" in README or f", {command}" in README


@pytest.mark.parametrize("name", queries.names())
def test_every_query_is_documented(name):
    documented = name in ANALYSES or (name.startswith("write_") and "`write_*`" in ANALYSES)
    assert documented, name


def test_two_commands_come_first():
    first = README.index("pip install . && nestmap demo")
    second = README.index("bash .ci/run")
    assert first < second < README.index("## A tour") < README.index("## The command line")


def test_the_readme_is_short():
    assert len(README.splitlines()) <= 250


def test_the_readme_links_every_page_of_the_documentation():
    pages = sorted(p.name for p in [*DOCS.glob("*.md"), *DOCS.glob("*.ipynb")])
    assert {"user-guide.md", "command-line.md", "workshop.md", "serving.md"} <= set(pages)
    for page in pages:
        assert f"](docs/{page})" in README, page


def test_what_the_ci_script_installs_is_said():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for package in re.findall(r"apt-get install -y -qq ([\w -]+?) >", script):
        for name in package.split():
            assert f"`{name}`" in README, name


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", text, re.MULTILINE)}


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(document):
    text = document.read_text(encoding="utf-8")
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # an address on the web, not a file of the repository
        path, _, anchor = target.partition("#")
        linked = (document.parent / path).resolve() if path else document
        assert linked.exists(), (document.name, target)
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked), (document.name, target)


def test_slug_follows_github():
    assert _slug("nestmap report OUT.html|OUT.pdf") == "nestmap-report-outhtmloutpdf"
    assert _slug("Answers kept, and the warm-up") == ("answers-kept-and-the-warm-up")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_page_refers_to_internal_issue_numbers(document):
    text = document.read_text(encoding="utf-8")
    assert not re.search(r"\bissues? #?\d+", text, re.IGNORECASE), document.name
