"""Map an uploaded Open Referral directory (a .json file or a .zip of its CSVs) to a nestmap
dataset, for the dashboard's Data page.

The dashboard runs ``map_upload`` in a bounded worker process (``nestmap.workers``: wall time,
CPU time, memory, and it ends with the server or the visitor's session), so that an upload
built to be expensive costs one worker its limits, never the server. It works in ``scratch``,
a folder the caller made and removes: the upload is read from there, and the mapped dataset is
written there as a zip.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from nestmap.errors import InputError, NestmapError
from nestmap.workers import Limits

# One mapping's worker: two minutes of wall time and of CPU time, 1.5 GiB of address space (a
# directory within the reader's bounds maps in seconds and well under half of that).
LIMITS = Limits(timeout_s=120.0, cpu_s=120.0, memory_bytes=1536 * 2**20)
UPLOAD_NAME = "upload"
COMPANION_NAME = "companion.csv"
MAPPED_ZIP = "mapped.zip"


def map_upload(name: str, scratch: str, with_companion: bool, keep_first: bool) -> dict[str, Any]:
    """Map ``scratch/upload`` (the visitor's file, called ``name``) and, with
    ``with_companion``, ``scratch/companion.csv``; what to show (the services, the shape read,
    the areas matched by name, warnings, the rows to fill in and their summary), with the mapped
    dataset written to ``scratch/mapped.zip`` (its CSVs, TO_FILL_IN.csv and
    IMPORT_WARNINGS.txt)."""
    from nestmap.interop.oruk import WARNINGS_FILE, import_oruk

    folder = Path(scratch)
    upload = folder / UPLOAD_NAME
    # Under its own name, so that problems name the file the user uploaded; a zip is read
    # member by member as it inflates (never unpacked), within the import's bounds.
    own = PurePosixPath(name.replace("\\", "/")).name
    suffix = ".zip" if own.lower().endswith(".zip") else ".json"
    named = folder / "named"
    named.mkdir()
    source = named / (own if own.lower().endswith(suffix) else f"source{suffix}")
    upload.rename(source)
    companion = folder / COMPANION_NAME if with_companion else None
    out = folder / "dataset"
    try:
        result = import_oruk(source, out, companion, keep_first=keep_first)
        with zipfile.ZipFile(folder / MAPPED_ZIP, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted([*out.glob("*.csv"), out / WARNINGS_FILE]):
                archive.writestr(path.name, path.read_bytes())
        with (out / "services.csv").open(encoding="utf-8", newline="") as handle:
            services = list(csv.DictReader(handle))
    except InputError:
        raise
    except (NestmapError, ValueError, KeyError, zipfile.BadZipFile, OSError) as exc:
        raise NestmapError(str(exc)) from None
    return {
        "services": services,
        "shape": result.shape,
        "areas_by_name": result.areas_by_name,
        "to_fill_in": result.to_fill_in,
        "fill_in_summary": result.fill_in_summary(),
        "warnings": result.warnings,
    }
