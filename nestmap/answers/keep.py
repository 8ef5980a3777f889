"""Results kept beside an embedded graph, per dataset version, under a size cap, and the lock
that makes one process compute each of them at a time.

A national dataset's whole-country analyses take seconds to compute and milliseconds to read
back as Arrow, so each answer is kept once computed (``nestmap.answers.analyses``), and so are
the dashboard's default page views (``nestmap.dashboard.kept``). They are kept in this user's
cache, not beside the graph: ``<cache>/<graph's name>-<hash of its path>/`` (``kept_folder``;
``<cache>`` is ``$NESTMAP_CACHE``, else ``$XDG_CACHE_HOME/nestmap`` or ``~/.cache/nestmap``,
else ``<tmp>/nestmap-cache-<uid>``: a folder of this user's alone). Nothing computed in the
background ever adds a name to the graph's own folder, so deleting that folder (``rm -rf``,
which fails when a name appears in a folder it is emptying) never races with a warm-up. Each
kind lives in its own subfolder (``results/``, ``dashboard/``) as a ``Shelf``:

- one subfolder per dataset version, ``<version>-<code>``: ``<version>`` is the graph file's
  identity (inode, modification time, size: ``EmbeddedStore.version()``; every load, edit and
  rollback writes a new file, so a new dataset never meets an old result, and checking it is
  one ``stat``) and ``<code>`` a hash of nestmap's code and queries (an upgraded nestmap, or
  an edited query, computes afresh). Other versions' subfolders are deleted when the current
  one is first written to, and after a load;
- an entry is a folder written under the cache's ``.staging/`` and renamed into place
  (complete or absent); reading an entry marks it used;
- **a size cap**: a shelf holds at most the graph file's own size (so the results and the
  dashboard's pages together stay within twice the graph). Keeping an entry that would pass
  it first removes the least recently used entries (the answers about one local authority
  before any whole-country one); an entry larger than the cap alone is not kept;
- a graph's folder in the cache is removed when the graph is deleted: at once by its warm-up's
  watcher, else by the first process of this user that keeps anything after (``_sweep_cache``);
- nothing is written as a pickle, and nothing read back is one: entries are Arrow IPC files
  and JSON, which reading cannot turn into code.

Only the embedded engine keeps results (Neo4j's graph can change under us); a folder that
cannot be written simply means computing each time (where no cache folder can be made, the
shelves are beside the graph, as ``<graph>.results/`` and ``<graph>.dashboard/``). Nothing here
makes a folder for a graph that is not there (a graph deleted while its warm-up runs leaves
nothing behind: see ``nestmap.answers.warm``).

One computation per question at a time: a process about to compute a result takes a lock
(``computing``; a file in the cache's ``.locks/`` named after the entry); another
process asking meanwhile (a user's command while the background warm-up computes the same
answer) waits and reads the kept result instead of computing it a second time on the same
cores.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from nestmap.graph import GraphStore

_CODE: dict[bool, str] = {}
# How long a process waits for another one computing the same result before computing it
# itself (a stuck process must not block everyone; the slowest national answer takes seconds).
WAIT_FOR_OTHERS_S = 120.0
# An entry's name starts with this when it is about one local authority: evicted first.
LOCAL = "la."


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


def graph_path(store: GraphStore) -> Path | None:
    """The embedded graph's file (``None`` for engines that keep nothing beside theirs)."""
    path = getattr(store, "path", None)
    return path if store.engine == "embedded" and isinstance(path, Path) else None


