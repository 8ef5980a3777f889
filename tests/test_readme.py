"""The README documents every command and every query (docs tested, as sqlite-utils does)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nestmap import cli, queries

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", sorted(cli.app.commands))
def test_every_command_is_documented(command):
    assert f"### nestmap {command}" in README


@pytest.mark.parametrize("name", queries.names())
def test_every_query_is_documented(name):
    documented = name in README or (name.startswith("write_") and "`write_*`" in README)
    assert documented, name


def test_two_commands_come_first():
    first = README.index("pip install . && nestmap demo")
    second = README.index("bash .ci/run")
    assert first < second < README.index("## Command line")
