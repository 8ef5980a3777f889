"""``nestmap.Graph``: the one front door to a graph, for notebooks, the CLI and the dashboard.

    with nestmap.Graph("region.lbug") as g:
        g.load(nestmap.seed())
        g.gaps(area="W06000024").to_pandas()

A ``Graph`` wraps one store (embedded file, or Neo4j for a ``bolt://``/``neo4j://`` URI) and has
one method per analysis. Analyses return a ``Table``: a list of the rows ``nestmap ANALYSIS
--format json`` prints (so it compares equal to that list), with ``to_pandas`` and ``to_arrow``.
Analyses with named parts (boundaries, assessment, workforce) return ``Tables``, a dict of them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nestmap.errors import InputError, UsageError

if TYPE_CHECKING:
    import pandas
    import pyarrow

    from nestmap.graph import GraphStore
    from nestmap.scenarios import Scenario

SEED_REGION = "cwm_taf_morgannwg"
NEO4J_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")
EXPORT_FORMATS = ("csv", "xlsx", "zip", "graphml", "gexf", "kumu")

Row = dict[str, Any]
Progress = Callable[[str], None]


def seed(region: str = SEED_REGION) -> Path:
    """The folder of a bundled seed region (inside the installed package)."""
    return Path(str(resources.files("nestmap.seed_data") / region))


# The CLI's and the tests' older name for ``seed``.
seed_path = seed


class Table(list[Row]):
    """An analysis's rows (equal to the list ``--format json`` prints), for pandas and Arrow."""

    def __init__(self, rows: Iterable[Row] = (), columns: Iterable[str] | None = None):
        super().__init__(rows)
        self.columns: list[str] = list(self[0]) if self else list(columns or ())

    def to_pandas(self) -> pandas.DataFrame:
        """One DataFrame row per row; lists stay Python lists in their cells; a number or
        true/false column with nulls gets pandas' nullable type (``Int64``, ``Float64``,
        ``boolean``: hops stay whole numbers, a null stays ``<NA>``)."""
        import pandas as pd

        frame = pd.DataFrame(list(self), columns=self.columns)
        for column in self.columns:
            values = [row.get(column) for row in self]
            present = [value for value in values if value is not None]
            if not present or len(present) == len(values):
                continue
            if all(isinstance(value, bool) for value in present):
                frame[column] = pd.array(values, dtype="boolean")
            elif all(isinstance(value, int) and not isinstance(value, bool) for value in present):
                frame[column] = pd.array(values, dtype="Int64")
            elif all(isinstance(value, int | float) for value in present):
                frame[column] = pd.array(values, dtype="Float64")
        return frame

    def to_arrow(self) -> pyarrow.Table:
        """One Arrow table (lists as list columns, nulls as nulls)."""
        import pyarrow as pa

        if not self:
            return pa.table({column: pa.array([], pa.null()) for column in self.columns})
        return pa.Table.from_pylist(list(self))

    def __repr__(self) -> str:
        return f"<Table: {len(self)} rows; columns {', '.join(self.columns)}>"


class Tables(dict[str, Table]):
    """Named parts of one analysis (boundaries: ``links`` and ``threshold_cliffs``);
    ``figures``: totals over the parts the analysis gives beside them (workforce)."""

    def __init__(self, parts: dict[str, Table], figures: dict[str, Any] | None = None):
        super().__init__(parts)
        self.figures: dict[str, Any] = dict(figures or {})

    def to_pandas(self) -> dict[str, pandas.DataFrame]:
        return {name: part.to_pandas() for name, part in self.items()}

    def to_arrow(self) -> dict[str, pyarrow.Table]:
        return {name: part.to_arrow() for name, part in self.items()}


class Pathways(Table):
    """``pathways`` rows, plus ``chains``: per row the service ids from the entry point to
    the destination (``None`` for a dead end), the chain the search found."""

    def __init__(self, rows: Iterable[Row]):
        rows = list(rows)
        self.chains: list[list[str] | None] = [row.pop("chain") for row in rows]
        super().__init__(rows, PATHWAYS_COLUMNS)

    def with_chains(self) -> Table:
        """The rows with a ``chain`` column."""
        return Table(
            ({**row, "chain": chain} for row, chain in zip(self, self.chains, strict=True)),
            [*PATHWAYS_COLUMNS, "chain"],
        )


PATHWAYS_COLUMNS = ("area_code", "entry_service", "destination", "hops")


