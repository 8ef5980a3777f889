"""The command line: thin commands over nestmap.analysis; errors become clean messages.

Imports stay inside commands so that a command answers without loading pandas or streamlit.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from nestmap.errors import InputError, NestmapError
from nestmap.output import ANALYSIS_FORMATS, FORMATS

SEED_REGION = "cwm_taf_morgannwg"


def seed_path(region: str = SEED_REGION) -> Path:
    """The bundled seed region's folder (inside the installed package)."""
    from importlib import resources

    return Path(str(resources.files("nestmap.seed_data") / region))


def _fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def clean_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn nestmap's errors into one message per problem and the SPEC's exit codes."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            click.echo(f"error: {exc}; nothing was changed:", err=True)
            for problem in exc.problems:
                click.echo(f"  {problem}", err=True)
            sys.exit(exc.exit_code)
        except NestmapError as exc:
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 1)
        except Exception as exc:  # the edge: no traceback for users unless asked
            if os.environ.get("NESTMAP_DEBUG"):
                raise
            _fail(f"unexpected failure: {type(exc).__name__}: {exc}", 1)

    return wrapper


db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Embedded graph file (default: $NESTMAP_DB, else the per-user data folder; "
    "Neo4j when NESTMAP_NEO4J_URI is set).",
)
area_option = click.option(
    "--area", default=None, metavar="CODE", help="Only this local authority (its ONS code)."
)
format_option = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True
)
analysis_format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(ANALYSIS_FORMATS),
    default="table",
    show_default=True,
    help="table: the first 50 rows for reading (the rest counted on stderr); json: one "
    "document; jsonl: one row per line; csv; parquet (a file: --output, or redirect).",
)
output_option = click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file (whole, or not at all) instead of standard output.",
)


def _store(db: Path | None):
    from nestmap.graph import open_store

    return open_store(db)


