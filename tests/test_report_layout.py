"""The printed report as a commissioner gets it (Debian's chromium prints it, poppler reads it
back page by page): the seed region's report with its three options within 20 pages before the
appendices and 26 in all; no page less than a third full except where a chapter ends; no
heading left at the foot of a page; nothing wider than the page (and nothing shrunk to fit);
the cover naming the region. The same for a synthetic region."""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import load_into

from nestmap.cli import seed_path
from nestmap.report import build_report, report_html
from nestmap.scenarios import bundled_scenarios, read_scenario
from nestmap.synth import generate

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path("/usr/bin/chromium").exists() or shutil.which("pdftotext") is None,
        reason="needs Debian's chromium and poppler-utils",
    ),
]

MM = 72 / 25.4
TOP, BOTTOM, SIDE = 14 * MM, 15 * MM, 13 * MM  # the report's @page margins
# Pages that start a chapter (the page before them may end short).
CHAPTER_STARTS = ("1. Summary of findings", "2. Need against capacity")


@dataclass
class Page:
    number: int
    width: float
    height: float
    lines: list[tuple[float, float, str]]  # (top, bottom, text) of each line of body text
    words: list[tuple[float, float, float, float, str]]  # xMin, yMin, xMax, yMax, text

    @property
    def fill(self) -> float:
        """How far down the body the text reaches (0: empty, 1: to the bottom margin)."""
        low = max((bottom for _top, bottom, _t in self.lines), default=TOP)
        return (low - TOP) / (self.height - BOTTOM - TOP)

    @property
    def text(self) -> str:
        return " ".join(text for _top, _bottom, text in self.lines)


def read_pages(pdf: Path) -> list[Page]:
    """Each page's words (pdftotext -bbox), the footer (page number) left out, as lines."""
    out = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = []
    for number, chunk in enumerate(out.split("<page ")[1:], start=1):
        width = float(re.search(r'width="([\d.]+)"', chunk).group(1))
        height = float(re.search(r'height="([\d.]+)"', chunk).group(1))
        words = [
            (float(a), float(b), float(c), float(d), w)
            for a, b, c, d, w in re.findall(
                r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<', chunk
            )
        ]
        body = [w for w in words if w[3] < height - BOTTOM]
        lines: dict[int, list] = {}
        for word in sorted(body, key=lambda w: (round(w[1]), w[0])):
            lines.setdefault(round(word[1]), []).append(word)
        pages.append(
            Page(
                number,
                width,
                height,
                [
                    (min(w[1] for w in line), max(w[3] for w in line), " ".join(w[4] for w in line))
                    for _y, line in sorted(lines.items())
                ],
                body,
            )
        )
    return pages


HEADINGS = ("h2", "h3", "dt")  # a term of a definition list heads its definition


class _Headings(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._open: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in HEADINGS:
            self._open = []

    def handle_endtag(self, tag):
        if tag in HEADINGS and self._open is not None:
            self.found.append(re.sub(r"\s+", " ", "".join(self._open)).strip())
            self._open = None

    def handle_data(self, data):
        if self._open is not None:
            self._open.append(data)


def headings(page: str) -> set[str]:
    parser = _Headings()
    parser.feed(page)
    return {text for text in parser.found if text}


def check_layout(pages: list[Page], heads: set[str]) -> None:
    for index, page in enumerate(pages):
        nxt = pages[index + 1] if index + 1 < len(pages) else None
        chapter_end = nxt is None or nxt.text.startswith(CHAPTER_STARTS)
        if not chapter_end:
            assert page.fill >= 1 / 3, (page.number, round(page.fill, 2), page.text[:80])
        last = page.lines[-1][2] if page.lines else ""
        assert last not in heads, (page.number, "a heading left at the foot of the page", last)
        # Nothing wider than the page: no word past the right margin...
        widest = max((w[2] for w in page.words), default=0)
        assert widest <= page.width - SIDE + 2, (page.number, widest)
    # ...and nothing shrunk to fit: the body text keeps its size.
    summary = next(p for p in pages if p.text.startswith(CHAPTER_STARTS[0]))
    assert statistics.median(w[3] - w[1] for w in summary.words) > 8


def appendix_page(pages: list[Page]) -> int:
    return next(p.number for p in pages[1:] if "Appendix A. Every service mapped" in p.text)


def test_seed_report_with_its_options_prints_within_bounds(seed_store, tmp_path):
    documents = [read_scenario(path) for path in bundled_scenarios()]
    assert len(documents) == 3
    pdf = build_report(seed_store, tmp_path / "report.pdf", scenarios=documents)
    pages = read_pages(pdf)
    assert len(pages) <= 26
    assert appendix_page(pages) - 1 <= 20
    check_layout(pages, headings(report_html(seed_store, scenarios=documents)))
    cover = pages[0].text
    assert "Cwm Taf Morgannwg University Health Board" in cover
    assert seed_path().name not in cover


@pytest.fixture(scope="module")
def synth_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth-layout")
    generate(folder / "data", areas=7, services=90, links=500, seed=5)
    store = load_into(folder / "graph.lbug", folder / "data")
    yield store
    store.close()


def test_synthetic_region_report_prints_well(synth_store, tmp_path):
    pdf = build_report(synth_store, tmp_path / "report.pdf")
    pages = read_pages(pdf)
    check_layout(pages, headings(report_html(synth_store)))
    assert pages[0].text.count("Synthetic Region 1") >= 1
    # A one-LA report too.
    one = build_report(synth_store, tmp_path / "one.pdf", area="X06000003")
    check_layout(read_pages(one), headings(report_html(synth_store, "X06000003")))