class Shelf:
    """The entries kept beside ``graph`` in ``<graph><suffix>/`` for its current dataset
    version (``version``: read from the store by the caller, so that a result computed while a
    load swapped the graph is never kept under the new dataset)."""

    def __init__(self, graph: Path, suffix: str, version: str, dashboard: bool = False):
        self.graph = graph
        self.root = shelf_root(graph, suffix)
        self.folder = self.root / f"{version}-{code_fingerprint(dashboard)}"
        self.version = version

    @classmethod
    def of(cls, store: GraphStore, suffix: str, dashboard: bool = False) -> Shelf | None:
        graph = graph_path(store)
        if graph is None or not store.has_graph():
            return None
        return cls(graph, suffix, store.version(), dashboard)

    # -- reading -------------------------------------------------------------------------
    def entry(self, name: str) -> Path:
        return self.folder / name

    def has(self, name: str) -> bool:
        return (self.entry(name) / DONE).is_file()

    def read(self, name: str, reader: Callable[[Path], Any]) -> Any:
        """``reader(entry folder)`` for a kept entry, which is then marked used; ``None`` when
        it is not kept or cannot be read (``reader`` raises OSError or ValueError)."""
        entry = self.entry(name)
        if not (entry / DONE).is_file():
            return None
        try:
            found = reader(entry)
        except (OSError, ValueError):
            return None  # removed meanwhile (the cap, a new dataset) or damaged: compute
        with contextlib.suppress(OSError):
            os.utime(entry)  # most recently used: the last the cap removes
        return found

    # -- writing -------------------------------------------------------------------------
    def keep(self, name: str, fill: Callable[[Path], None], current: Callable[[], bool]) -> bool:
        """Write entry ``name`` with ``fill(folder)`` into a new folder, then (while
        ``current()``: the dataset it was computed for is still the graph's) make room under
        the cap and rename it into place. False, with nothing left behind, when it cannot be
        kept: no graph, no room, a folder that cannot be written, ``fill`` failing with
        OSError or ValueError."""
        if not self._made():
            return False
        staged = _staging(self.folder)
        building = staged or self.folder / f".{name}.building-{os.getpid()}"
        try:
            if staged is None:
                building.mkdir()
            fill(building)
            (building / DONE).write_text(name, encoding="utf-8")
            size = _size(building)
            if not current() or not self._room_for(size, name):
                return False
            os.rename(building, self.entry(name))  # another process may have kept it first
            return True
        except (OSError, ValueError):
            return False
        finally:
            shutil.rmtree(building, ignore_errors=True)

    def lock(
        self, name: str, wait_s: float | None = None
    ) -> contextlib.AbstractContextManager[bool]:
        """``computing`` over entry ``name`` (held: False when the folder cannot be made)."""
        if not self._made():
            return contextlib.nullcontext(False)
        return computing(_lock_file(self.folder, name), wait_s)

    def cap(self) -> int:
        """The most this shelf holds: the graph file's own size."""
        try:
            return self.graph.stat().st_size
        except OSError:
            return 0

    def forget_other_versions(self) -> None:
        if not self.root.is_dir():
            return
        for other in self.root.iterdir():
            if other != self.folder:
                _remove(other)

    def _made(self) -> bool:
        """The current version's folder exists (made now if the graph is still there, and the
        other versions' folders removed: this is the first result of a new dataset)."""
        if self.folder.is_dir():
            return True
        if not self.graph.exists():
            return False  # deleted: make nothing for it
        try:
            _sweep_cache()
            self.root.mkdir(parents=True, exist_ok=True)
            _name_graph(self.root.parent, self.graph)
            self.forget_other_versions()
            self.folder.mkdir(exist_ok=True)
        except OSError:
            return False
        return True

    def _room_for(self, size: int, name: str) -> bool:
        """Remove the least recently used entries until ``size`` more bytes fit under the cap
        (entries about one local authority go first); False when they cannot fit at all."""
        cap = self.cap()
        if size > cap:
            return False
        entries = []
        for entry in self.folder.iterdir():
            if entry.name.startswith("."):
                _remove_if_abandoned(entry)
                continue
            if entry.name == name:
                continue
            with contextlib.suppress(OSError):
                entries.append((not entry.name.startswith(LOCAL), entry.stat().st_mtime, entry))
        used = sum(_size(entry) for _whole, _used, entry in entries)
        for _whole, _used, entry in sorted(entries):
            if used + size <= cap:
                break
            used -= _size(entry)
            _remove(entry)
        return used + size <= cap

    def total(self) -> int:
        """Bytes kept for the current version."""
        return _size(self.folder) if self.folder.is_dir() else 0


# Written last into an entry: its presence says the entry is complete.
DONE = "done"


