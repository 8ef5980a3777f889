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

from nestmap.api import SEED_REGION, Graph, seed_path
from nestmap.errors import InputError, NestmapError, NoGraphError
from nestmap.output import ANALYSIS_FORMATS, FORMATS


def _fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def clean_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn nestmap's errors into one message per problem and the exit codes of docs/analyses.md."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            click.echo(f"error: {exc}; nothing was changed:", err=True)
            for problem in exc.problems:
                click.echo(f"  {problem}", err=True)
            if exc.more_note():
                click.echo(f"  {exc.more_note()}", err=True)
            sys.exit(exc.exit_code)
        except NoGraphError as exc:
            _fail(str(exc) + _demo_hint(), exc.exit_code)
        except NestmapError as exc:
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 1)
        except BrokenPipeError:
            # A reader that stopped early (`| head`): click silences the rest of the output.
            raise
        except Exception as exc:  # the edge: no traceback for users unless asked
            if os.environ.get("NESTMAP_DEBUG"):
                raise
            _fail(f"unexpected failure: {type(exc).__name__}: {exc}", 1)

    return wrapper


def _demo_hint() -> str:
    """Where the demo's graph is, when there is one (``nestmap demo`` keeps its own)."""
    try:
        demo = demo_db_path()
    except OSError:
        return ""
    if not demo.is_file():
        return ""
    return f" (the demo's graph is at {demo}: add --db {_quoted(str(demo))} to use it)"


