"""The package's layers hold: data flows one way,

    loaders -> graph -> queries -> analysis -> answers -> api -> (cli | dashboard | report)

and nothing reaches back. Read from the source (every ``import`` and ``from ... import``,
inside functions too): nothing under ``nestmap/analysis/`` imports the command line, the
dashboard, Streamlit or a layer above it; nothing in the answers layer (``nestmap/answers/``)
imports the command line, the dashboard, Streamlit or the API; the writers
(``nestmap/output.py``) import no analysis and no answer; the report (``nestmap/report/``) and
the geography it draws (``nestmap/geography/``) import neither the command line nor the
dashboard."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import nestmap

PACKAGE = Path(nestmap.__file__).parent

# Per layer, the modules (and their submodules) it must not import.
FORBIDDEN = {
    "analysis": (
        "nestmap.cli",
        "nestmap.dashboard",
        "streamlit",
        "nestmap.answers",
        "nestmap.api",
        "nestmap.report",
    ),
    "answers": ("nestmap.cli", "nestmap.dashboard", "streamlit", "nestmap.api", "nestmap.report"),
    "output.py": ("nestmap.analysis", "nestmap.answers", "nestmap.cli", "nestmap.dashboard"),
    # The report is printed by the command line and offered by the dashboard alike: it reads
    # the boundaries from nestmap.geography, not through the dashboard.
    "report": ("nestmap.cli", "nestmap.dashboard", "streamlit"),
    "geography": ("nestmap.cli", "nestmap.dashboard", "streamlit", "nestmap.report"),
}


def imports(source: Path) -> set[str]:
    """Every module ``source`` imports, absolute (relative imports resolved), wherever in it."""
    package = source.relative_to(PACKAGE.parent).with_suffix("").parts  # its own name last
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: -node.level], *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _modules(layer: str) -> list[Path]:
    where = PACKAGE / layer
    return [where] if where.is_file() else sorted(where.rglob("*.py"))


@pytest.mark.parametrize("layer", FORBIDDEN)
def test_no_layer_imports_one_above_it(layer: str) -> None:
    sources = _modules(layer)
    assert sources, f"no module in {layer}"
    wrong = {
        f"{source.relative_to(PACKAGE)} imports {name}"
        for source in sources
        for name in imports(source)
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[layer])
    }
    assert not wrong, sorted(wrong)


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    """The scan finds what the layers hide best: imports inside functions, relative ones."""
    module = PACKAGE / "analysis" / "core.py"
    found = imports(module)
    assert "nestmap.graph" in found and "pyarrow" in found  # pyarrow: inside functions
    relative = imports(PACKAGE / "answers" / "__init__.py")
    assert "nestmap.answers.analyses" in relative


def test_the_warm_up_asks_the_answers_layer_not_the_command_line() -> None:
    found = imports(PACKAGE / "answers" / "warm.py")
    assert "nestmap.answers.analyses" in found
    assert not {name for name in found if name.startswith(("nestmap.cli", "nestmap.dashboard"))}
