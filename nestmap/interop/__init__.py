"""Datasets in and out: the loaded graph back to docs/data-format.md's files, and a blank template
workbook with dropdowns for every enumerated column."""

from nestmap.interop.dataset_files import (
    COLUMNS,
    dataset_tables,
    export_dataset,
    template_workbook,
    write_csv_folder,
)
from nestmap.interop.graph_export import graph_elements, to_gexf, to_graphml, to_kumu

__all__ = [
    "COLUMNS",
    "dataset_tables",
    "export_dataset",
    "graph_elements",
    "template_workbook",
    "to_gexf",
    "to_graphml",
    "to_kumu",
    "write_csv_folder",
]
