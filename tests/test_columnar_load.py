"""The referral links checked column by column (nestmap/loaders/columnar.py) give exactly what
the row-by-row checks give: the same validated links for a clean file (and the same graph),
the same problems, in the same order, for a broken one. Each file below is validated both ways
(the column-wise path turned off for the second); the clean ones must take the column-wise path,
the others whatever path they take must agree."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from conftest import HAND, load_into

from nestmap import analysis
from nestmap.errors import InputError
from nestmap.loaders import columnar, read_dataset
from nestmap.synth import generate

validate_module = sys.modules["nestmap.loaders.validate"]
HEADER = "from_service,to_service,reason,count,source\n"


def _outcome(folder: Path) -> tuple[str, object]:
    """What validating ``folder`` gives: its links, or its problems as text."""
    try:
        dataset = read_dataset(folder)
    except InputError as exc:
        return "problems", [str(problem) for problem in exc.problems]
    return type(dataset.referrals).__name__, [vars(link) for link in dataset.referrals]


def _both_ways(folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[tuple, tuple]:
    column_wise = _outcome(folder)
    with monkeypatch.context() as patched:
        patched.setattr(validate_module, "COLUMNAR", frozenset())
        row_by_row = _outcome(folder)
    return column_wise, row_by_row


def _with_referrals(tmp_path: Path, text: bytes) -> Path:
    folder = tmp_path / "dataset"
    shutil.copytree(HAND, folder)
    (folder / "referrals.csv").write_bytes(text)
    return folder


CLEAN = (HAND / "referrals.csv").read_bytes()
LINES = CLEAN.decode().splitlines(keepends=True)
FIRST = LINES[1]
# The same links with the optional unit column (SPEC 2026-12-06): every row per_year, the
# first in survey mentions, and one left blank (a blank unit is per_year).
WITH_UNIT = "".join(
    [line.replace("count,source", "count,count_basis,source") for line in LINES[:1]]
    + [
        ",".join([*line.rstrip("\n").split(",")[:4], unit, *line.rstrip("\n").split(",")[4:]])
        + "\n"
        for line, unit in zip(
            LINES[1:], ["survey_mentions", "", *["per_year"] * len(LINES)], strict=False
        )
    ]
).encode()


@pytest.mark.parametrize(
    "text",
    [
        CLEAN,
        CLEAN.rstrip(b"\n"),  # no line end after the last row
        b"\xef\xbb\xbf" + CLEAN,  # a byte-order mark
        CLEAN.replace(b",hand-built test", b",  hand-built test\t"),  # spaces around cells
        CLEAN.replace(b",hand-built test", b",\xc2\xa0hand-built test\xe2\x80\xa8"),  # Unicode
        CLEAN.replace(b"parent_infant_relationship,30,", b"parent_infant_relationship,,"),
        HEADER.encode(),  # no links at all
        WITH_UNIT,  # the unit column: per_year, survey_mentions and a blank (per_year)
    ],
)
def test_a_clean_file_is_read_column_by_column_to_the_same_links(tmp_path, monkeypatch, text):
    column_wise, row_by_row = _both_ways(_with_referrals(tmp_path, text), monkeypatch)
    assert column_wise[1] == row_by_row[1]
    assert row_by_row[0] == "list"
    if text != HEADER.encode():
        assert column_wise[0] == "ReferralTable"
        units = [link["count_basis"] for link in column_wise[1]]
        assert set(units) <= {"per_year", "survey_mentions"}  # a blank unit is per_year
        if text == WITH_UNIT:
            assert units[:2] == ["survey_mentions", "per_year"]


BROKEN = [
    CLEAN + b"hv,nobody,parenting,1,x\n",  # an unknown service
    CLEAN + b"hv,hv,parenting,1,x\n",  # a service referring to itself
    CLEAN + FIRST.encode(),  # the same link and reason twice
    CLEAN + b"hv,pmh,shouting,1,x\n",  # not a reason
    CLEAN + b"hv,pmh,parenting,-1,x\n",  # a negative count
    CLEAN + b"hv,pmh,parenting,1.5,x\n",  # not a whole number
    CLEAN + b"hv,pmh,parenting,99999999999999,x\n",  # beyond the largest count
    CLEAN + b"hv,pmh,parenting,+7,x\n",  # a sign (fine row by row)
    CLEAN + b"hv,,parenting,1,x\n",  # a required cell blank
    CLEAN + b"hv,pmh,parenting,1,\n",  # the source blank
    CLEAN + b",,,,\n",  # a row of blank cells (skipped)
    CLEAN + b"hv,pmh,parenting,1\n",  # a row too short
    CLEAN + b"hv,pmh,parenting,1,x,extra\n",  # a row too long
    CLEAN + b"hv,pmh,parenting,1,x\x01y\n",  # a control character
    CLEAN + b"hv,pmh,parenting,1,x\x1c\n",  # one at the end of a cell (stripped row by row)
    CLEAN + b"hv,pmh,parenting,1,\xff\n",  # not UTF-8
    CLEAN + b'hv,pmh,parenting,1,"quoted, with a comma"\n',  # a quoted cell
    CLEAN + b"\nhv,pmh,parenting,1,x\n",  # a blank line
    CLEAN.replace(b"\n", b"\r\n"),  # Windows line ends
    CLEAN.replace(b"count,source", b"source,count", 1),  # columns in another order
    CLEAN.replace(b",source\n", b",source,note\n", 1),  # an unknown column
    CLEAN + b"hv,pmh,parenting,1," + b"y" * 40_000 + b"\n",  # a cell past its bound
    WITH_UNIT + b"hv,pmh,parenting,1,per_week,x\n",  # not a unit
]


@pytest.mark.parametrize("text", BROKEN)
def test_a_file_the_columns_cannot_vouch_for_gets_the_row_by_row_answer(
    tmp_path, monkeypatch, text
):
    column_wise, row_by_row = _both_ways(_with_referrals(tmp_path, text), monkeypatch)
    assert column_wise[1] == row_by_row[1]


def test_a_synthetic_region_loads_column_by_column_to_the_same_graph(tmp_path, monkeypatch):
    folder = tmp_path / "dataset"
    generate(folder, areas=6, services=300, links=4_000, seed=3)
    column_wise = load_into(tmp_path / "columns.lbug", folder)
    with monkeypatch.context() as patched:
        patched.setattr(validate_module, "COLUMNAR", frozenset())
        row_by_row = load_into(tmp_path / "rows.lbug", folder)
    assert isinstance(read_dataset(folder).referrals, columnar.ReferralTable)
    for name in ("misdirected", "concentration", "boundaries", "referral_links", "pathways"):
        assert getattr(analysis, name)(column_wise) == getattr(analysis, name)(row_by_row), name
    column_wise.close()
    row_by_row.close()


def test_the_links_read_one_by_one_are_the_validated_ones() -> None:
    links = read_dataset(HAND).referrals
    assert isinstance(links, columnar.ReferralTable)
    every = list(links)
    assert len(every) == len(links) and links[0] == every[0] and links[-1] == every[-1]
    assert links[1:3] == every[1:3]
    with pytest.raises(IndexError):
        links[len(links)]