db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Embedded graph file (default: $NESTMAP_DB, else the per-user data folder; "
    "Neo4j when NESTMAP_NEO4J_URI is set).",
)
area_option = click.option(
    "--area",
    default=None,
    metavar="CODE|NAME",
    help="Only this local authority: its code (e.g. W06000024) or its name (e.g. "
    "'Merthyr Tydfil'), in any letter case.",
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


def _graph(db: Path | None, keep: int = 5) -> Graph:
    """The graph the command works on (close it: use ``with``)."""
    return Graph(db, keep=keep)


def _warm(graph: Graph, dashboard: bool | None = None) -> None:
    """Compute the dataset's answers in the background (nestmap.answers.warm), and open the
    dashboard's pages after them when ``dashboard`` (default: when the dashboard is in use on
    this graph: it has kept page results for it)."""
    from nestmap.answers import warm
    from nestmap.dashboard import prepare

    path = getattr(graph.store, "path", None)
    if dashboard is None:
        dashboard = isinstance(path, Path) and prepare.used(path)
    warm.start(graph.store, prepare.MODULE if dashboard else None)


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


by_option = click.option(
    "--by",
    default=None,
    metavar="NAME",
    help="Who is making this change, for `nestmap versions` (default: your OS user name).",
)


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
@by_option
@clean_errors
def load(path: Path, db: Path | None, keep: int, by: str | None) -> None:
    """Replace the graph with the dataset at PATH (CSV folder, .xlsx or .zip), all or nothing."""
    started = time.monotonic()
    with _graph(db, keep) as graph:
        before = graph.store.version()
        try:
            summary = graph.load(path, progress=_Progress(), by=by)
        except KeyboardInterrupt:
            # The graph is swapped in whole or not at all (EmbeddedStore.replace): say which.
            if graph.store.version() == before:
                _fail("interrupted: nothing was changed", 1)
            _fail(
                "interrupted just after the new dataset was swapped in: it is loaded "
                "(`nestmap info` shows it; `nestmap rollback` goes back)",
                1,
            )
        _warm(graph)
    counts = ", ".join(f"{count} {label}" for label, count in summary["nodes"].items())
    links = ", ".join(f"{count} {kind}" for kind, count in summary["links"].items())
    click.echo(
        f"Loaded {summary['dataset']!r} into {summary['location']} ({summary['engine']}) "
        f"in {time.monotonic() - started:.1f} s\n  nodes: {counts}\n  links: {links}"
    )


@app.command()
@db_option
@format_option
@clean_errors
def info(db: Path | None, fmt: str) -> None:
    """The engine, where the graph is, the dataset and its counts."""
    from nestmap.output import to_json

    with _graph(db) as graph:
        if not graph.has_dataset():
            _fail(f"no dataset is loaded at {graph.location}; load one with `nestmap load PATH`", 2)
        summary = graph.info()
    if fmt == "json":
        click.echo(to_json(summary))
        return
    rows = [{"what": "engine", "value": summary["engine"]}]
    rows += [
        {"what": key, "value": summary[key]}
        for key in ("location", "dataset", "loaded_at", "loaded_by")
    ]
    rows += [{"what": name, "value": text} for name, text in summary["about"].items()]
    rows += [{"what": f"nodes {k}", "value": v} for k, v in summary["nodes"].items()]
    rows += [{"what": f"links {k}", "value": v} for k, v in summary["links"].items()]
    from nestmap.output import render

    click.echo(render(rows, fmt), nl=False)


@app.command()
@click.argument("cypher")
@click.option(
    "--limit",
    default=1000,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Most rows to return (more are cut, with a note on stderr).",
)
@click.option(
    "--timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="Seconds the query may run before it is stopped.",
)
@format_option
@db_option
@clean_errors
def query(cypher: str, limit: int, timeout: float, fmt: str, db: Path | None) -> None:
    """Run one read-only Cypher query (the dashboard's Query console) and print its rows.

    Only reading queries pass (MATCH, OPTIONAL MATCH, WITH, UNWIND, WHERE, RETURN, ORDER BY,
    SKIP, LIMIT, UNION, CALL show_tables() / table_info(...)): anything else is refused with
    the reason (exit 2). On the embedded engine the query runs in a worker process without
    file access, with a memory cap (NESTMAP_QUERY_MEMORY_MB, default 1024) and the timeout;
    a query stopped or crashing there exits 1 with a plain message.
    """
    from nestmap.output import render

    with _graph(db) as graph:
        result = graph.query(cypher, limit, timeout)
    rows = list(result)
    if result.truncated:
        click.echo(f"note: truncated: showing the first {len(rows):,} rows", err=True)
    if result.cells_cut:
        click.echo(f"note: {result.cells_cut:,} long cells were cut", err=True)
    if fmt == "table" and not rows:
        click.echo("(no rows)")
        return
    click.echo(render(rows, fmt) if fmt != "json" else _json_rows(rows), nl=False)


def _json_rows(rows: list[dict[str, Any]]) -> str:
    from nestmap.output import to_json

    return to_json(rows) + "\n"


# The analysis commands: one per analysis of nestmap.answers.ANALYSES (each answer kept per
# dataset version; the warm-up after a load asks them all).
ANALYSIS_COMMANDS: list[str] = []


def _analysis_command(name: str, help_text: str, extra: tuple[Callable, ...] = ()) -> None:
    """``nestmap NAME``: the answer of analysis NAME (read back when kept, one LA cut out of
    the kept whole country when it can be, else computed and kept), written in the format
    asked; ``extra``: its own options (named as the analysis's options)."""
    ANALYSIS_COMMANDS.append(name)

    @db_option
    @area_option
    @analysis_format_option
    @output_option
    @clean_errors
    def command(
        db: Path | None, area: str | None, fmt: str, output: Path | None, **options: Any
    ) -> None:
        from nestmap import answers
        from nestmap.output import check_destination, write_to
        from nestmap.units import table_notes

        def notice(text: str) -> None:
            click.echo(text, err=True)

        check_destination(output, fmt)
        with _graph(db) as graph:
            if area is not None:  # a code or a name, in any case: the LA's code
                from nestmap.answers.slices import area_code

                area = area_code(graph.store, area)
            parts = answers.answer(graph.store, name, area, keep_any=True, **options)
        write_to(output, fmt, parts, notice)
        if fmt == "table":  # what the figures are (units, upper bounds)
            for line in table_notes(name, parts):
                notice(line)

    for option in extra:
        command = option(command)
    app.command(name=name, help=help_text)(command)


def _part_option(*parts: str) -> Callable:
    """``--part``: one table of a result that has several (Parquet holds one table)."""
    return click.option(
        "--part",
        type=click.Choice(parts),
        default=None,
        help="Only one of the parts (a single plain table, e.g. for CSV or Parquet).",
    )


_analysis_command(
    "gaps", "The coverage matrix: every LA x level x stage; gap = nothing specialised."
)
_analysis_command(
    "age-bands",
    "Specialised postnatal help by the child's age (0-5, 6-11, 12-17, 18-23 months) per LA x "
    "level; gap = nothing specialised for that age.",
)
_analysis_command(
    "misdirected",
    "Referral links sent where the support asked for is not; onward = the family can still "
    "reach specialised help from there (0-6 links).",
)
_analysis_command(
    "boundaries",
    "Interfaces on referral links, and threshold cliffs per LA x stage.",
    (_part_option("links", "threshold_cliffs"),),
)
_analysis_command("pathways", "From each universal entry point, the nearest specialised help.")
_analysis_command("concentration", "Where parent-infant relationship referrals go.")
_analysis_command(
    "need",
    "Demand against specialised capacity per LA x level (the report's method).",
    (
        click.option("--targeted-share", default=None, help="Share needing targeted help [0.08]."),
        click.option(
            "--specialist-share", default=None, help="Share needing specialist work [0.09]."
        ),
        click.option("--statutory-share", default=None, help="Share needing risk support [0.13]."),
        click.option(
            "--preset",
            type=click.Choice(["high_adversity", "general_population"]),
            default="high_adversity",
            show_default=True,
            help="The shares to start from: the report's high-adversity CTM values, or its "
            "general-population distribution mapped to the levels (docs/command-line.md); a "
            "--*-share option overrides its level.",
        ),
    ),
)
_analysis_command(
    "assessment",
    "Which entry points assess the parent-infant relationship, and per LA x stage who does.",
    (_part_option("entry_points", "coverage"),),
)
_analysis_command(
    "workforce",
    "FTE by AiMH competency level per service and per LA.",
    (_part_option("services", "areas"),),
)
_analysis_command("thrive", "Services grouped by THRIVE grouping from their levels.")
_analysis_command("groups-left-out", "Per LA, services that support fathers and partners.")


_GRANT_ENV = (
    "NESTMAP_EDITOR_SECRET_FILE",
    "NESTMAP_EDITOR_SECRET",
    "NESTMAP_EDITOR_EMAILS",
    "NESTMAP_OPEN_EDITING",
)


def _editor_grant(secret_file: Path | None, emails: tuple[str, ...]) -> dict[str, str]:
    """The dashboard server's editing grant as environment variables (see dashboard/access.py);
    empty: read-only (unless NESTMAP_EDITOR_SECRET is set in the environment)."""
    from nestmap.errors import UsageError
    from nestmap.serve import MIN_SECRET_CHARS

    if secret_file is not None and emails:
        raise UsageError("give either --editor-secret-file or --editor-email, not both")
    if secret_file is not None:
        try:
            secret = secret_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the editor secret file {secret_file}: {exc}") from None
        if len(secret) < MIN_SECRET_CHARS:
            raise UsageError(
                f"the editor secret in {secret_file} is too short: use at least "
                f"{MIN_SECRET_CHARS} characters"
            )
        return {"NESTMAP_EDITOR_SECRET_FILE": str(secret_file.resolve())}
    if emails:
        return {"NESTMAP_EDITOR_EMAILS": ",".join(email.strip() for email in emails)}
    secret = os.environ.get("NESTMAP_EDITOR_SECRET", "")
    if secret.strip() and len(secret.strip()) < MIN_SECRET_CHARS:
        raise UsageError(
            f"the editor secret in $NESTMAP_EDITOR_SECRET is too short: use at least "
            f"{MIN_SECRET_CHARS} characters"
        )
    return {"NESTMAP_EDITOR_SECRET": secret} if secret.strip() else {}


def _run_dashboard(
    db: Path | None,
    port: int,
    address: str,
    grant: dict[str, str] | None = None,
    allow_hosts: tuple[str, ...] = (),
) -> None:
    """Start the Streamlit app on the chosen graph (this process waits for it, and stops it
    when stopped itself: see nestmap.serve); ``grant`` allows editing (see
    dashboard/access.py): without it the dashboard is read-only. The server answers only to
    the names it is started on and ``allow_hosts`` (see nestmap.serve.HostCheck)."""
    from nestmap import serve

    serve.check_port(address, port)
    names = serve.served_names(address, _extra_hosts(allow_hosts))
    app_file = Path(__file__).parent / "dashboard" / "served_app.py"
    env = {key: value for key, value in os.environ.items() if key not in _GRANT_ENV}
    env.update(grant or {})
    env[serve.HOSTS_ENV] = ",".join(names)
    with _graph(db) as graph:
        if graph.engine == "embedded":
            env["NESTMAP_DB"] = graph.location
            env.pop("NESTMAP_NEO4J_URI", None)
            # Each page's results prepared in the background, once per dataset version.
            _warm(graph, dashboard=True)
    click.echo(f"nestmap dashboard on http://{address}:{port} ({graph.location})", err=True)
    click.echo(f"  {_grant_words(grant or {})}", err=True)
    click.echo(f"  answers to {', '.join(names)} only (add a name with --allow-host)", err=True)
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
        # Also set in the app's config.toml; repeated here so that no other config file
        # (~/.streamlit, the working folder) can turn stack traces back on for users.
        "--client.showErrorDetails",
        "none",
        # Streamlit's own WebSocket Host check too, beside the app's (served_app.py).
        *(part for name in names for part in ("--server.allowedHosts", name)),
    ]
    code = serve.run_child(command, env)
    if code not in (None, 0, -2, -15, 130, 143):
        _fail(
            f"the dashboard stopped with exit code {code} (if its port was taken meanwhile, "
            "choose another with --port)",
            1,
        )


