"""Analysis results computed once per dataset version and kept beside the embedded graph.

A national dataset's whole-country analyses take seconds (the engine's part is under one, the
rest is shaping hundreds of thousands of rows); the same rows read back as Arrow take
milliseconds. So the CLI keeps each result it computes as Arrow IPC files under
``<graph>.results/<version>-<code>/<question>/``, with each format it has been written in
(``written.json``, ``written.csv``, ...), and answers the same question again from them: in a
format written before, by copying the file (0.1 s of CPU and 23 MB, whatever the answer's size).
``materialised`` gives the rows as Arrow tables, for any caller (the Python API could use it).

- ``<version>`` is the graph file's identity (inode, modification time, size:
  ``EmbeddedStore.version()``): every load and rollback writes a new file, so a new dataset
  never meets an old result, and checking it is one ``stat`` (the graph is not even opened).
- ``<code>`` is a hash of nestmap's own code and queries (not the dashboard's): another
  version of nestmap, or an edited query, computes afresh.
- A result is written to a temporary folder renamed into place (complete or absent); results of
  other versions are deleted when a new version's first result is kept, and after a load.
- Only the embedded engine keeps results (Neo4j's graph can change under us); a folder that
  cannot be written simply means computing each time.
- One computation per question at a time: a process about to compute an answer takes a lock
  beside it (``computing``); another process asking the same question meanwhile (a user's
  command while the background warm-up of ``nestmap.analysis.warm`` is computing it) waits
  and reads the kept answer instead of computing it a second time on the same cores.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nestmap.graph import GraphStore

Parts = list[tuple[str | None, Any]]  # as nestmap.output.Parts (not imported: no pyarrow)
_CODE: dict[bool, str] = {}
# How long a process waits for another one computing the same answer before computing it
# itself (a stuck process must not block everyone; the slowest national answer takes seconds).
WAIT_FOR_OTHERS_S = 120.0


def code_fingerprint(dashboard: bool = False) -> str:
    """A hash of nestmap's analysis code and queries (what a kept result depends on);
    ``dashboard``: the dashboard's code too (what its kept page results depend on)."""
    if dashboard not in _CODE:
        package = Path(__file__).resolve().parent.parent
        left_out = {"seed_data", "__pycache__"} | (set() if dashboard else {"dashboard"})
        digest = hashlib.sha256()
        files = [
            file
            for pattern in ("*.py", "*.cypher")
            for file in package.rglob(pattern)
            if not left_out & set(file.relative_to(package).parts)
        ]
        for file in sorted(files):
            digest.update(str(file.relative_to(package)).encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
        _CODE[dashboard] = digest.hexdigest()[:16]
    return _CODE[dashboard]


def results_dir(store: GraphStore) -> Path | None:
    """Where ``store``'s results are kept; ``None`` for engines that keep none."""
    path = getattr(store, "path", None)
    if store.engine != "embedded" or not isinstance(path, Path):
        return None
    return path.with_name(path.name + ".results")


def materialised(store: GraphStore, question: dict[str, Any], compute: Callable[[], Any]) -> Parts:
    """The answer to ``question`` (the analysis and its arguments, JSON-able) as output parts
    (``nestmap.output.parts_of``): read back if kept for the current dataset, else computed
    with ``compute`` and kept."""
    return KeptResult(store, question).parts(compute)


@dataclass
class Answer:
    """A question's answer in one format: the file it is kept in with the notices that go with
    it, or (nothing kept) its parts to write out."""

    file: Path | None
    notices: list[str]
    parts: Parts | None = None


class KeptResult:
    """One question's kept answer: its rows as Arrow files, and each format it has been
    written in (the bytes a command printed, so that asking again is a file copy: no row is
    encoded twice, and not even pyarrow is imported)."""

    def __init__(self, store: GraphStore, question: dict[str, Any]):
        self.store = store
        root = results_dir(store)
        self.version = store.version() if root is not None and store.has_graph() else None
        self.root = root
        self.entry: Path | None = None
        if root is not None and self.version is not None:
            folder = root / f"{self.version}-{code_fingerprint()}"
            self.entry = folder / _digest(question)

    def parts(self, compute: Callable[[], Any]) -> list[tuple[str | None, Any]]:
        from nestmap.output import parts_of

        if self.entry is None:
            return parts_of(compute())
        kept = _read(self.entry)
        if kept is not None:
            return kept
        with self._computing():
            return self._parts(compute)

    def answer(
        self,
        fmt: str,
        compute: Callable[[], Any],
        write: Callable[[Parts, str, Any, Callable[[str], None]], None],
    ) -> Answer:
        """This answer written in ``fmt``: the kept file if there is one, else computed (or
        read back) and written with ``write(parts, fmt, stream, notice)`` into the kept
        answer's folder, one process at a time per question. ``Answer.file`` is None when
        nothing can be kept here (Neo4j, a read-only folder): write ``Answer.parts`` out."""
        from nestmap.output import parts_of

        found = self.written(fmt)
        if found is not None:
            return Answer(*found)
        if self.entry is None:
            return Answer(None, [], parts_of(compute()))
        with self._computing():
            found = self.written(fmt)  # written by another process while this one waited
            if found is None:
                parts = self._parts(compute)
                found = self.keep_written(fmt, lambda stream, say: write(parts, fmt, stream, say))
                if found is None:
                    return Answer(None, [], parts)
        return Answer(*found)

    def _computing(self) -> contextlib.AbstractContextManager[bool]:
        assert self.entry is not None and self.root is not None
        folder = self.entry.parent
        if not folder.is_dir() and self.root.is_dir():
            for other in self.root.iterdir():  # an earlier dataset's (or nestmap's) results
                if other.is_dir() and other != folder:
                    shutil.rmtree(other, ignore_errors=True)
        return computing(folder / f".{self.entry.name}.lock")

    def _parts(self, compute: Callable[[], Any]) -> Parts:
        """Under this question's lock: the kept parts, or computed and kept."""
        from nestmap.output import parts_of

        assert self.entry is not None and self.root is not None
        kept = _read(self.entry)  # kept by another process while this one waited
        if kept is not None:
            return kept
        parts = parts_of(compute())
        if self.store.version() == self.version:  # no load swapped the graph meanwhile
            _keep(self.entry.parent, self.entry, parts)
        return parts

    def written(self, fmt: str) -> tuple[Path, list[str]] | None:
        """The file of this answer in ``fmt`` and the notices that went with it, if kept."""
        if self.entry is None:
            return None
        file = self.entry / f"written.{fmt}"
        try:
            notices = json.loads((self.entry / f"written.{fmt}.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return (file, notices) if file.is_file() else None

    def keep_written(
        self, fmt: str, write: Callable[[Any, Callable[[str], None]], None]
    ) -> tuple[Path, list[str]] | None:
        """Write this answer in ``fmt`` with ``write(stream, notice)`` into the kept answer's
        folder; ``None`` (nothing written) when the answer is not kept there."""
        if self.entry is None or not (self.entry / "parts.json").is_file():
            return None
        file = self.entry / f"written.{fmt}"
        notices: list[str] = []
        partial = self.entry / f".written.{fmt}.{os.getpid()}"
        try:
            with open(partial, "wb") as stream:
                write(stream, notices.append)
            os.replace(partial, file)
            sidecar = self.entry / f".written.{fmt}.json.{os.getpid()}"
            sidecar.write_text(json.dumps(notices), encoding="utf-8")
            os.replace(sidecar, self.entry / f"written.{fmt}.json")
        except OSError:
            return None
        finally:
            partial.unlink(missing_ok=True)
        return file, notices


@contextlib.contextmanager
def computing(lock: Path, wait_s: float | None = None) -> Iterator[bool]:
    """Hold the lock ``lock`` (a file, created with its folder) while computing what it
    guards: another process computing the same thing is waited for, up to ``wait_s`` (default
    ``WAIT_FOR_OTHERS_S``). Yields whether the lock is held: False when the folder cannot be
    written or the wait ran out; the caller computes anyway. An advisory ``flock``: released
    by the kernel however its holder ends, so a killed process never leaves it taken."""
    limit = WAIT_FOR_OTHERS_S if wait_s is None else wait_s
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock, "a+b")  # noqa: SIM115 - closed below, after the unlock
    except OSError:
        yield False
        return
    try:
        held = _take(handle, limit)
        yield held
    finally:
        handle.close()  # closing the file releases the lock


def _take(handle: Any, wait_s: float) -> bool:
    try:
        import fcntl
    except ImportError:  # not a POSIX system: no lock, each process computes for itself
        return False
    deadline = time.monotonic() + wait_s
    pause = 0.01
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.1)
        except OSError:
            return False  # a file system without locks: compute without one


def forget_other_versions(store: GraphStore) -> None:
    """Delete the results of datasets other than the current one (after a load or rollback)."""
    root = results_dir(store)
    if root is None or not root.is_dir():
        return
    current = f"{store.version()}-{code_fingerprint()}"
    for folder in root.iterdir():
        if folder.name != current:
            shutil.rmtree(folder, ignore_errors=True)


def _digest(question: dict[str, Any]) -> str:
    text = json.dumps(question, sort_keys=True, ensure_ascii=True)
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(question.get("analysis")))
    return f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:20]}"