class _Progress:
    """Report load steps on stderr once a load has taken more than a couple of seconds."""

    def __init__(self, after_s: float = 2.0):
        self.start = time.monotonic()
        self.after_s = after_s
        self.pending: list[str] = []

    def __call__(self, message: str) -> None:
        elapsed = time.monotonic() - self.start
        if elapsed < self.after_s:
            self.pending = [message]
            return
        for earlier in self.pending:
            click.echo(f"  … {earlier}", err=True)
        self.pending = []
        click.echo(f"  … {message} ({elapsed:.1f} s)", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nestmap")
def app() -> None:
    """nestmap: map a region's parent-infant services as a graph and find its gaps."""


def load_dataset_into(store: Any, path: Path, progress: Callable[[str], None]) -> dict[str, Any]:
    """Validate the dataset at ``path`` and replace the graph with it; return ``info``."""
    from nestmap.analysis import info
    from nestmap.loaders import read_dataset

    progress("reading and validating")
    dataset = read_dataset(path)
    store.replace(dataset, progress)
    return info(store)


@app.command()
@click.argument("path", type=click.Path(path_type=Path))
@db_option
@click.option(
    "--keep",
    default=5,
    show_default=True,
    type=click.IntRange(0),
    help="How many previous datasets to keep for `nestmap versions` / `rollback`.",
)
@clean_errors
def load(path: Path, db: Path | None, keep: int) -> None:
    """Replace the graph with the dataset at PATH (CSV folder, .xlsx or .zip), all or nothing."""
    from nestmap.graph import open_store

    started = time.monotonic()
    store = open_store(db, keep_versions=keep)
    summary = load_dataset_into(store, path, _Progress())
    _forget_other_results(store)
    counts = ", ".join(f"{count} {label}" for label, count in summary["nodes"].items())
    links = ", ".join(f"{count} {kind}" for kind, count in summary["links"].items())
    click.echo(
        f"Loaded {summary['dataset']!r} into {store.location} ({store.engine}) "
        f"in {time.monotonic() - started:.1f} s\n  nodes: {counts}\n  links: {links}"
    )


@app.command()
@db_option
@format_option
@clean_errors
def info(db: Path | None, fmt: str) -> None:
    """The engine, where the graph is, the dataset and its counts."""
    from nestmap.analysis import info as graph_info
    from nestmap.output import to_json

    store = _store(db)
    if not store.has_graph():
        _fail(f"no dataset is loaded at {store.location}; load one with `nestmap load PATH`", 2)
    summary = graph_info(store)
    if fmt == "json":
        click.echo(to_json(summary))
        return
    rows = [{"what": "engine", "value": summary["engine"]}]
    rows += [{"what": key, "value": summary[key]} for key in ("location", "dataset", "loaded_at")]
    rows += [{"what": f"nodes {k}", "value": v} for k, v in summary["nodes"].items()]
    rows += [{"what": f"links {k}", "value": v} for k, v in summary["links"].items()]
    from nestmap.output import render

    click.echo(render(rows, fmt), nl=False)


def _forget_other_results(store: Any) -> None:
    """The analyses' kept results of the replaced dataset are of no more use: free the disk."""
    from nestmap.analysis.materialised import forget_other_versions

    forget_other_versions(store)


def _analysis_command(name: str, help_text: str, extra: list[Callable] | None = None):
    def decorate(compute: Callable[..., Any]) -> Callable[..., Any]:
        @app.command(name=name, help=help_text)
        @db_option
        @area_option
        @analysis_format_option
        @output_option
        @clean_errors
        @functools.wraps(compute)
        def command(
            db: Path | None, area: str | None, fmt: str, output: Path | None, **options: Any
        ) -> None:
            from nestmap.analysis.materialised import KeptResult
            from nestmap.output import check_destination, copy_to, write, write_to

            def notice(text: str) -> None:
                click.echo(text, err=True)

            check_destination(output, fmt)
            store = _store(db)
            # Kept per dataset version: asked again, the answer is read back, not recomputed
            # (and in a format asked before, copied as it was written).
            kept = KeptResult(store, {"analysis": name, "area": area, **options})
            found = kept.written(fmt)
            if found is None:
                parts = kept.parts(lambda: compute(store, area, **options))
                found = kept.keep_written(fmt, lambda stream, say: write(parts, fmt, stream, say))
                if found is None:  # not kept (Neo4j, a read-only folder): straight out
                    write_to(output, fmt, parts, notice)
                    return
            file, notices = found
            copy_to(output, file)
            for text in notices:
                notice(text)

        for option in extra or []:
            command = option(command)
        return command

    return decorate


@_analysis_command(
    "gaps", "The coverage matrix: every LA x level x stage; gap = nothing specialised."
)
def _gaps(store: Any, area: str | None) -> Any:
    from nestmap.analysis import gaps

    return gaps(store, area)


@_analysis_command("misdirected", "Referral links sent where the support asked for is not.")
def _misdirected(store: Any, area: str | None) -> Any:
    from nestmap.analysis import misdirected

    return misdirected(store, area)


@_analysis_command(
    "boundaries",
    "Interfaces on referral links, and threshold cliffs per LA x stage.",
    [
        click.option(
            "--part",
            type=click.Choice(["links", "threshold_cliffs"]),
            default=None,
            help="Only one of the two parts (a single plain table, e.g. for CSV).",
        )
    ],
)
def _boundaries(store: Any, area: str | None, part: str | None = None) -> Any:
    from nestmap.analysis import boundaries

    result = boundaries(store, area)
    return result[part] if part else result


@_analysis_command("pathways", "From each universal entry point, the nearest specialised help.")
def _pathways(store: Any, area: str | None) -> Any:
    from nestmap.analysis import pathways

    return pathways(store, area)


@_analysis_command("concentration", "Where parent-infant relationship referrals go.")
def _concentration(store: Any, area: str | None) -> Any:
    from nestmap.analysis import concentration

    return concentration(store, area)


@_analysis_command(
    "need",
    "Demand against specialised capacity per LA x level (the report's method).",
    [
        click.option("--targeted-share", default=None, help="Share needing targeted help [0.08]."),
        click.option(
            "--specialist-share", default=None, help="Share needing specialist work [0.09]."
        ),
        click.option("--statutory-share", default=None, help="Share needing risk support [0.13]."),
    ],
)
def _need(
    store: Any,
    area: str | None,
    targeted_share: str | None = None,
    specialist_share: str | None = None,
    statutory_share: str | None = None,
) -> Any:
    from nestmap.analysis import need, parse_shares

    shares = parse_shares(targeted_share, specialist_share, statutory_share)
    return need(store, area, shares)


def _part_option(*parts: str) -> Callable:
    """``--part``: one table of a result that has several (Parquet holds one table)."""
    return click.option(
        "--part",
        type=click.Choice(parts),
        default=None,
        help="Only one of the parts (a single plain table, e.g. for CSV or Parquet).",
    )


@_analysis_command(
    "assessment",
    "Which entry points assess the parent-infant relationship, and per LA x stage who does.",
    [_part_option("entry_points", "coverage")],
)
def _assessment(store: Any, area: str | None, part: str | None = None) -> Any:
    from nestmap.analysis import assessment

    result = assessment(store, area)
    return result[part] if part else result


@_analysis_command(
    "workforce",
    "FTE by AiMH competency level per service and per LA.",
    [_part_option("services", "areas")],
)
def _workforce(store: Any, area: str | None, part: str | None = None) -> Any:
    from nestmap.analysis import workforce

    result = workforce(store, area)
    parts = {"services": result["services"], "areas": result["areas"]}
    return parts[part] if part else parts


@_analysis_command("thrive", "Services grouped by THRIVE grouping from their levels.")
def _thrive(store: Any, area: str | None) -> Any:
    from nestmap.analysis import thrive

    return thrive(store, area)


@_analysis_command("groups-left-out", "Per LA, services that support fathers and partners.")
def _groups_left_out(store: Any, area: str | None) -> Any:
    from nestmap.analysis import groups_left_out

    return groups_left_out(store, area)


def _run_dashboard(db: Path | None, port: int, address: str) -> None:
    """Start the Streamlit app on the chosen graph (this process waits for it)."""
    import subprocess

    from nestmap.graph import open_store

    app_file = Path(__file__).parent / "dashboard" / "app.py"
    env = dict(os.environ)
    store = open_store(db)
    if store.engine == "embedded":
        env["NESTMAP_DB"] = store.location
        env.pop("NESTMAP_NEO4J_URI", None)
    store.close()
    click.echo(f"nestmap dashboard on http://{address}:{port} ({store.location})", err=True)
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_file),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    try:
        completed = subprocess.run(command, env=env, check=False)
    except KeyboardInterrupt:
        return
    if completed.returncode not in (0, -2, 130):
        _fail(f"the dashboard stopped with exit code {completed.returncode}", 1)