def _extra_hosts(allow_hosts: tuple[str, ...]) -> list[str]:
    """The operator's extra names: --allow-host, then $NESTMAP_ALLOWED_HOSTS."""
    from nestmap import serve

    given = [*allow_hosts, *serve.parse_names(os.environ.get(serve.HOSTS_ENV, ""))]
    return serve.check_names(name for value in given for name in serve.parse_names(value))


def _grant_words(grant: dict[str, str]) -> str:
    if "NESTMAP_OPEN_EDITING" in grant:
        return "anyone who opens it on this computer (at localhost) may change the map (demo)"
    if "NESTMAP_EDITOR_SECRET_FILE" in grant or "NESTMAP_EDITOR_SECRET" in grant:
        return "read-only; editors unlock changes with the editor secret on the Data page"
    if "NESTMAP_EDITOR_EMAILS" in grant:
        return "read-only; editors sign in on the Data page (st.login)"
    return "read-only: nobody can change the map from the dashboard"


port_option = click.option("--port", default=8501, show_default=True, type=int)
address_option = click.option(
    "--address", default="localhost", show_default=True, help="Interface to listen on."
)


allow_host_option = click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="NAME",
    help="Also answer to this host name or address (e.g. the name a proxy serves the "
    "dashboard under; '*.example.org' for every name under a domain); repeatable; also "
    "$NESTMAP_ALLOWED_HOSTS (comma-separated). Other Host headers are refused.",
)


