"""The embedded engine: a ladybug database in one file, replaced atomically on load."""

from __future__ import annotations

import os
import re
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nestmap import queries
from nestmap.errors import NestmapError, NoGraphError, UsageError
from nestmap.graph.store import GraphStore, Progress
from nestmap.memory import gc_paused

if TYPE_CHECKING:  # imported when used: every command imports this module, few load or query
    from nestmap.graph.console import ConsoleResult
    from nestmap.graph.records import GraphRows
    from nestmap.loaders.dataset import Dataset

# Node tables first: link tables refer to them.
_COPY_ORDER: tuple[tuple[str, str], ...] = (
    ("Area", "areas"),
    ("Service", "services"),
    ("Level", "levels"),
    ("StaffPost", "staff_posts"),
    ("PART_OF", "part_of"),
    ("COVERS", "covers"),
    ("OFFERS", "offers"),
    ("REFERS_TO", "refers_to"),
    ("STAFFED_BY", "staffed_by"),
)


class EmbeddedStore(GraphStore):
    """One read-only Database handle per store, reopened when a load swaps the file.

    Queries are serialised by a lock: a swap closes the old handle, which must not happen under a
    running query. ``run_tables`` runs an analysis's independent queries side by side under it.
    """

    engine = "embedded"
    dialect = "embedded"

    def __init__(self, path: str | Path, keep_versions: int = 5):
        self.path = Path(path).expanduser().resolve()
        refuse_other_files(self.path)
        self.keep_versions = keep_versions
        self._lock = threading.RLock()
        self._db: Any = None
        self._conn: Any = None
        self._stamp: tuple[int, int, int] | None = None

    @property
    def location(self) -> str:
        return str(self.path)

    # -- reading -------------------------------------------------------------------------
    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def has_graph(self) -> bool:
        return self._file_stamp() is not None

    def version(self) -> str:
        stamp = self._file_stamp()
        return "none" if stamp is None else "-".join(str(part) for part in stamp)

    def _connection(self) -> Any:
        """The connection to the current file, reopened if another load replaced it."""
        stamp = self._file_stamp()
        if stamp is None:
            self._close_handles()
            raise NoGraphError(
                f"no dataset is loaded at {self.path}; load one with `nestmap load PATH`"
            )
        if self._conn is None or stamp != self._stamp:
            self._close_handles()
            import ladybug

            try:
                self._db = ladybug.Database(str(self.path), read_only=True)
                self._conn = ladybug.Connection(self._db)
            except RuntimeError as exc:
                raise NestmapError(f"cannot open the graph at {self.path}: {exc}") from None
            self._stamp = stamp
        return self._conn

    def _close_handles(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._db is not None:
            self._db.close()
        self._conn = self._db = None
        self._stamp = None

    def close(self) -> None:
        with self._lock:
            self._close_handles()

    def run(self, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        table = self.run_table(name, params)
        # Arrow builds the row dicts in C++: at 400k rows ~10x faster than get_all(). The
        # collector is paused meanwhile: millions of new containers would trigger repeated
        # full collections that find nothing to free (a third of the time at that size).
        with gc_paused():
            return table.to_pylist()

    def run_table(self, name: str, params: dict[str, Any] | None = None) -> Any:
        """Run the named query; the result as one ``pyarrow.Table`` (columnar, for large
        results: analyses sort and shape them without a Python object per cell)."""
        with self._lock:
            return self._execute(self._connection(), name, params)

    def run_tables(self, requests: Sequence[tuple[str, dict[str, Any]]]) -> list[Any]:
        """Several named queries side by side, each on its own connection to the one database
        handle: the engine lets go of Python's lock while a query runs, and a national
        misdirected needs two independent queries (0.65 s and 0.25 s; together 0.67 s on two
        cores). Under the store's lock, as ``run_table``: a swap closes the handle."""
        if len(requests) < 2:
            return super().run_tables(requests)
        import ladybug

        with self._lock:
            first = self._connection()
            results: list[Any] = [None] * len(requests)
            failures: list[BaseException | None] = [None] * len(requests)

            def work(index: int, connection: Any) -> None:
                try:
                    results[index] = self._execute(connection, *requests[index])
                except BaseException as exc:  # re-raised below, in the calling thread
                    failures[index] = exc

            others = []
            for index in range(1, len(requests)):
                connection = ladybug.Connection(self._db)
                thread = threading.Thread(target=work, args=(index, connection), daemon=True)
                others.append((thread, connection))
                thread.start()
            work(0, first)
            for thread, connection in others:
                thread.join()
                connection.close()
            for failure in failures:
                if failure is not None:
                    raise failure
            return results

    def _execute(self, connection: Any, name: str, params: dict[str, Any] | None) -> Any:
        text = queries.load(name, self.dialect)
        try:
            result = connection.execute(text, params or {})
        except RuntimeError as exc:
            if name == "dataset_info" and ("loaded_by" in str(exc) or "about" in str(exc)):
                # A graph loaded before nestmap recorded who loaded it, or dataset.csv.
                return self._run_text(_older_dataset_info(text, str(exc)))
            # Our own queries fail only on a file that is not a nestmap graph (an empty
            # file opens as an empty database, without our tables) or a damaged one.
            raise NestmapError(
                f"the graph at {self.path} cannot be read: it is empty, damaged or not a "
                f"nestmap graph ({exc}); load a dataset again with `nestmap load PATH`"
            ) from None
        try:
            return result.get_as_arrow(0)  # 0: the whole result as one chunk
        finally:
            result.close()

    def _run_text(self, text: str) -> Any:
        result = self._connection().execute(text, {})
        try:
            return result.get_as_arrow(0)
        finally:
            result.close()

    def run_read_only(
        self, cypher: str, params: dict[str, Any] | None, limit: int, timeout_s: float
    ) -> tuple[list[str], list[list[Any]], bool]:
        from nestmap.graph.console import run_console_query

        result = run_console_query(self.path, cypher, limit, timeout_s, params=params)
        return result.columns, result.rows, result.truncated

    def _console(
        self, cypher: str, limit: int, timeout_s: float, heartbeat: Callable[[], None] | None
    ) -> ConsoleResult:
        """In a worker process with its own read-only connection, memory and CPU-time caps,
        time limit and no file access; the store's lock is not taken (other queries go on
        meanwhile)."""
        from nestmap.graph.console import run_console_query

        return run_console_query(self.path, cypher, limit, timeout_s, heartbeat=heartbeat)

    # -- loading -------------------------------------------------------------------------
    def replace(self, dataset: Dataset, progress: Progress | None = None) -> None:
        """Build the new database beside the old one, then swap it in with one rename.

        A process killed at any moment leaves the old file (the rename has not happened) or the
        new one (it has): never a mix.
        """
        from nestmap.graph.records import graph_rows

        report = progress or (lambda _message: None)
        with gc_paused():  # a million link rows and their frames: see gc_paused
            self._swap_in(
                lambda building: build_database(building, graph_rows(dataset), report),
                lambda kept: self._record_change(
                    dataset.change, dataset.loaded_by, kept, dataset.name, dataset.note
                ),
            )
        report("swapped in the new graph")

    def _swap_in(
        self, fill: Callable[[Path], object], record: Callable[[int | None], None]
    ) -> None:
        """Write the new graph with ``fill`` beside the current one, keep the current one as a
        version, rename the new one into place (the only step that changes the graph) and
        ``record`` the change (given the number of the version kept, if any).

        Ctrl+C while the new graph is being written leaves the current one as it was (the
        half-built file is removed); from the version kept to the change recorded, it is held
        until they are done (``interrupts_held``), so an interrupted load has changed nothing or
        has loaded the dataset and logged it, never half of that."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_builds(self.path)
        building = self.path.with_name(f".{self.path.name}.loading-{os.getpid()}")
        _remove_build(building)
        try:
            failure = None
            try:
                fill(building)
                _fsync(building)
            except (RuntimeError, OSError) as exc:
                failure = _write_failure(self.path, exc)
            if failure is not None:
                # The engine's handles die with the exception's traceback, and their
                # destructor writes lock files beside the half-built file (a full disk left
                # 0-byte .lock files): collect them now, before the cleanup below.
                import gc

                gc.collect()
                raise NestmapError(failure)
            with self._lock, interrupts_held():
                self._close_handles()
                kept = self._snapshot_current()
                os.replace(building, self.path)
                _fsync(self.path.parent)
                record(kept)
        finally:
            _remove_build(building)
        self._prune_versions()

    # -- versions ------------------------------------------------------------------------
    @property
    def versions_dir(self) -> Path:
        return self.path.with_name(self.path.name + ".versions")

    def _version_files(self) -> dict[int, Path]:
        found = {}
        for file in self.versions_dir.glob("v*.lbug"):
            number = file.stem[1:]
            if number.isdigit():
                found[int(number)] = file
        return dict(sorted(found.items()))

    def _snapshot_current(self) -> int | None:
        """Keep the graph about to be replaced as the next version (a hard link: no copy)."""
        if self.keep_versions <= 0 or not self.path.exists():
            return None
        self.versions_dir.mkdir(exist_ok=True)
        number = max(self._version_files(), default=0) + 1
        target = self.versions_dir / f"v{number}.lbug"
        try:
            os.link(self.path, target)
        except OSError:  # a file system without hard links
            import shutil

            shutil.copy2(self.path, target)
        return number

    # -- who changed the graph -----------------------------------------------------------
    @property
    def changes_file(self) -> Path:
        """One JSON line per change (load or rollback): when, what, by whom, which version it
        kept. A rollback makes an old file current byte for byte, so who did it is kept here
        rather than in the graph.

        Lines end in a line feed only. Names and notes are user text and may hold U+2028,
        U+2029 or U+0085, which ``str.splitlines()`` also splits on: entries are written as
        ASCII (those escaped by JSON) and read split on line feeds alone, so a log written
        with them raw still reads."""
        return self.versions_dir / "changes.jsonl"

    def _record_change(
        self, action: str, by: str, kept: int | None, detail: str, note: str = ""
    ) -> None:
        import json
        from datetime import UTC, datetime

        entry = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "action": action,
            "by": by or "",
            "kept_version": kept,
            "detail": detail,
        }
        if note:  # what changed and why, for edits and undos (nestmap.editing)
            entry["note"] = note
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        with self.changes_file.open("a", encoding="utf-8") as log:
            log.write(json.dumps(entry, ensure_ascii=True) + "\n")

    def changes(self) -> list[dict[str, Any]]:
        """Every recorded change, oldest first (unreadable lines are skipped)."""
        import json

        if not self.changes_file.is_file():
            return []
        found = []
        for line in self.changes_file.read_bytes().decode("utf-8", "replace").split("\n"):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                found.append(entry)
        return found

    def _prune_versions(self) -> None:
        files = self._version_files()
        for number in list(files)[: max(0, len(files) - self.keep_versions)]:
            files[number].unlink(missing_ok=True)

    def versions(self) -> list[dict[str, Any]]:
        """The kept previous versions, oldest first, with their dataset, load time and hashes,
        who loaded each, and who replaced it (the change that kept it) and when."""
        replaced = {
            entry.get("kept_version"): entry
            for entry in self.changes()
            if entry.get("kept_version") is not None
        }
        found = []
        for number, file in self._version_files().items():
            snapshot = EmbeddedStore(file, keep_versions=0)
            try:
                info = snapshot.run("dataset_info")[0]
            except (NestmapError, IndexError, RuntimeError):
                continue  # an unreadable leftover is not a version
            finally:
                snapshot.close()
            change = replaced.get(number, {})
            found.append(
                {
                    "version": number,
                    "path": str(file),
                    **info,
                    "loaded_by": info.get("loaded_by") or None,
                    "replaced_at": change.get("at"),
                    "replaced_by": change.get("by") or None,
                    "replaced_how": change.get("action"),
                    "replaced_note": change.get("note") or None,
                }
            )
        return found

    def rollback(self, version: int, by: str = "", note: str = "") -> None:
        """Make kept version ``version`` the current graph again (the current one is kept);
        ``by`` names who asked and ``note`` why, for the change log."""
        files = self._version_files()
        if version not in files:
            known = ", ".join(str(n) for n in files) or "none"
            raise UsageError(f"no version {version} is kept (kept versions: {known})")
        import shutil

        self._swap_in(
            lambda building: shutil.copyfile(files[version], building),
            lambda kept: self._record_change("rollback", by, kept, f"to version {version}", note),
        )


def _older_dataset_info(text: str, error: str) -> str:
    """dataset_info without the properties an older graph's Dataset table lacks (each on a
    line of its own in the query): ``about`` (dataset.csv) and, older still, ``loaded_by``."""
    missing = ["about"] + (["loaded_by"] if "loaded_by" in error else [])
    for name in missing:
        text = text.replace(f",\n       d.{name} AS {name}", "")
    return text


def build_database(path: Path, rows: GraphRows, report: Progress) -> None:
    """Create a complete database at ``path`` from ``rows`` (bulk COPY from DataFrames).
    Ctrl+C stops it at the end of the statement it is in (``interrupts_between_steps``)."""
    import ladybug

    db = ladybug.Database(str(path))
    conn = None
    try:
        with interrupts_between_steps() as step_done:
            conn = ladybug.Connection(db)
            _write_tables(conn, rows, report, step_done)
    finally:
        # Both handles closed here, even on failure: a handle left to the garbage collector
        # checkpoints at exit and leaves its lock files behind after the cleanup has run.
        if conn is not None:
            conn.close()
        db.close()


def _write_tables(
    conn: Any, rows: GraphRows, report: Progress, step_done: Callable[[], None]
) -> None:
    """The schema, then each table by bulk COPY, then the dataset's record; ``step_done``
    after each statement (where a Ctrl+C held back is raised)."""
    import pandas as pd

    for statement in queries.statements(queries.load("schema", "embedded")):
        conn.execute(statement)
        step_done()
    tables = {
        "areas": rows.areas,
        "services": _with_covers(rows),
        "levels": rows.levels,
        "staff_posts": [
            {key: value for key, value in post.items() if key != "service_id"}
            for post in rows.staff_posts
        ],
        "part_of": rows.part_of,
        "covers": rows.covers,
        "offers": rows.offers,
        "refers_to": rows.refers_to,
        "staffed_by": [{"from": p["service_id"], "to": p["id"]} for p in rows.staff_posts],
    }
    for table, key in _COPY_ORDER:
        if not tables[key]:
            continue
        report(f"writing {len(tables[key]):,} {key.replace('_', ' ')}")
        if hasattr(tables[key], "schema"):  # an Arrow table (the links): as it is
            frame = tables[key]
        else:
            # object dtype keeps ints as ints and blanks as None (nullable Int64 trips COPY).
            frame = pd.DataFrame(tables[key], dtype=object)
        conn.execute(f"COPY {table} FROM frame")  # (COPY reads the variable `frame`)
        del frame
        step_done()
    conn.execute(queries.load("write_dataset", "embedded"), rows.dataset)
    step_done()


def _with_covers(rows: GraphRows) -> list[dict[str, object]]:
    """Service rows with ``covers``: the codes of the LAs the service's COVERS links reach.

    The same facts as the COVERS links, kept on the node as well because the embedded engine
    evaluates "do these two services share an LA" as a per-link subquery (46 s over a million
    links) but reads two lists in a fraction of a second; see embedded/misdirected.cypher.
    """
    covers: dict[object, list[object]] = {}
    for link in rows.covers:
        covers.setdefault(link["from"], []).append(link["to"])
    return [{**service, "covers": covers.get(service["id"], [])} for service in rows.services]


def _write_failure(path: Path, exc: BaseException) -> str:
    """A plain message for a failed build. The engine words a failed final write as
    "Transaction committed successfully … durable": true of the half-built file, which is then
    deleted, and misleading to a user whose graph was not changed at all."""
    message = str(exc)
    if "No space left on device" in message or getattr(exc, "errno", None) == 28:
        reason = "no space left on the device"
    else:
        reason = message.split("Original error: ")[-1].split(": ", 1)[-1] if message else "error"
    return (
        f"the new graph could not be written beside {path} ({reason}); nothing was changed: "
        "the previous graph is as it was"
    )


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# What an embedded graph file starts with ("LBUG1" and the format's version).
GRAPH_MAGIC = b"LBUG"
_DATASET_SUFFIXES = {".xlsx": "a workbook", ".zip": "a zip archive", ".csv": "a CSV file"}


def refuse_other_files(path: Path) -> None:
    """A usage error when ``path`` is an existing file that is not an embedded graph (a
    dataset's workbook given as ``--db``): reading it would fail, and a load would replace it."""
    if path.is_dir():
        raise UsageError(
            f"the graph {str(path)!r} is a folder: name a graph file (e.g. graph.lbug) - to load "
            f"a folder of CSV files into it: nestmap load {_shell(path)} --db graph.lbug"
        )
    try:
        with path.open("rb") as handle:
            start = handle.read(len(GRAPH_MAGIC))
    except FileNotFoundError:
        return  # no graph yet: a load makes one here
    except OSError as exc:
        raise UsageError(f"cannot read the graph {str(path)!r}: {exc.strerror}") from None
    if start == GRAPH_MAGIC:
        return
    what = _DATASET_SUFFIXES.get(path.suffix.lower(), "a file")
    hint = (
        f"to load it as a dataset: nestmap load {_shell(path)} --db graph.lbug"
        if path.suffix.lower() in _DATASET_SUFFIXES
        else "--db names the graph file that `nestmap load` writes (e.g. graph.lbug)"
    )
    raise UsageError(f"{str(path)!r} is {what}, not a nestmap graph: {hint}")


def _shell(path: Path) -> str:
    import shlex

    return shlex.quote(str(path))


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Ctrl+C (SIGINT) held back while inside, and delivered (as it would have been) on the
    way out: the steps inside happen together. Only the main thread receives signals; in any
    other thread (a dashboard session) this does nothing."""
    with interrupts_between_steps():
        yield


@contextmanager
def interrupts_between_steps() -> Iterator[Callable[[], None]]:
    """Ctrl+C (SIGINT) recorded while inside and raised (KeyboardInterrupt) by the function
    given, which the caller runs between its steps (and on the way out, if one came after the
    last). With Python's own handler, ladybug 0.22 loses a SIGINT that lands while it runs
    Python code it cannot raise from (a query result's destructor, its own look at the
    handler before each query): 2 of 30 were lost in a loop of short queries, and a load so
    interrupted went on to the end. Only the main thread receives signals; in any other
    thread this records nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return
    caught: list[int] = []

    def step_done() -> None:
        if caught:
            caught.clear()
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, lambda signum, _frame: caught.append(signum))
    try:
        yield step_done
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)
        if caught:
            signal.raise_signal(signal.SIGINT)


def _remove_build(building: Path) -> None:
    for leftover in building.parent.glob(building.name + "*"):
        leftover.unlink(missing_ok=True)


_BUILD = re.compile(r"^\.(?P<name>.+)\.loading-(?P<pid>\d+)")


def _remove_stale_builds(path: Path) -> None:
    """Delete half-built files left by loads that were killed (their process is gone)."""
    for leftover in path.parent.glob(f".{path.name}.loading-*"):
        match = _BUILD.match(leftover.name)
        if match and not _alive(int(match.group("pid"))):
            leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
