"""Bounds on everything a user hands to nestmap, and a zip reader that keeps to them.

The dashboard is served to teams: an upload, a pasted scenario or a file on the command line
may be hostile. Every bound here is checked while reading (a zip member's size is counted as it
inflates, never taken from its header), so a file that breaks one stops being read at the bound
and becomes one clean problem instead of gigabytes of memory. docs/serving.md "Limits" lists them.

``extract_zip`` and ``member_bytes`` are the one safe way to unpack an archive (the dataset
loader, the ORUK import and the dashboard's uploads all use them).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from nestmap.errors import InputError, Problem

MIB = 1024 * 1024

# One file of a dataset (a CSV, a workbook, or a zip member once inflated). The national
# benchmark's largest file, referrals.csv with a million links, is about 70 MB.
MAX_FILE_BYTES = 256 * MIB
# Everything a zip or workbook inflates to, all members together.
MAX_INFLATED_BYTES = 512 * MIB
# Entries in a zip (a dataset has five CSVs; a workbook a few dozen parts).
MAX_ZIP_MEMBERS = 1_000
# Data rows per table (the national benchmark has a million referral links).
MAX_ROWS = 2_000_000
# Cells per row, and characters per cell: Excel's own cell limit.
MAX_CELLS_PER_ROW = 100
MAX_CELL_CHARS = 32_767
# One line of a CSV file (a row is at most a few hundred characters in practice).
MAX_LINE_BYTES = 1 * MIB
# Problems: the first MAX_PROBLEMS_SHOWN are listed; counting goes on to MAX_PROBLEMS_COUNTED,
# where checking stops (a file with that many problems is not the dataset it claims to be).
MAX_PROBLEMS_SHOWN = 1_000
MAX_PROBLEMS_COUNTED = 100_000
# Whole numbers are stored as 64-bit integers; counts, capacities and populations are capped
# far below that, so that a sum over every row of a table stays within 64 bits.
MAX_COUNT = 10**12
# Scenario files (YAML or JSON) and the dashboard's paste box.
MAX_SCENARIO_BYTES = 1 * MIB
MAX_NESTING = 50

_CHUNK = 64 * 1024


def size_text(limit: int) -> str:
    """A bound in bytes as people read it (``256 MiB``)."""
    return f"{limit // MIB} MiB" if limit >= MIB else f"{limit:,} bytes"


def open_zip(data: bytes, label: str) -> zipfile.ZipFile:
    """The archive in ``data``, refused (InputError) when damaged or with too many members.

    The member count is read from the archive's end record before ``zipfile`` builds one object
    per member (a small hostile zip can list millions)."""
    entries = _declared_entries(data)
    if entries is not None and entries > MAX_ZIP_MEMBERS:
        raise InputError(
            [
                Problem(
                    label, None, None, None, f"has {entries:,} entries; at most {MAX_ZIP_MEMBERS:,}"
                )
            ]
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        raise InputError([Problem(label, None, None, None, "not a valid zip archive")]) from None
    if len(archive.infolist()) > MAX_ZIP_MEMBERS:
        raise InputError(
            [Problem(label, None, None, None, f"has more than {MAX_ZIP_MEMBERS:,} entries")]
        )
    return archive


def _declared_entries(data: bytes) -> int | None:
    """The entry count in the end-of-central-directory record (zip64 too), or None."""
    try:
        end = zipfile._EndRecData(io.BytesIO(data))  # type: ignore[attr-defined]
    except Exception:  # a damaged archive: zipfile itself will say so
        return None
    return None if not end else int(end[zipfile._ECD_ENTRIES_TOTAL])  # type: ignore[attr-defined]


@dataclass
class InflateBudget:
    """What is left of MAX_INFLATED_BYTES for one archive, shared by its members."""

    left: int = field(default_factory=lambda: MAX_INFLATED_BYTES)


def member_chunks(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    label: str,
    budget: InflateBudget,
    limit: int | None = None,
) -> Iterator[bytes]:
    """The member's bytes as it inflates, stopping with InputError at ``limit`` (default
    MAX_FILE_BYTES) or when the archive's budget runs out; its declared size is never trusted."""
    limit = MAX_FILE_BYTES if limit is None else limit
    seen = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                seen += len(chunk)
                if seen > limit:
                    raise InputError(
                        [
                            Problem(
                                label, None, None, None, f"inflates to more than {size_text(limit)}"
                            )
                        ]
                    )
                budget.left -= len(chunk)  # as it inflates: members are read side by side
                if budget.left < 0:
                    raise InputError(
                        [
                            Problem(
                                label,
                                None,
                                None,
                                None,
                                "the archive inflates to more than "
                                + size_text(MAX_INFLATED_BYTES),
                            )
                        ]
                    )
                yield chunk
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        raise InputError([Problem(label, None, None, None, f"damaged in the zip: {exc}")]) from None
    except NotImplementedError as exc:  # an unsupported compression method
        raise InputError([Problem(label, None, None, None, f"cannot be unpacked: {exc}")]) from None
    except RuntimeError as exc:  # an encrypted member
        raise InputError([Problem(label, None, None, None, f"cannot be unpacked: {exc}")]) from None