editor_secret_option = click.option(
    "--editor-secret-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Allow editing: a file holding a shared editor secret, typed on the Data page to "
    "unlock changes (also $NESTMAP_EDITOR_SECRET). Without a grant the dashboard is read-only.",
)
editor_email_option = click.option(
    "--editor-email",
    "editor_emails",
    multiple=True,
    metavar="EMAIL",
    help="Allow editing to this e-mail once signed in (Streamlit's st.login, configured by "
    "[auth] in .streamlit/secrets.toml); repeatable; '*' for anyone signed in.",
)


@app.command()
@db_option
@port_option
@address_option
@allow_host_option
@editor_secret_option
@editor_email_option
@clean_errors
def dashboard(
    db: Path | None,
    port: int,
    address: str,
    allow_hosts: tuple[str, ...],
    editor_secret_file: Path | None,
    editor_emails: tuple[str, ...],
) -> None:
    """Start the dashboard on the chosen graph (read-only unless an editor grant is given)."""
    from nestmap import serve

    serve.answer_ctrl_c()
    grant = _editor_grant(editor_secret_file, editor_emails)
    _run_dashboard(db, port, address, grant, allow_hosts)


def demo_db_path() -> Path:
    from nestmap.graph import default_db_path

    return default_db_path().with_name("demo.lbug")


_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


demo_db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Embedded graph file for the demo (default: demo.lbug beside the default graph - in "
    "the folder of $NESTMAP_DB when that is set, else in the per-user data folder - never "
    "$NESTMAP_DB itself, so the demo never replaces your own graph).",
)