# -- where entries are kept -------------------------------------------------------------------
CACHE_ENV = "NESTMAP_CACHE"
# Names in the cache's root that are not a graph's folder.
_STAGING, _LOCKS = ".staging", ".locks"
# Which graph a folder of the cache is for (its resolved path): read by the sweep.
_GRAPH_FILE = "graph"


def cache_root() -> Path | None:
    """This user's folder for kept results (made on first use; see the module's docstring), or
    None when none can be had: none of the candidates is a folder of this user's alone. Found
    once per process and setting (every kept answer asks), looked for again if it has gone."""
    setting = (os.environ.get(CACHE_ENV, "").strip(), os.environ.get("XDG_CACHE_HOME", "").strip())
    found = _ROOTS.get(setting)
    if found is not None and found.is_dir():
        return found
    _ROOTS[setting] = found = _find_cache_root(*setting)
    return found


_ROOTS: dict[tuple[str, str], Path | None] = {}


def _find_cache_root(explicit: str, base: str) -> Path | None:
    if explicit:
        return _own_folder(Path(explicit).expanduser())
    import tempfile

    home = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    uid = os.getuid() if hasattr(os, "getuid") else 0
    # In the shared temporary folder, not even readable by others.
    temporary = Path(tempfile.gettempdir()) / f"nestmap-cache-{uid}"
    return _own_folder(home / "nestmap") or _own_folder(temporary, others=0o077)


def make_kept_folder(graph: Path) -> Path | None:
    """``kept_folder(graph)``, made (and saying which graph it is for) while the graph is
    there; None when there is no cache."""
    folder = kept_folder(graph)
    if folder is not None and graph.exists():
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
            _name_graph(folder, graph)
    return folder


def kept_folder(graph: Path) -> Path | None:
    """What is kept for ``graph`` lives in this folder of the cache (None: no cache)."""
    root = cache_root()
    if root is None:
        return None
    resolved = str(graph.resolve())
    digest = hashlib.sha256(resolved.encode("utf-8", "surrogateescape")).hexdigest()[:20]
    readable = "".join(c if c.isalnum() or c in "-_." else "_" for c in graph.name)[:60]
    return root / f"{readable.lstrip('.') or 'graph'}-{digest}"


def shelf_root(graph: Path, suffix: str) -> Path:
    """The folder of shelf ``suffix`` (".results", ".dashboard") of ``graph``: in the cache, or
    beside the graph where there is no cache."""
    folder = kept_folder(graph)
    if folder is None:
        return graph.with_name(graph.name + suffix)
    return folder / suffix.lstrip(".")


def forget_graph(graph: Path) -> None:
    """Remove everything kept for ``graph`` (it has been deleted), wherever it is kept."""
    folder = kept_folder(graph)
    if folder is not None:
        _remove(folder)
    for suffix in (".results", ".dashboard"):
        beside = graph.with_name(graph.name + suffix)
        if beside.is_dir() and not beside.is_symlink():
            _remove(beside)


def _name_graph(folder: Path, graph: Path) -> None:
    """Say in ``folder`` which graph it is for (once)."""
    named = folder / _GRAPH_FILE
    if folder.name.startswith(".") or named.exists() or folder == graph.parent:
        return
    with contextlib.suppress(OSError):
        named.write_text(str(graph.resolve()), encoding="utf-8", errors="surrogateescape")


_SWEPT: list[bool] = []
# A lock file not used for this long is removed by the sweep: one is made per entry and
# dataset version. Should it still be wanted, the worst is one result computed twice.
LOCKS_KEPT_S = 24 * 3600


def _sweep_cache() -> None:
    """Once per process: remove the cache's folders of graphs that are no longer there, entries
    left in ``.staging`` by processes that have ended, and locks unused for a day."""
    if _SWEPT:
        return
    _SWEPT.append(True)
    root = cache_root()
    if root is None:
        return
    old = time.time() - LOCKS_KEPT_S
    with contextlib.suppress(OSError):
        for folder in root.iterdir():
            if folder.name == _STAGING:
                for staged in folder.iterdir():
                    _remove_if_abandoned(staged, staged.name.partition("-")[0])
                continue
            if folder.name == _LOCKS:
                for lock in folder.iterdir():
                    with contextlib.suppress(OSError):
                        if lock.stat().st_mtime < old:
                            lock.unlink()
                continue
            if folder.name.startswith("."):
                continue
            try:
                graph = (folder / _GRAPH_FILE).read_text(encoding="utf-8", errors="surrogateescape")
            except OSError:
                continue  # being made by another process (or not ours to judge)
            if graph and not os.path.lexists(graph):
                _remove(folder)


