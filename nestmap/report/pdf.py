"""The report as PDF: Debian's chromium prints the HTML (A4 and page numbers come from the
page's CSS ``@page`` rules; Chromium 131+ draws page-margin boxes).

Two passes give the contents page its page numbers: print once, read where each section
starts with ``pdftotext`` (poppler-utils), print again with the numbers filled in. Without
``pdftotext`` the contents keep their links but no numbers.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from nestmap.errors import NestmapError

INSTALL_HINT = (
    "no chromium to print the PDF with: install Debian's chromium (`apt-get install chromium`), "
    "or set NESTMAP_CHROMIUM to a Chromium or Chrome executable; the HTML report needs nothing"
)
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-pdf-header-footer",
    "--generate-pdf-document-outline",
)


class RendererMissing(NestmapError):
    """No Chromium to print with (exit 1: the command was right, the machine lacks a tool)."""

    exit_code = 1


def find_chromium() -> str | None:
    """The Chromium to print with: ``$NESTMAP_CHROMIUM``, else one on the PATH."""
    chosen = os.environ.get("NESTMAP_CHROMIUM")
    if chosen:
        return chosen if Path(chosen).is_file() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _lower_priority() -> list[str]:
    """``nice -n 10`` where there is one: a print (chromium's processes, all of them) yields the
    CPU to a dashboard's pages, which people are waiting on."""
    found = shutil.which("nice") if sys.platform != "win32" else None
    return [found, "-n", "10"] if found else []


def print_pdf(html_file: Path, pdf_file: Path, timeout_s: float) -> None:
    """Print ``html_file`` to ``pdf_file`` with headless Chromium (a fresh profile each time)."""
    chromium = find_chromium()
    if chromium is None:
        raise RendererMissing(INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="nestmap-chromium-") as profile:
        command = [
            *_lower_priority(),
            chromium,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--print-to-pdf={pdf_file}",
            html_file.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, timeout=timeout_s, check=False, cwd=profile
            )
        except subprocess.TimeoutExpired:
            raise NestmapError(
                f"chromium did not finish printing the PDF within {timeout_s:.0f} s"
            ) from None
        except OSError as exc:
            raise RendererMissing(f"{INSTALL_HINT} ({exc.strerror})") from None
    if done.returncode != 0 or not pdf_file.is_file() or pdf_file.stat().st_size == 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise NestmapError(f"chromium could not print the PDF (exit {done.returncode}) {detail[0]}")


def page_texts(pdf_file: Path) -> list[str] | None:
    """The text of each page (``pdftotext``), or None when poppler-utils is not installed."""
    tool = shutil.which("pdftotext")
    if tool is None:
        return None
    done = subprocess.run(
        [tool, "-layout", str(pdf_file), "-"], capture_output=True, timeout=300, check=False
    )
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "replace").split("\f")


def section_pages(texts: list[str], headings: Mapping[str, str]) -> dict[str, int]:
    """Section id -> the first page (1-based) after the contents whose text has its heading."""
    found: dict[str, int] = {}
    squeeze = re.compile(r"\s+")
    flat = [squeeze.sub(" ", text) for text in texts]
    for ident, heading in headings.items():
        wanted = squeeze.sub(" ", heading)
        for number, text in enumerate(flat[1:], start=2):  # page 1 holds the contents
            if wanted in text:
                found[ident] = number
                break
    return found


def write_pdf(
    render: Callable[[Mapping[str, int] | None], str],
    headings: Mapping[str, str],
    out: Path,
    timeout_s: float,
) -> None:
    """Render, print, find each section's page, render with the page numbers, print again;
    ``out`` is written only once the final PDF is complete."""
    with tempfile.TemporaryDirectory(prefix="nestmap-report-") as folder:
        work = Path(folder)
        page = work / "report.html"
        first = work / "first.pdf"
        page.write_text(render(None), encoding="utf-8")
        print_pdf(page, first, timeout_s)
        final = first
        texts = page_texts(first)
        if texts is not None:
            pages = section_pages(texts, headings)
            if pages:
                page.write_text(render(pages), encoding="utf-8")
                final = work / "final.pdf"
                print_pdf(page, final, timeout_s)
        temporary = out.with_name(f".{out.name}.partial")
        shutil.copyfile(final, temporary)
        os.replace(temporary, out)
