"""The report as PDF: Debian's chromium prints the HTML (A4 and page numbers come from the
page's CSS ``@page`` rules; Chromium 131+ draws page-margin boxes).

Two passes give the contents page its page numbers: print once, read where each section
starts with ``pdftotext`` (poppler-utils), print again with the numbers filled in. Without
``pdftotext`` the contents keep their links but no numbers.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
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


def print_pdf(html_file: Path, pdf_file: Path, timeout_s: float) -> None:
    """Print ``html_file`` to ``pdf_file`` with headless Chromium (a fresh profile each time)."""
    chromium = find_chromium()
    if chromium is None:
        raise RendererMissing(INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="nestmap-chromium-") as profile:
        command = [
            chromium,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--print-to-pdf={pdf_file}",
            html_file.resolve().as_uri(),
        ]
        done = _run_lowly(command, timeout_s, profile)
    if done.returncode != 0 or not pdf_file.is_file() or pdf_file.stat().st_size == 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise NestmapError(f"chromium could not print the PDF (exit {done.returncode}) {detail[0]}")


def _run_lowly(command: list[str], timeout_s: float, folder: str) -> subprocess.CompletedProcess:
    """Run a print as a worker runs (nestmap.workers.lowly: its own session, its CPU share
    below the pages people are waiting on, ended with the thread that started it), and every
    process of its session ended once it is done, timed out or interrupted."""
    from nestmap.workers import lowly

    lone = sys.platform != "win32"
    try:
        process = subprocess.Popen(
            lowly(command) if lone else command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=folder,
            start_new_session=lone,
        )
    except OSError as exc:
        raise RendererMissing(f"{INSTALL_HINT} ({exc.strerror})") from None
    try:
        out, err = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise NestmapError(
            f"chromium did not finish printing the PDF within {timeout_s:.0f} s"
        ) from None
    finally:
        if lone:
            with contextlib.suppress(OSError):
                os.killpg(process.pid, signal.SIGKILL)  # its helpers too
        if process.poll() is None:
            process.kill()
        process.communicate()
    return subprocess.CompletedProcess(command, process.returncode, out, err)


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
