"""Rebuild the seed region's mapping report in docs/ (PDF and HTML, with its three bundled
options) and the two page images the README shows (the summary, and the referral flows).

Not run by nestmap or its tests: it documents, and can repeat, how those files were made. Needs
Debian's chromium and poppler-utils (``pdftoppm``), like ``nestmap report OUT.pdf``.

Usage: ``python tools/make_report_docs.py``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from nestmap.api import seed_path
from nestmap.graph import open_store
from nestmap.loaders import read_dataset
from nestmap.report import build_report, pdf
from nestmap.scenarios import bundled_scenarios

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
NAME = "report-cwm-taf-morgannwg"
# The page images: (file, a heading the page starts with or holds).
PAGES = (("report-findings.png", "1. Summary of findings"), ("report-referrals.png", "Flows of"))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="nestmap-report-docs-") as folder:
        work = Path(folder)
        store = open_store(work / "seed.lbug")
        store.replace(read_dataset(seed_path()))
        scenarios = bundled_scenarios()
        build_report(store, DOCS / f"{NAME}.html", scenarios=scenarios)
        out = build_report(store, work / f"{NAME}.pdf", scenarios=scenarios)
        store.close()
        shutil.copyfile(out, DOCS / f"{NAME}.pdf")
        texts = pdf.page_texts(out) or []
        for image, heading in PAGES:
            number = next(n for n, text in enumerate(texts, start=1) if heading in text and n > 1)
            stem = work / "page"
            subprocess.run(
                ["pdftoppm", "-r", "90", "-png", "-singlefile", "-f", str(number), "-l",
                 str(number), str(out), str(stem)],
                check=True,
            )  # fmt: skip
            shutil.copyfile(stem.with_suffix(".png"), DOCS / image)
            print(f"{image}: page {number}")


if __name__ == "__main__":
    main()