@app.command()
@demo_db_option
@port_option
@address_option
@allow_host_option
@editor_secret_option
@editor_email_option
@clean_errors
def demo(
    db: Path | None,
    port: int,
    address: str,
    allow_hosts: tuple[str, ...],
    editor_secret_file: Path | None,
    editor_emails: tuple[str, ...],
) -> None:
    """Load the bundled seed region into a demo database (once) and start the dashboard.

    On this computer only (the default address, opened at localhost) anyone may change the demo
    map; served on another address it is read-only unless an editor grant is given."""
    from nestmap import serve
    from nestmap.loaders.read import read_raw

    serve.answer_ctrl_c()
    serve.check_port(address, port)  # before a load that would be wasted
    _extra_hosts(allow_hosts)  # a bad name is refused before a load, too
    target = db or demo_db_path()
    with _graph(target) as graph:
        seed_hashes = read_raw(seed_path()).file_hashes
        if not graph.has_dataset() or graph.info()["file_hashes"] != seed_hashes:
            click.echo(f"loading the seed region into {graph.location}", err=True)
            graph.load(seed_path(), progress=_Progress(), by="nestmap demo")
        # The demo keeps its own graph so that it never replaces the user's: say where it is.
        click.echo(
            f"the demo graph is at {graph.location}; to use it with other commands, add "
            f"--db {_quoted(graph.location)} (e.g. nestmap gaps --db {_quoted(graph.location)})",
            err=True,
        )
    grant = _editor_grant(editor_secret_file, editor_emails)
    if not grant and address.strip("[]") in serve.LOOPBACK_NAMES:
        # Only for a browser on this computer that opens it by a loopback name (access.py).
        grant = {"NESTMAP_OPEN_EDITING": "1"}
    _run_dashboard(target, port, address, grant, allow_hosts)


def _quoted(path: str) -> str:
    import shlex

    return shlex.quote(path)


@app.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "xlsx", "zip", "graphml", "gexf", "kumu"]),
    default=None,
    help="csv: a folder of the five CSVs; xlsx: one workbook; zip: the CSVs zipped (all three "
    "the input format); graphml, "
    "gexf: the graph for Gephi; kumu: Kumu's import workbook (default: from OUT's suffix).",
)
@db_option
@clean_errors
def export(out: Path, fmt: str | None, db: Path | None) -> None:
    """Write the loaded dataset or graph to OUT."""
    with _graph(db) as graph:
        graph.export(out, fmt)
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
    """The previous datasets kept by loads (oldest first), for compare and rollback: who loaded
    each, and who replaced it (by a load, an edit or a rollback), when, and the note of why."""
    from nestmap.output import render

    rows = [
        {
            "version": v["version"],
            "dataset": v["name"],
            "loaded_at": v["loaded_at"],
            "loaded_by": v.get("loaded_by"),
            "replaced_at": v.get("replaced_at"),
            "replaced_by": v.get("replaced_by"),
            # What the change that replaced it did and why (edits and undos note it).
            "replaced_because": v.get("replaced_note"),
            "files": ", ".join(
                f"{name} {digest[:12]}" for name, digest in json.loads(v["file_hashes"]).items()
            ),
        }
        for v in _kept_versions(db)
    ]
    click.echo(render(rows, fmt), nl=False)


def _kept_versions(db: Path | None) -> list[dict[str, Any]]:
    with _graph(db) as graph:
        return graph.versions()


@app.command()
@click.argument("version", type=int)
@db_option
@by_option
@clean_errors
def rollback(version: int, db: Path | None, by: str | None) -> None:
    """Make kept VERSION the current graph again (the current one is kept as a version)."""
    with _graph(db) as graph:
        graph.rollback(version, by=by)
        _warm(graph)
    click.echo(f"rolled back to version {version} ({graph.location})")


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
    from nestmap.scenarios import cost_lines

    with _graph(db) as graph:
        found = graph.check_scenario(file)
    summary = found.summary()
    click.echo(
        f"{file}: valid — {summary['name']!r}: adds {len(found.add_services)} services, retires "
        f"{len(found.retire_services)}, changes {len(found.change_services)}, adds "
        f"{len(found.add_referrals)} and removes {len(found.remove_referrals)} referral links; "
        f"{summary['families_a_year']} families a year"
    )
    for line in cost_lines(summary):
        click.echo(f"  {line}")


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
    summary = dict(result["summary"])
    scenario = summary.pop("scenario", None)
    if scenario is not None:
        from nestmap.scenarios import cost_lines

        click.echo(f"scenario: {scenario['name']}")
        click.echo(f"families_a_year: {scenario['families_a_year']:,}")
        for line in cost_lines(scenario):
            click.echo(f"  {line}")
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
    from nestmap.scenarios import report_html, report_xlsx

    with _graph(db) as graph:
        result = graph.scenario(file)
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
    from nestmap.api import compare_datasets as compare

    _print_comparison(compare(old, new), fmt)


