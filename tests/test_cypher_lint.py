"""Lint every Neo4j-dialect query with Neo4j's own Cypher linter.

Each ``nestmap/queries/*.cypher`` file (not ``queries/embedded/``, which holds the
embedded engine's dialect) goes through ``@neo4j-cypher/language-support`` via
``tests/cypher_lint/lint.cjs``; any Error diagnostic (syntax, semantic such as an
undefined variable or a type mismatch, unknown function/procedure) fails that file's
test. Warnings (deprecations, labels or relationship types missing from
``tests/cypher_lint/schema.json``) are reported as pytest warnings and do not fail.

The npm package is installed into ``tests/cypher_lint/node_modules`` (git-ignored) the
first time, with ``npm ci``. Loading the linter and warming it up costs a few seconds,
so all queries, the project's and the self-tests', go through one ``node`` process per
session, and lint.cjs caches results per query text in that node_modules.

Set NESTMAP_CYPHER_QUERIES_DIR to lint another folder of queries.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

TESTS_DIR = Path(__file__).resolve().parent
LINT_DIR = TESTS_DIR / "cypher_lint"
LINT_SCRIPT = LINT_DIR / "lint.cjs"
PACKAGE = "@neo4j-cypher/language-support"
QUERIES_DIR = Path(
    os.environ.get("NESTMAP_CYPHER_QUERIES_DIR", TESTS_DIR.parent / "nestmap" / "queries")
)

# Non-recursive on purpose: queries/embedded/ is another dialect.
QUERY_FILES = sorted(p for p in QUERIES_DIR.glob("*.cypher") if p.is_file())

# Self-tests: the harness must be able to fail, and must pass a valid query.
BROKEN_QUERIES = {
    "syntax-error": "MATCH (n RETURN n",
    "undefined-variable": "MATCH (n) RETURN m",
    "type-mismatch": "MATCH (s:Service) RETURN s.name, 1 + true AS x",
    "unknown-function": "MATCH (s:Service) RETURN nosuchfunction(s.name) AS x",
}
VALID_QUERY = "MATCH (s:Service) WHERE s.id = $id RETURN s.name"

LintRun = Callable[..., tuple[int, dict[str, Any]]]


class CypherLintWarning(UserWarning):
    """A Warning diagnostic from the linter: reported, never a failure."""


def _selftest_name(key: str) -> str:
    return f"<selftest:{key}>"


def _installed_version() -> str | None:
    manifest = LINT_DIR / "node_modules" / PACKAGE / "package.json"
    try:
        return json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def _npm_install() -> None:
    wanted = json.loads((LINT_DIR / "package.json").read_text())["dependencies"][PACKAGE]
    # Locking package.json keeps parallel pytest workers (xdist) from running
    # npm in the same folder at the same time.
    with open(LINT_DIR / "package.json") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if _installed_version() == wanted:
                return
            has_lock = (LINT_DIR / "package-lock.json").is_file()
            command = ["npm", "ci" if has_lock else "install", "--no-audit", "--no-fund"]
            result = subprocess.run(
                command, cwd=LINT_DIR, capture_output=True, text=True, timeout=900
            )
            if result.returncode != 0 or _installed_version() != wanted:
                pytest.fail(
                    f"`{' '.join(command)}` in {LINT_DIR} failed (exit {result.returncode}):\n"
                    f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}",
                    pytrace=False,
                )
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def run_lint() -> LintRun:
    """Install the linter if needed; return a function running lint.cjs once."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(
            f"{' and '.join(missing)} not on PATH: the Cypher lint needs Node.js >= 18.18 "
            f"and npm to install {PACKAGE} (see tests/cypher_lint/package.json)"
        )
    _npm_install()

    def run(*args: str, items: list[Any] | None = None) -> tuple[int, dict[str, Any]]:
        result = subprocess.run(
            ["node", str(LINT_SCRIPT), *args],
            input=None if items is None else json.dumps(items),
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode not in (0, 1):
            pytest.fail(
                f"lint.cjs crashed (exit {result.returncode}):\n{result.stderr[-5000:]}",
                pytrace=False,
            )
        return result.returncode, json.loads(result.stdout)

    return run


@pytest.fixture(scope="session")
def lint_report(run_lint: LintRun) -> dict[str, dict[str, Any]]:
    """Diagnostics of the project's query files and the self-test queries, by file name.

    One node process for everything: the linter's load and warm-up dominate.
    """
    items: list[Any] = [str(p) for p in QUERY_FILES]
    items += [{"name": _selftest_name(k), "query": q} for k, q in BROKEN_QUERIES.items()]
    items.append({"name": _selftest_name("valid"), "query": VALID_QUERY})
    returncode, report = run_lint(items=items)
    assert returncode == (1 if report["summary"]["errors"] else 0), report["summary"]
    return {entry["file"]: entry for entry in report["files"]}


def _format(entry: dict[str, Any], severity: str | None = None) -> str:
    return "\n".join(
        f"  {entry['file']}:{d['line']}:{d['column']}: {d['severity']}: {d['message']}"
        for d in entry["diagnostics"]
        if severity is None or d["severity"] == severity
    )


def test_query_files_exist() -> None:
    assert QUERIES_DIR.is_dir(), f"no query folder {QUERIES_DIR}"
    assert QUERY_FILES, f"no *.cypher files in {QUERIES_DIR}"


@pytest.mark.parametrize("query_file", QUERY_FILES, ids=lambda p: p.name)
def test_query_lints_clean(query_file: Path, lint_report: dict[str, dict[str, Any]]) -> None:
    entry = lint_report[str(query_file)]
    if entry["warnings"]:
        warnings.warn(
            f"Cypher lint warnings in {query_file.name}:\n{_format(entry, 'Warning')}",
            CypherLintWarning,
            stacklevel=1,
        )
    assert entry["errors"] == 0, (
        f"Neo4j's Cypher linter ({PACKAGE}) reports errors in {query_file}:\n"
        + _format(entry, "Error")
    )


@pytest.mark.parametrize("key", BROKEN_QUERIES)
def test_harness_reports_broken_query(key: str, lint_report: dict[str, dict[str, Any]]) -> None:
    entry = lint_report[_selftest_name(key)]
    assert entry["errors"] > 0, f"{BROKEN_QUERIES[key]!r} linted clean:\n{_format(entry)}"


def test_harness_error_positions(lint_report: dict[str, dict[str, Any]]) -> None:
    syntax = lint_report[_selftest_name("syntax-error")]["diagnostics"][0]
    assert (syntax["severity"], syntax["line"], syntax["column"]) == ("Error", 1, 10)
    assert "RETURN" in syntax["message"]
    undefined = lint_report[_selftest_name("undefined-variable")]["diagnostics"][0]
    assert (undefined["severity"], undefined["line"], undefined["column"]) == ("Error", 1, 18)
    assert "`m` not defined" in undefined["message"]


def test_harness_passes_valid_query(lint_report: dict[str, dict[str, Any]]) -> None:
    entry = lint_report[_selftest_name("valid")]
    assert entry["diagnostics"] == [], _format(entry)


def test_harness_exit_status(
    run_lint: LintRun, lint_report: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    # Same query texts as lint_report, so these runs are answered from the cache.
    good = tmp_path / "good.cypher"
    good.write_text(VALID_QUERY)
    bad = tmp_path / "bad.cypher"
    bad.write_text(BROKEN_QUERIES["undefined-variable"])
    returncode, report = run_lint(str(good))
    assert (returncode, report["summary"]["errors"]) == (0, 0)
    returncode, report = run_lint(str(good), str(bad))
    assert returncode == 1
    assert [f["errors"] > 0 for f in report["files"]] == [False, True]