port_option = click.option("--port", default=8501, show_default=True, type=int)
address_option = click.option(
    "--address", default="localhost", show_default=True, help="Interface to listen on."
)


@app.command()
@db_option
@port_option
@address_option
@clean_errors
def dashboard(db: Path | None, port: int, address: str) -> None:
    """Start the dashboard on the chosen graph."""
    _run_dashboard(db, port, address)


def demo_db_path() -> Path:
    from nestmap.graph import default_db_path

    return default_db_path().with_name("demo.lbug")


@app.command()
@db_option
@port_option
@address_option
@clean_errors
def demo(db: Path | None, port: int, address: str) -> None:
    """Load the bundled seed region into a demo database (once) and start the dashboard."""
    from nestmap.analysis import info as graph_info
    from nestmap.graph import open_store
    from nestmap.loaders.read import read_raw

    target = db or demo_db_path()
    store = open_store(target)
    seed_hashes = read_raw(seed_path()).file_hashes
    if not store.has_graph() or graph_info(store)["file_hashes"] != seed_hashes:
        click.echo(f"loading the seed region into {store.location}", err=True)
        load_dataset_into(store, seed_path(), _Progress())
    store.close()
    _run_dashboard(target, port, address)


@app.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "xlsx", "graphml", "gexf", "kumu"]),
    default=None,
    help="csv: a folder of the five CSVs; xlsx: one workbook (both the input format); graphml, "
    "gexf: the graph for Gephi; kumu: Kumu's import workbook (default: from OUT's suffix).",
)
@db_option
@clean_errors
def export(out: Path, fmt: str | None, db: Path | None) -> None:
    """Write the loaded dataset or graph to OUT."""
    from nestmap import interop

    store = _store(db)
    suffixes = {".xlsx": "xlsx", ".graphml": "graphml", ".gexf": "gexf"}
    fmt = fmt or suffixes.get(out.suffix.lower(), "csv")
    if fmt == "csv":
        interop.write_csv_folder(store, out)
    else:
        writers = {
            "xlsx": lambda: interop.export_dataset(store, "xlsx"),
            "graphml": lambda: interop.to_graphml(store),
            "gexf": lambda: interop.to_gexf(store),
            "kumu": lambda: interop.to_kumu(store),
        }
        out.write_bytes(writers[fmt]())
    click.echo(f"wrote {out}")