@app.command()
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@area_option
@click.option(
    "--scenario",
    "scenario_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A scenario file (YAML or JSON) to include as an option; repeat for several.",
)
@click.option(
    "--max-rows",
    default=1000,
    show_default=True,
    type=click.IntRange(0),
    help="Rows per long table (the rest are counted, not shown); 0 for every row.",
)
@db_option
@clean_errors
def report(
    out: Path, area: str | None, scenario_files: tuple[Path, ...], max_rows: int, db: Path | None
) -> None:
    """Write the mapping report of the loaded region (or one LA) to OUT.html or OUT.pdf."""
    from nestmap.answers.slices import area_code
    from nestmap.errors import NoGraphError, UsageError
    from nestmap.report import SUFFIXES, pdf_available
    from nestmap.report.pdf import INSTALL_HINT, RendererMissing

    if out.suffix.lower() not in SUFFIXES:
        raise UsageError(f"the report is written as .html or .pdf, not {out.name!r}")
    if not out.parent.is_dir():
        raise UsageError(f"no folder {str(out.parent)!r} to write the report in")
    if out.suffix.lower() == ".pdf" and not pdf_available():
        raise RendererMissing(INSTALL_HINT)
    started = time.monotonic()
    with _graph(db) as graph:
        if not graph.has_dataset():
            raise NoGraphError(
                f"no dataset is loaded at {graph.location}; load one with `nestmap load PATH`"
            )
        if area is not None:  # a code or a name; neither: exit 2 with the known ones
            area = area_code(graph.store, area)
        documents = [graph.scenario_document(file) for file in scenario_files]
        for document in documents:
            graph.check_scenario(document)  # every problem now, before any work
        graph.report(out, area, documents, max_rows=max_rows)
    click.echo(f"wrote {out} in {time.monotonic() - started:.1f} s")


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
    help="CSV keyed by oruk_service_id with what Open Referral does not carry (see "
    "docs/command-line.md).",
)
@click.option(
    "--keep-first",
    is_flag=True,
    help="Keep the first record of each id and leave out later duplicates and records "
    "without an id or name (each reported), instead of refusing the directory.",
)
@clean_errors
def import_oruk_command(source: Path, out: Path, companion: Path | None, keep_first: bool) -> None:
    """Map an Open Referral directory (HSDS 1.x/3.x, ORUK; CSV folder or zip, or JSON)."""
    from nestmap.interop.oruk import FILL_FILE, WARNINGS_FILE, import_oruk

    try:
        result = import_oruk(source, out, companion, keep_first=keep_first)
    except InputError as exc:
        raise exc.about("the ORUK directory or its companion CSV") from None
    shown = 20
    for warning in result.warnings[:shown]:
        click.echo(f"warning: {warning}", err=True)
    if len(result.warnings) > shown:
        click.echo(
            f"warning: ... and {len(result.warnings) - shown:,} more (all in "
            f"{out / WARNINGS_FILE})",
            err=True,
        )
    click.echo(f"read {source.name} as: {result.shape}")
    if result.areas_by_name:
        click.echo(
            f"matched {result.areas_by_name:,} service areas given by name to ONS codes "
            "(each listed in the warnings)"
        )
    click.echo(f"wrote {result.services:,} services to {out}")
    if result.to_fill_in:
        click.echo(
            f"{len(result.to_fill_in):,} things to fill in before `nestmap load` "
            f"(every one listed in {out / FILL_FILE}):"
        )
        for file, column, count in result.fill_in_summary():
            click.echo(f"  {file} {column}: {count:,}")


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
