"""axe-core (Deque's accessibility engine, npm package ``axe-core``) run inside chromium: the
WCAG 2.2 AA rules it automates, on a page Playwright has open.

The package is installed into ``tests/axe/node_modules`` (git-ignored) the first time, with
``npm ci`` from ``tests/axe/package-lock.json``; its ``axe.min.js`` is then evaluated in the
page and in each of its frames (the Network page draws in an iframe) - never fetched from a CDN.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

AXE_DIR = Path(__file__).resolve().parent / "axe"
PACKAGE = "axe-core"
# The success criteria axe tags, up to WCAG 2.2 level AA.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
  return result.violations.map(v => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 300),
                             summary: n.failureSummary}))
  }));
}"""


def _installed_version() -> str | None:
    try:
        manifest = AXE_DIR / "node_modules" / PACKAGE / "package.json"
        return json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


@lru_cache(maxsize=1)
def axe_script() -> str:
    """The text of axe.min.js, installing the pinned package first when it is missing."""
    wanted = json.loads((AXE_DIR / "package.json").read_text())["dependencies"][PACKAGE]
    if _installed_version() != wanted:
        if shutil.which("npm") is None:
            pytest.skip("npm is not on PATH: the accessibility checks install axe-core with it")
        # The lock keeps parallel workers from running npm in the same folder at once.
        with open(AXE_DIR / "package.json") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if _installed_version() != wanted:
                    command = ["npm", "ci", "--no-audit", "--no-fund"]
                    done = subprocess.run(
                        command, cwd=AXE_DIR, capture_output=True, text=True, timeout=600
                    )
                    if done.returncode != 0 or _installed_version() != wanted:
                        pytest.fail(
                            f"`{' '.join(command)}` in {AXE_DIR} failed:\n{done.stderr[-3000:]}",
                            pytrace=False,
                        )
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    return (AXE_DIR / "node_modules" / PACKAGE / "axe.min.js").read_text(encoding="utf-8")


def violations(tab: Any) -> list[dict[str, Any]]:
    """The WCAG 2.2 AA violations axe finds in the page as it is now (its frames included)."""
    script = axe_script()
    for frame in tab.frames:
        if not frame.is_detached():
            frame.evaluate(script)
    return tab.evaluate(RUN, WCAG_AA)


def described(found: list[dict[str, Any]]) -> str:
    """Violations as lines a failing assertion can show."""
    lines = []
    for violation in found:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:10]:
            summary = " ".join(node["summary"].split())
            lines.append(f"  {node['target']}: {node['html'][:160]} -- {summary[-240:]}")
    return "\n".join(lines)