@app.command()
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@clean_errors
def template(out: Path) -> None:
    """Write a blank dataset workbook with a guide sheet and dropdowns."""
    from nestmap.interop import template_workbook

    out.write_bytes(template_workbook())
    click.echo(f"wrote {out}")


@app.command()
@db_option
@format_option
@clean_errors
def versions(db: Path | None, fmt: str) -> None:
    """The previous datasets kept by loads (oldest first), for compare and rollback."""
    from nestmap.output import render

    rows = [
        {
            "version": v["version"],
            "dataset": v["name"],
            "loaded_at": v["loaded_at"],
            "files": ", ".join(
                f"{name} {digest[:12]}" for name, digest in json.loads(v["file_hashes"]).items()
            ),
        }
        for v in _store(db).versions()
    ]
    click.echo(render(rows, fmt), nl=False)


@app.command()
@click.argument("version", type=int)
@db_option
@clean_errors
def rollback(version: int, db: Path | None) -> None:
    """Make kept VERSION the current graph again (the current one is kept as a version)."""
    store = _store(db)
    store.rollback(version)
    _forget_other_results(store)
    click.echo(f"rolled back to version {version} ({store.location})")


def _scenario_document(file: Path) -> dict[str, Any]:
    from nestmap.scenarios import read_scenario

    return read_scenario(file)


@app.group()
def scenario() -> None:
    """Try "what if" changes on a copy of the loaded graph."""


@scenario.command("list")
def scenario_list() -> None:
    """The scenario files bundled with the seed region."""
    from nestmap.scenarios import bundled_scenarios

    for path in bundled_scenarios():
        click.echo(str(path))


@scenario.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
@db_option
@clean_errors
def scenario_validate(file: Path, db: Path | None) -> None:
    """Check FILE (YAML or JSON) against the loaded dataset; exit 2 with every problem."""
    from nestmap.scenarios import scenario_dataset

    store = _store(db)
    found, dataset = scenario_dataset(store, _scenario_document(file))
    summary = found.summary()
    click.echo(
        f"{file}: valid — {summary['name']!r}: adds {len(found.add_services)} services, retires "
        f"{len(found.retire_services)}, changes {len(found.change_services)}, adds "
        f"{len(found.add_referrals)} and removes {len(found.remove_referrals)} referral links; "
        f"{summary['families_a_year']} families a year for £{summary['total_cost']:,.0f}"
    )


def _print_comparison(result: dict[str, Any], fmt: str) -> None:
    from nestmap.output import render, to_json
    from nestmap.scenarios import change_rows

    if fmt == "json":
        click.echo(to_json(result))
        return
    rows = change_rows(result)
    if fmt == "csv":
        click.echo(render(rows, "csv"), nl=False)
        return
    summary = result["summary"]
    for key, value in summary.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items()) or "none"
        click.echo(f"{key}: {value}")
    click.echo()
    click.echo(render(rows, "table") if rows else "no changes\n", nl=False)