def _own_folder(folder: Path, others: int = 0o022) -> Path | None:
    """``folder``, made if missing (0700), when it is a real folder of this user's that gives
    other users none of the permissions ``others`` (default: writing); None otherwise."""
    import stat

    uid = os.getuid() if hasattr(os, "getuid") else None
    with contextlib.suppress(OSError):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        found = folder.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(found.st_mode) or found.st_mode & others:
        return None
    if uid is not None and found.st_uid != uid:
        return None
    if not os.access(folder, os.W_OK | os.X_OK):
        return None
    return folder


def _staging(folder: Path) -> Path | None:
    """A new folder to write an entry of ``folder`` in, on the same file system (a rename moves
    it): the cache's ``.staging/``; None when ``folder`` is not in the cache (the entry is then
    built beside it)."""
    import tempfile

    root = cache_root()
    if root is None or not folder.is_relative_to(root):
        return None
    try:
        staging = root / _STAGING
        staging.mkdir(mode=0o700, exist_ok=True)
        made = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=staging))
        made.chmod(folder.stat().st_mode & 0o777)  # readable as the folder's other entries
    except OSError:
        return None
    return made


def _lock_file(folder: Path, name: str) -> Path:
    """The lock of entry ``name`` of ``folder``: a file of the cache's ``.locks/`` named after
    both (every process of this user computing it takes the same), else beside it."""
    root = cache_root()
    own = None if root is None else root / _LOCKS
    try:
        if own is None:
            raise OSError
        own.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return folder / f".{name}.lock"
    _sweep_cache()
    digest = hashlib.sha256(f"{folder.resolve()}\0{name}".encode()).hexdigest()[:32]
    lock = own / f"{digest}.lock"
    with contextlib.suppress(OSError):
        os.utime(lock)  # in use: not swept
    return lock


def _remove_if_abandoned(path: Path, pid: str | None = None) -> None:
    """An entry being built (``.NAME.building-PID``, or ``PID-…`` in ``.staging``) by a
    process that has ended (killed while it wrote) is removed: it takes room and nobody will
    finish it."""
    if pid is None:
        name, _, pid = path.name.rpartition(".building-")
        if not name:
            return
    if not pid.isdigit():
        return
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        _remove(path)
    except OSError:
        pass  # another user's process: alive


def _size(folder: Path) -> int:
    total = 0
    with contextlib.suppress(OSError):
        for item in folder.rglob("*"):
            with contextlib.suppress(OSError):
                if item.is_file():
                    total += item.stat().st_size
    return total


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


@contextlib.contextmanager
def computing(lock: Path, wait_s: float | None = None) -> Iterator[bool]:
    """Hold the lock ``lock`` (a file in an existing folder) while computing what it guards:
    another process computing the same thing is waited for, up to ``wait_s`` (default
    ``WAIT_FOR_OTHERS_S``). Yields whether the lock is held: False when the folder cannot be
    written or the wait ran out; the caller computes anyway. An advisory ``flock``: released
    by the kernel however its holder ends, so a killed process never leaves it taken."""
    limit = WAIT_FOR_OTHERS_S if wait_s is None else wait_s
    try:
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


def entry_name(question: dict[str, Any]) -> str:
    """The folder name of a question's entry: its analysis (readable), a hash of the whole
    question, and ``LOCAL`` first when it is about one local authority."""
    text = json.dumps(question, sort_keys=True, ensure_ascii=True)
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(question.get("analysis")))
    local = LOCAL if question.get("area") is not None else ""
    return f"{local}{name}-{hashlib.sha256(text.encode()).hexdigest()[:20]}"