def member_bytes(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, budget: InflateBudget
) -> bytes:
    """A member's whole content, within the bounds of ``member_chunks``."""
    return b"".join(member_chunks(archive, info, label, budget))


def member_digest(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, budget: InflateBudget
) -> str:
    """sha256 of a member, inflated within bounds and never held whole."""
    digest = hashlib.sha256()
    for chunk in member_chunks(archive, info, label, budget):
        digest.update(chunk)
    return digest.hexdigest()


def safe_member_path(name: str) -> PurePosixPath | None:
    """A member's path if it is safe to write under a folder (relative, no ``..``, not macOS
    resource-fork noise); None to skip it."""
    path = PurePosixPath(name.replace("\\", "/"))
    parts = path.parts
    if not parts or parts[0] == "/" or ".." in parts or ":" in parts[0]:
        return None
    if parts[0].startswith("__MACOSX"):
        return None
    return path


def extract_zip(data: bytes, target: Path, label: str) -> list[Path]:
    """Unpack the zip in ``data`` under ``target`` within every bound (member count, each
    member's and the total inflated size, counted while writing); the files written.

    On any refusal the files written so far are removed: nothing half-unpacked stays."""
    written: list[Path] = []
    budget = InflateBudget()
    with open_zip(data, label) as archive:
        try:
            for info in archive.infolist():
                member = safe_member_path(info.filename)
                if info.is_dir() or member is None:
                    continue
                destination = target.joinpath(*member.parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                written.append(destination)
                with destination.open("wb") as out:
                    for chunk in member_chunks(archive, info, f"{label}:{member}", budget):
                        out.write(chunk)
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
    return written


def check_workbook(data: bytes, label: str) -> None:
    """Refuse an .xlsx before openpyxl reads it: too many parts, a part inflating past the
    bounds, or XML with a document type declaration (DTDs and entities have no place in a
    workbook; expanding them is how XML bombs work)."""
    budget = InflateBudget()
    with open_zip(data, label) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            tail = b""
            for chunk in member_chunks(archive, info, f"{label}:{info.filename}", budget):
                window = (tail + chunk).upper()
                if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                    raise InputError(
                        [
                            Problem(
                                f"{label}:{info.filename}",
                                None,
                                None,
                                None,
                                "XML with a document type declaration (DTD or entity) is "
                                "not accepted in a workbook",
                            )
                        ]
                    )
                tail = chunk[-16:]


def nesting_depth(value: object, limit: int = MAX_NESTING) -> int:
    """How deeply lists and mappings nest in ``value`` (iteratively; stops past ``limit``)."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list | tuple):
            children = list(item)
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth) for child in children)
    return deepest


def read_json(data: bytes, label: str, max_depth: int = MAX_NESTING) -> Any:
    """JSON from an untrusted file within bounds: at most MAX_FILE_BYTES, UTF-8, nested at most
    ``max_depth`` deep (100,000 nested brackets would otherwise end in a RecursionError).
    Anything else is an InputError naming ``label`` (for the ORUK import and scenario files)."""
    import json

    def refuse(reason: str) -> InputError:
        return InputError([Problem(label, None, None, None, reason)])

    if len(data) > MAX_FILE_BYTES:
        raise refuse(f"larger than {size_text(MAX_FILE_BYTES)}")
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise refuse("not UTF-8 text") from None
    except RecursionError:
        raise refuse(f"nested more than {max_depth} levels deep") from None
    except ValueError as exc:  # JSONDecodeError, and numbers past Python's digit limit
        raise refuse(f"not valid JSON: {exc}") from None
    if nesting_depth(document, max_depth) > max_depth:
        raise refuse(f"nested more than {max_depth} levels deep")
    return document