@scenario.command("compare")
@click.argument("file", type=click.Path(path_type=Path))
@db_option
@format_option
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write a before/after report: .html (self-contained) or .xlsx.",
)
@clean_errors
def scenario_compare(file: Path, db: Path | None, fmt: str, report: Path | None) -> None:
    """Apply FILE to a copy of the loaded graph and compare every analysis before and after."""
    from nestmap.scenarios import evaluate, report_html, report_xlsx

    result = evaluate(_store(db), _scenario_document(file))
    comparison = result["comparison"]
    if report is not None:
        if report.suffix.lower() == ".xlsx":
            report.write_bytes(
                report_xlsx(
                    result["summary"], comparison, result["need_before"], result["need_after"]
                )
            )
        else:
            page = report_html(
                result["summary"],
                comparison,
                result["gaps_before"],
                result["gaps_after"],
                result["need_before"],
                result["need_after"],
            )
            report.write_text(page, encoding="utf-8")
        click.echo(f"wrote {report}", err=True)
    comparison["summary"] = {"scenario": result["summary"], **comparison["summary"]}
    _print_comparison(comparison, fmt)


@app.command("compare")
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@format_option
@clean_errors
def compare_datasets(old: Path, new: Path, fmt: str) -> None:
    """Compare two datasets (folders, .xlsx, .zip, or kept graph versions *.lbug)."""
    import tempfile

    from nestmap.graph import open_store
    from nestmap.loaders import read_dataset
    from nestmap.scenarios import compare

    with tempfile.TemporaryDirectory(prefix="nestmap-compare-") as folder:
        stores = []
        for index, path in enumerate((old, new)):
            if path.suffix == ".lbug" and path.is_file():
                stores.append(open_store(path))
            else:
                store = open_store(Path(folder) / f"{index}.lbug")
                store.replace(read_dataset(path))
                stores.append(store)
        result = compare(*stores)
        for store in stores:
            store.close()
    _print_comparison(result, fmt)


@app.group("import")
def import_group() -> None:
    """Start a dataset from another standard's data."""


@import_group.command("oruk")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--companion",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="CSV keyed by oruk_service_id with what ORUK does not carry (see README).",
)
@clean_errors
def import_oruk_command(source: Path, out: Path, companion: Path | None) -> None:
    """Map an Open Referral UK directory (CSV folder or service JSON) to a dataset folder."""
    from nestmap.interop.oruk import import_oruk

    result = import_oruk(source, out, companion)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"wrote {result.services} services to {out}")
    if result.to_fill_in:
        click.echo(
            f"{len(result.to_fill_in)} things to fill in before `nestmap load` "
            f"(listed in {out / 'TO_FILL_IN.csv'}):"
        )
        for item in result.to_fill_in:
            click.echo(f"  {item['file']} {item['id']} {item['column']}: {item['what']}")


@app.command()
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--areas", default=400, show_default=True, type=click.IntRange(1))
@click.option("--services", default=50_000, show_default=True, type=click.IntRange(1))
@click.option("--links", default=1_000_000, show_default=True, type=click.IntRange(0))
@click.option("--seed", default=0, show_default=True, type=int)
@clean_errors
def synth(out: Path, areas: int, services: int, links: int, seed: int) -> None:
    """Write a deterministic synthetic dataset (AREAS local authorities) to the folder OUT."""
    from nestmap.errors import UsageError
    from nestmap.synth import generate

    started = time.monotonic()
    try:
        counts = generate(out, areas=areas, services=services, links=links, seed=seed)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    summary = ", ".join(f"{count:,} {kind}" for kind, count in counts.items())
    click.echo(f"wrote {out} in {time.monotonic() - started:.1f} s: {summary}")


@app.command()
@click.argument("region", default=SEED_REGION)
def seed(region: str) -> None:
    """Print the folder of a bundled seed region (for `nestmap load "$(nestmap seed)"`)."""
    path = seed_path(region)
    if not path.is_dir():
        _fail(f"no bundled seed region {region!r}", 2)
    click.echo(str(path))


if __name__ == "__main__":
    app()