def _read(entry: Path) -> Parts | None:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    try:
        names = json.loads((entry / "parts.json").read_text(encoding="utf-8"))
        parts = []
        for index, name in enumerate(names):
            # Memory-mapped: pages are read as the writers reach them.
            with pa.memory_map(str(entry / f"{index}.arrow")) as source:
                parts.append((name, ipc.open_file(source).read_all()))
        return parts
    except (OSError, ValueError, pa.ArrowException):
        return None  # absent, or unreadable: compute again


def _keep(folder: Path, entry: Path, parts: Parts) -> None:
    """Write ``parts`` as ``entry`` (all or nothing); silently nothing if it cannot be."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    if not all(hasattr(rows, "schema") for _name, rows in parts):
        return  # rows that are not a table (mixed types) are not kept
    building = folder / f".{entry.name}.building-{os.getpid()}"
    try:
        building.mkdir(parents=True, exist_ok=True)
        for index, (_name, table) in enumerate(parts):
            with ipc.new_file(str(building / f"{index}.arrow"), table.schema) as writer:
                writer.write_table(table)
        names = [name for name, _rows in parts]
        (building / "parts.json").write_text(json.dumps(names), encoding="utf-8")
        os.rename(building, entry)  # another process may have kept it first: fine
    except (OSError, pa.ArrowException):
        pass
    finally:
        shutil.rmtree(building, ignore_errors=True)
