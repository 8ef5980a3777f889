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
from nestmap.loaders.limits import extract_zip
from nestmap.workers import Limits

# One mapping's worker: two minutes of wall time and of CPU time, 1.5 GiB of address space (a
# directory within the reader's bounds maps in seconds and well under half of that).
LIMITS = Limits(timeout_s=120.0, cpu_s=120.0, memory_bytes=1536 * 2**20)
UPLOAD_NAME = "upload"
COMPANION_NAME = "companion.csv"
MAPPED_ZIP = "mapped.zip"


def _safe_extract(name: str, data: bytes, target: Path) -> Path:
    """Unpack a zip of ORUK CSVs within the upload bounds (members, sizes counted while
    inflating, no absolute or parent paths); the folder with services.csv."""
    extract_zip(data, target, PurePosixPath(name.replace("\\", "/")).name)
    found = sorted(target.rglob("services.csv"), key=lambda path: len(path.parts))
    return found[0].parent if found else target


def map_upload(name: str, scratch: str, with_companion: bool) -> dict[str, Any]:
    """Map ``scratch/upload`` (the visitor's file, called ``name``) and, with
    ``with_companion``, ``scratch/companion.csv``; the services, warnings and to-fill-in rows
    to show, with the mapped dataset written to ``scratch/mapped.zip``."""
    from nestmap.interop.oruk import import_oruk

    folder = Path(scratch)
    data = (folder / UPLOAD_NAME).read_bytes()
    try:
        if name.lower().endswith(".zip"):
            source = _safe_extract(name, data, folder / "source")
        else:
            # Under its own name, so that problems name the file the user uploaded.
            own = PurePosixPath(name.replace("\\", "/")).name
            source = folder / "named" / (own if own.lower().endswith(".json") else "source.json")
            source.parent.mkdir()
            source.write_bytes(data)
        del data
        companion = folder / COMPANION_NAME if with_companion else None
        out = folder / "dataset"
        result = import_oruk(source, out, companion)
        with zipfile.ZipFile(folder / MAPPED_ZIP, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(out.glob("*.csv")):
                archive.writestr(path.name, path.read_bytes())
        with (out / "services.csv").open(encoding="utf-8", newline="") as handle:
            services = list(csv.DictReader(handle))
    except InputError:
        raise
    except (NestmapError, ValueError, KeyError, zipfile.BadZipFile, OSError) as exc:
        raise NestmapError(str(exc)) from None
    return {"services": services, "to_fill_in": result.to_fill_in, "warnings": result.warnings}
