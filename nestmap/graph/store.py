"""The store interface both engines implement."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from nestmap.errors import NestmapError

if TYPE_CHECKING:  # imported when used: every command imports this module, few load or query
    from nestmap.graph.console import ConsoleResult
    from nestmap.loaders.dataset import Dataset

Progress = Callable[[str], None]


class GraphStore(ABC):
    """A graph holding one loaded dataset; queries are run by name (see nestmap.queries)."""

    engine: str = ""
    dialect: str = "neo4j"
    # How many earlier datasets a load keeps for versions/rollback (engines that keep none
    # ignore it).
    keep_versions: int = 0

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the graph lives (a path or a URI), for messages and ``nestmap info``."""

    @abstractmethod
    def run(self, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run the named read query with parameters; rows as dicts."""

    def run_table(self, name: str, params: dict[str, Any] | None = None) -> Any:
        """The named read query's result as one ``pyarrow.Table`` (columnar: analyses sort and
        shape large results without a Python object per cell). Engines that can hand Arrow over
        directly override this; the default builds it from ``run``'s rows (types inferred; no
        rows gives a table without columns)."""
        import pyarrow as pa

        return pa.Table.from_pylist(self.run(name, params))

    def run_tables(self, requests: Sequence[tuple[str, dict[str, Any]]]) -> list[Any]:
        """Several named read queries' results (``run_table``), in order: (name, parameters)
        each. Engines that can run queries side by side override this."""
        return [self.run_table(name, params) for name, params in requests]

    @abstractmethod
    def run_read_only(
        self, cypher: str, params: dict[str, Any] | None, limit: int, timeout_s: float
    ) -> tuple[list[str], list[list[Any]], bool]:
        """Run user-written Cypher that must not write: (columns, rows, truncated)."""

    def console(
        self,
        cypher: str,
        limit: int,
        timeout_s: float,
        owner: str | None = None,
        heartbeat: Callable[[], None] | None = None,
        wait_s: float | None = None,
    ) -> ConsoleResult:
        """A Query console statement: the guard, then the engine's own limits (the embedded
        engine runs it in a bounded worker process; see nestmap.graph.console, whose limit on
        queries at once, and per ``owner``, applies to every engine)."""
        from nestmap.graph.console import WORKERS, ConsoleResult

        who = owner if owner is not None else f"thread-{threading.get_ident()}"
        with WORKERS.slot(who, timeout_s if wait_s is None else wait_s):
            columns, rows, truncated = self.run_read_only(cypher, None, limit, timeout_s)
        return ConsoleResult(columns, rows, truncated, 0, f"{self.engine}: read transaction")

    @abstractmethod
    def replace(self, dataset: Dataset, progress: Progress | None = None) -> None:
        """Replace the whole graph with ``dataset``, atomically."""

    @abstractmethod
    def has_graph(self) -> bool:
        """Whether a dataset has been loaded."""

    @abstractmethod
    def version(self) -> str:
        """A token that changes whenever a new dataset is loaded (cache key)."""

    def changes(self) -> list[dict[str, Any]]:
        """Who changed the graph, when and how (oldest first); engines without a log: none."""
        return []

    def versions(self) -> list[dict[str, Any]]:
        """Previous datasets kept by loads (oldest first)."""
        raise NestmapError(f"the {self.engine} engine keeps no versions; use the embedded engine")

    def rollback(self, version: int, by: str = "", note: str = "") -> None:
        """Make a kept version the current graph; ``by`` names who asked, ``note`` why."""
        raise NestmapError(f"the {self.engine} engine keeps no versions; use the embedded engine")

    def close(self) -> None:  # noqa: B027 - engines without resources need nothing
        """Release handles."""

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
