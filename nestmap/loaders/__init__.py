"""Read and validate a mapping dataset (docs/data-format.md)."""

from __future__ import annotations

from pathlib import Path

from nestmap.loaders.dataset import Area, Dataset, Offer, Referral, Service, StaffPost
from nestmap.loaders.read import read_raw, read_raw_bytes
from nestmap.loaders.validate import validate

__all__ = [
    "Area",
    "Dataset",
    "Offer",
    "Referral",
    "Service",
    "StaffPost",
    "read_dataset",
    "read_dataset_bytes",
]


def read_dataset(path: str | Path) -> Dataset:
    """Read and validate the dataset at ``path`` (folder of CSVs, .xlsx or .zip)."""
    return validate(read_raw(path))


def read_dataset_bytes(filename: str, data: bytes) -> Dataset:
    """Read and validate an uploaded .xlsx or .zip."""
    return validate(read_raw_bytes(filename, data))