class QueryResult(Table):
    """Rows of a user-written query; ``truncated`` when there were more than the limit."""

    def __init__(
        self, columns: list[str], rows: list[list[Any]], truncated: bool, cells_cut: int = 0
    ):
        super().__init__((dict(zip(columns, row, strict=True)) for row in rows), columns)
        self.columns = list(columns)
        self.truncated = truncated
        self.cells_cut = cells_cut  # cells shortened to the console's cell limit


def _open(where: str | Path | None, keep: int) -> GraphStore:
    """The store for a path, a Neo4j URI, or None (the default: see ``open_store``)."""
    from nestmap.graph import open_store

    text = str(where) if where is not None else ""
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in NEO4J_SCHEMES:
        from nestmap.graph.neo4j_store import Neo4jStore

        return Neo4jStore(
            text,
            os.environ.get("NESTMAP_NEO4J_USER"),
            os.environ.get("NESTMAP_NEO4J_PASSWORD"),
            os.environ.get("NESTMAP_NEO4J_DATABASE"),
        )
    if scheme:
        raise UsageError(
            f"{text!r}: not a graph file and not a Neo4j URI ({', '.join(NEO4J_SCHEMES)}://…)"
        )
    return open_store(where, keep_versions=keep)


class Graph:
    """One graph: an embedded file or a Neo4j database; a context manager that closes it.

    ``where``: a path to an embedded graph file (created by the first ``load``), a Neo4j URI
    (``bolt://host:7687``, credentials from ``NESTMAP_NEO4J_USER``/``_PASSWORD``/``_DATABASE``),
    or None for the default (``NESTMAP_DB``, else Neo4j when ``NESTMAP_NEO4J_URI`` is set,
    else the per-user data folder). ``keep``: how many earlier datasets loads keep for
    ``versions``/``rollback`` (embedded engine).
    """

    def __init__(self, where: str | Path | None = None, *, keep: int = 5):
        self.store: GraphStore = _open(where, keep)
        self._owned = True

    @classmethod
    def over(cls, store: GraphStore) -> Graph:
        """A Graph over a store someone else owns (closing the Graph leaves it open)."""
        graph = cls.__new__(cls)
        graph.store = store
        graph._owned = False
        return graph

    # -- lifetime ---------------------------------------------------------------------------
    def close(self) -> None:
        if self._owned:
            self.store.close()

    def __enter__(self) -> Graph:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<nestmap.Graph {self.store.engine} at {self.store.location}>"

    @property
    def location(self) -> str:
        return self.store.location

    @property
    def engine(self) -> str:
        return self.store.engine

    def has_dataset(self) -> bool:
        return self.store.has_graph()

    # -- loading ----------------------------------------------------------------------------
    def load(
        self,
        source: str | Path | bytes,
        keep: int | None = None,
        *,
        name: str | None = None,
        progress: Progress | None = None,
        by: str | None = None,
    ) -> dict[str, Any]:
        """Validate a dataset and replace the graph with it, all or nothing; return ``info``.

        ``source``: a CSV folder, an .xlsx workbook or a .zip of CSVs; or the bytes of a
        workbook or zip with its file ``name`` (an upload). ``keep`` overrides how many
        earlier datasets are kept; ``by`` names who loaded it (default: the OS user), shown by
        ``versions``. Bad input raises ``InputError`` with every problem and
        leaves the previous graph as it was."""
        from nestmap.loaders import read_dataset, read_dataset_bytes

        report = progress or (lambda _message: None)
        report("reading and validating")
        if isinstance(source, bytes):
            if not name:
                raise UsageError("loading bytes needs the file's name (.zip or .xlsx)")
            dataset = read_dataset_bytes(name, source)
        else:
            dataset = read_dataset(source)
        dataset.loaded_by = by or os_user()
        if keep is not None:
            self.store.keep_versions = keep
        self.store.replace(dataset, report)
        self._forget_kept_results()
        return self.info()

    def versions(self) -> list[dict[str, Any]]:
        """The earlier datasets kept by loads, oldest first."""
        return self.store.versions()

    def rollback(self, version: int, by: str | None = None) -> None:
        """Make kept ``version`` the current graph (the current one is kept as a version);
        ``by`` names who asked (default: the OS user)."""
        self.store.rollback(version, by or os_user())
        self._forget_kept_results()

    def _forget_kept_results(self) -> None:
        """Analyses kept for the replaced dataset are of no more use (each is keyed by the
        graph file's identity, so none could be read for the new one): free the disk."""
        from nestmap.answers import forget_other_versions

        forget_other_versions(self.store)

    # -- editing ----------------------------------------------------------------------------
    @property
    def version(self) -> str:
        """A token that changes whenever the graph is replaced (a load, an edit, a rollback):
        what an editor started from, for ``save_edit``."""
        return self.store.version()

    def changes(self) -> list[dict[str, Any]]:
        """Who changed the graph, when, how and why (oldest first)."""
        return self.store.changes()

    def tables(self) -> dict[str, list[list[str]]]:
        """The loaded dataset as text tables (header first), the input format's columns: what
        an edit starts from (see ``nestmap.editing``)."""
        from nestmap.editing import read_tables

        return read_tables(self.store)

    def save_edit(
        self,
        tables: dict[str, list[list[str]]],
        *,
        started_from: str,
        why: str,
        by: str | None = None,
        started_tables: dict[str, list[list[str]]] | None = None,
        merge: bool = False,
    ) -> dict[str, Any]:
        """Replace the graph with edited ``tables`` (all or nothing; the current graph is kept
        as a version), recording ``by`` and a note of ``why`` and what changed. Refused with
        ``nestmap.editing.MapChanged`` when the graph is no longer ``started_from``; given
        ``started_tables`` (what ``tables()`` gave when the edit started), the refusal carries
        ``.merge``, the edit merged onto the current map cell by cell, and with ``merge=True``
        an edit none of whose cells another save changed is applied onto the current map."""
        from nestmap.editing import save_edit

        return save_edit(
            self.store,
            tables,
            started_from=started_from,
            by=by or os_user(),
            why=why,
            started_tables=started_tables,
            merge=merge,
        )

    def undo(self, by: str | None = None, started_from: str | None = None) -> int:
        """Go back to the graph before the last change; the version number restored."""
        from nestmap.editing import undo_last

        return undo_last(self.store, by=by or os_user(), started_from=started_from)

    # -- what is loaded ---------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Engine, location, dataset name, origin, load time, file hashes, counts."""
        from nestmap.analysis import info

        return info(self.store)

    def local_authorities(self) -> Table:
        """The loaded local authorities (``code``, ``name``, ``under2_population``), by code."""
        from nestmap.analysis import local_authorities

        return Table(local_authorities(self.store), ("code", "name", "under2_population"))

    def services(self, area: str | None = None) -> Table:
        """The service catalogue (every status) with offers, areas and stages."""
        from nestmap.analysis import services

        return Table(services(self.store, area))

    def referral_links(self) -> Table:
        """Every referral link (any status): from_service, to_service, reason, count,
        count_basis, source."""
        from nestmap.analysis import referral_links

        return Table(referral_links(self.store), REFERRAL_LINK_COLUMNS)

    # -- the analyses (docs/analyses.md) --------------------------------------------------------
    def gaps(self, area: str | None = None) -> Table:
        """Every LA x level x stage; ``gap`` when nothing specialised serves it."""
        from nestmap.answers.analyses import gaps

        return Table(gaps(self.store, area), GAPS_COLUMNS)

    def age_bands(self, area: str | None = None) -> Table:
        """Every LA x level x age band after birth; ``gap`` when nothing specialised serves it."""
        from nestmap.answers.analyses import age_bands

        return Table(age_bands(self.store, area), AGE_BANDS_COLUMNS)

    def misdirected(self, area: str | None = None) -> Table:
        """Referral links sent where the support asked for is not, with their problems."""
        from nestmap.answers.analyses import misdirected

        return Table(misdirected(self.store, area), MISDIRECTED_COLUMNS)

    def boundaries(self, area: str | None = None, part: str | None = None) -> Tables | Table:
        """Interfaces on referral links and threshold cliffs; ``part`` ("links" or
        "threshold_cliffs") gives that part alone."""
        from nestmap.answers.analyses import boundaries

        if part not in (None, "links", "threshold_cliffs"):
            raise UsageError(f"part must be 'links' or 'threshold_cliffs', not {part!r}")
        found = boundaries(self.store, area, (part,) if part else ("links", "threshold_cliffs"))
        parts = Tables({name: Table(rows) for name, rows in found.items()})
        return parts[part] if part else parts

    def pathways(self, area: str | None = None, chains: bool = True) -> Pathways:
        """Per LA and universal entry point, the nearest specialised destination (or a dead
        end), with the chain of services that leads there in ``.chains`` (``chains=False``
        skips keeping them, as the command line does: ``.chains`` is then all None)."""
        from nestmap.analysis import pathways
        from nestmap.answers import analyses as answers

        if not chains:
            return Pathways({**row, "chain": None} for row in answers.pathways(self.store, area))
        return Pathways(pathways(self.store, area, chains=True))

    def concentration(self, area: str | None = None) -> Table:
        """Where parent-infant relationship referrals go, with each target's share."""
        from nestmap.answers.analyses import concentration

        return Table(concentration(self.store, area), CONCENTRATION_COLUMNS)

    def arrow(self, analysis: str, area: str | None = None) -> pyarrow.Table | dict:
        """Analysis ``analysis`` (gaps, age_bands, misdirected, boundaries, pathways or
        concentration) as a ``pyarrow.Table`` with the contract's columns and types (a dict of
        them for boundaries), with no Python row in between: the quick way at national scale.
        Answers of an embedded graph are kept and read back (``docs/analyses.md``).
        ``"referral_links"`` gives every link as ``referral_links`` does, as one table;
        ``"services"`` the catalogue's rows (of the LA's services, with ``area``) by id, with
        ``offers`` a list of [level, focus] pairs."""
        from nestmap.analysis.extra import services_table
        from nestmap.analysis.summaries import referral_links_table
        from nestmap.answers.analyses import ARROW, arrow

        if analysis == "referral_links":  # the links themselves, for the network
            if area is not None:
                raise UsageError("referral_links has every link: it takes no area")
            return referral_links_table(self.store)
        if analysis == "services":  # the catalogue, for the network to select from
            return services_table(self.store, area)
        if analysis not in ARROW:
            known = ", ".join([*ARROW, "referral_links", "services"])
            raise UsageError(f"no Arrow answer for {analysis!r}; one of {known}")
        return arrow(self.store, analysis, area)

    def need(
        self,
        area: str | None = None,
        targeted: str | float | None = None,
        specialist: str | float | None = None,
        statutory: str | float | None = None,
    ) -> Table:
        """Demand against specialised capacity per LA x level; the shares default to the
        report's high-adversity values (see docs/vocabulary.md)."""
        from nestmap.answers.analyses import rows
        from nestmap.vocabulary import DEFAULT_SHARES

        given = {"targeted": targeted, "specialist": specialist, "statutory": statutory}
        shares = {
            # The default share, however written, is the command's default: one kept answer.
            f"{level}_share": None
            if share is None or _same_number(share, DEFAULT_SHARES[level])
            else str(share)
            for level, share in given.items()
        }
        return Table(rows(self.store, "need", area, **shares)[None], NEED_COLUMNS)

    def assessment(self, area: str | None = None) -> Tables:
        """``entry_points`` (does each assess the relationship) and ``coverage`` per LA x stage."""
        from nestmap.answers.analyses import rows

        found = rows(self.store, "assessment", area)
        return Tables({str(part): Table(part_rows) for part, part_rows in found.items()})

    def workforce(self, area: str | None = None) -> Tables:
        """FTE by AiMH competency level, per ``services`` and per ``areas``; ``.figures``
        has ``practitioners_level_2_3``, the practitioners at AiMH levels 2-3."""
        from nestmap.answers.analyses import rows

        found = rows(self.store, "workforce", area)
        return Tables(
            {"services": Table(found["services"]), "areas": Table(found["areas"])},
            {
                "practitioners_level_2_3": sum(
                    row["practitioners_level_2_3"] for row in found["services"]
                )
            },
        )

    def thrive(self, area: str | None = None) -> Table:
        """Every active service's offers under the THRIVE grouping of their level."""
        from nestmap.answers.analyses import rows

        return Table(rows(self.store, "thrive", area)[None])

    def groups_left_out(self, area: str | None = None) -> Table:
        """Per LA, the services that support fathers and partners."""
        from nestmap.answers.analyses import rows

        return Table(rows(self.store, "groups-left-out", area)[None])

    # -- figures built on the analyses (pages and reports show these as they are) ------------
    def area_names(self) -> dict[str, str]:
        """Local authority names by code."""
        return {row["code"]: row["name"] for row in self.local_authorities()}

    def service_names(self) -> dict[str, str]:
        """Service names by id (every status)."""
        from nestmap.analysis import service_names

        return service_names(self.store)

    def region_name(self) -> str | None:
        """The name of the region the local authorities are part of (None when there is no
        single one)."""
        from nestmap.analysis import region_name

        return region_name(self.store)

    def misdirected_summary(self, area: str | None = None) -> dict[str, Any]:
        """Misdirected links and, per count basis (referrals a year, survey mentions: never
        added together), their counts and the share of parent-infant relationship counts that
        go where that support is not (see answers.summaries.misdirected_summary)."""
        from nestmap.answers.summaries import misdirected_summary

        return misdirected_summary(self.store, area)

    def count_bases(self, area: str | None = None) -> list[str]:
        """The units the parent-infant relationship referral counts are in (per_year,
        survey_mentions), in that order."""
        from nestmap.answers.summaries import count_bases

        return count_bases(self.store, area)

    def concentration_unrecorded(self, area: str | None = None) -> Table:
        """The concentration rows (to_service, count_basis) whose counts are all blank: not
        recorded, not 0."""
        from nestmap.answers.summaries import concentration_unrecorded

        return Table(concentration_unrecorded(self.store, area), ("to_service", "count_basis"))

    def need_totals(
        self,
        area: str | None = None,
        shares: tuple[str | None, str | None, str | None] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """need summed per level and for targeted + specialist (``intervention``), with the
        services whose capacity is not recorded; the statutory row apart (see
        analysis.need_totals)."""
        from nestmap.analysis import need_totals, parse_shares

        return need_totals(self.store, area, parse_shares(*(shares or ())))

    def dead_ends(self, area: str | None = None) -> dict[str, int]:
        """Dead ends of ``pathways`` counted as LA x entry point pairs and as services."""
        from nestmap.answers.summaries import dead_ends

        return dead_ends(self.store, area)

    def headline(
        self,
        name: str,
        area: str | None = None,
        shares: tuple[str | None, str | None, str | None] | None = None,
    ) -> dict[str, Any]:
        """One headline figure of the Overview: services, gap_cells, misdirected,
        threshold_cliffs, dead_ends, practitioners or shortfall (see
        nestmap.answers.summaries.headline)."""
        from nestmap.analysis import parse_shares
        from nestmap.answers.summaries import headline

        return headline(self.store, name, area, parse_shares(*(shares or ())))

    def per_area(
        self,
        metric: str,
        level: str | None = None,
        stage: str | None = None,
        shares: tuple[str | None, str | None, str | None] | None = None,
        count_basis: str | None = None,
    ) -> dict[str, float | None]:
        """One figure per local authority: ``gap_cells``, ``demand_shortfall`` (targeted +
        specialist unless ``level`` is given) or ``misdirected_referrals`` (of one
        ``count_basis``); ``shares``: targeted, specialist, statutory for need."""
        from nestmap.analysis import parse_shares
        from nestmap.answers.summaries import per_area

        return per_area(
            self.store, metric, level, stage, parse_shares(*(shares or ())), count_basis
        )

    # -- what if ----------------------------------------------------------------------------
    def scenario(
        self, document: dict[str, Any] | str | Path, shares: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Apply a scenario (a parsed document, or a YAML/JSON file) to a scratch copy and
        compare every analysis before and after. Returns ``summary`` (the scenario's figures),
        ``comparison`` (``summary`` and ``changes``), and gaps and need before and after; the
        loaded graph is not changed."""
        from nestmap.scenarios import evaluate

        parsed = _scenario_document(document)
        with _about("the scenario"):
            return evaluate(self.store, parsed, shares)

    @staticmethod
    def scenario_document(path: str | Path) -> dict[str, Any]:
        """A scenario file (YAML or JSON) read within its bounds; problems name the file."""
        return _scenario_document(path)

    def check_scenario(self, document: dict[str, Any] | str | Path) -> Scenario:
        """Check a scenario against this graph: ``InputError`` with every problem, else the
        checked scenario (``.summary()`` gives its figures)."""
        from nestmap.scenarios import scenario_dataset

        parsed = _scenario_document(document)
        with _about("the scenario"):
            found, _dataset = scenario_dataset(self.store, parsed)
        return found

    def compare(self, other: Graph | str | Path) -> dict[str, Any]:
        """Every analysis on this graph (before) and ``other`` (after): another Graph, a kept
        graph file (*.lbug) or a dataset (folder, .xlsx, .zip, loaded into a scratch graph)."""
        from nestmap.scenarios import compare

        with ExitStack() as stack:
            after = other if isinstance(other, Graph) else stack.enter_context(_scratch(other))
            return compare(self.store, after.store)

    # -- out --------------------------------------------------------------------------------
    def export(self, out: str | Path, format: str | None = None) -> Path:
        """Write the dataset or graph to ``out``: csv (a folder of the input CSVs), xlsx, zip
        (the input formats), graphml, gexf or kumu. ``format`` defaults from the suffix."""
        from nestmap import interop

        out = Path(out)
        suffixes = {".xlsx": "xlsx", ".zip": "zip", ".graphml": "graphml", ".gexf": "gexf"}
        fmt = format or suffixes.get(out.suffix.lower(), "csv")
        if fmt not in EXPORT_FORMATS:
            raise UsageError(f"unknown export format {fmt!r}; one of {', '.join(EXPORT_FORMATS)}")
        if fmt == "csv":
            interop.write_csv_folder(self.store, out)
            return out
        writers: dict[str, Callable[[], bytes]] = {
            "xlsx": lambda: interop.export_dataset(self.store, "xlsx"),
            "zip": lambda: interop.export_dataset(self.store, "zip"),
            "graphml": lambda: interop.to_graphml(self.store),
            "gexf": lambda: interop.to_gexf(self.store),
            "kumu": lambda: interop.to_kumu(self.store),
        }
        out.write_bytes(writers[fmt]())
        return out

    def report(
        self,
        out: str | Path,
        area: str | None = None,
        scenarios: Iterable[dict[str, Any] | str | Path] = (),
        *,
        shares: dict[str, Any] | None = None,
        max_rows: int | None = None,
    ) -> Path:
        """Write the mapping report of the region (or of local authority ``area``) to ``out``,
        HTML or PDF by its suffix, with an Options section per scenario (documents or files)."""
        from nestmap.report import DEFAULT_MAX_ROWS, build_report

        return build_report(
            self.store,
            out,
            area,
            list(scenarios),
            shares,
            DEFAULT_MAX_ROWS if max_rows is None else max_rows,
        )

    def query(self, cypher: str, limit: int = 1000, timeout: float = 10.0) -> QueryResult:
        """Run read-only Cypher as the Query console does (nestmap.graph.readonly's guard
        refuses anything but reading the graph; the embedded engine runs it in a bounded worker
        process): at most ``limit`` rows, stopped after ``timeout`` seconds."""
        found = self.store.console(cypher, limit, timeout)
        return QueryResult(found.columns, found.rows, found.truncated, found.cells_cut)


GAPS_COLUMNS = (
    "area_code",
    "area_name",
    "level",
    "stage",
    "specialised_services",
    "any_services",
    "gap",
)
REFERRAL_LINK_COLUMNS = ("from_service", "to_service", "reason", "count", "count_basis", "source")
MISDIRECTED_COLUMNS = (
    "from_service",
    "to_service",
    "reason",
    "count",
    "count_basis",
    "problems",
    "onward",
)
AGE_BANDS_COLUMNS = ("area_code", "level", "band", "specialised_services", "gap")
CONCENTRATION_COLUMNS = ("to_service", "count_basis", "count", "share", "specialised")
NEED_COLUMNS = ("area_code", "level", "demand", "capacity", "unrecorded", "shortfall")


@contextmanager
def _about(what: str) -> Iterator[None]:
    """Input problems raised inside are said to be in ``what`` (not "the dataset")."""
    try:
        yield
    except InputError as exc:
        raise exc.about(what) from None


def _same_number(value: str | float, text: str) -> bool:
    from decimal import Decimal, InvalidOperation

    try:
        return Decimal(str(value)) == Decimal(text)
    except InvalidOperation:
        return False


def os_user() -> str:
    """The operating-system user running this process (who made a change, by default)."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def _scenario_document(document: dict[str, Any] | str | Path) -> dict[str, Any]:
    from nestmap.scenarios import read_scenario

    if isinstance(document, dict):
        return document
    with _about("the scenario file"):
        return read_scenario(document)


@contextmanager
def _scratch(source: str | Path) -> Iterator[Graph]:
    """A Graph for a kept graph file, or a dataset loaded into a temporary graph; closed (and
    its folder removed) however the caller's work ends."""
    path = Path(source)
    if path.suffix == ".lbug" and path.is_file():
        with Graph(path) as graph:
            yield graph
        return
    with tempfile.TemporaryDirectory(prefix="nestmap-compare-") as folder:
        with Graph(Path(folder) / "scratch.lbug", keep=0) as graph:
            graph.load(path)
            yield graph


def compare_datasets(old: str | Path, new: str | Path) -> dict[str, Any]:
    """Compare two datasets or kept graph files (see ``Graph.compare``)."""
    with _scratch(old) as before:
        return before.compare(new)
