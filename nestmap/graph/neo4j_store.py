"""The Neo4j engine, for graphs beyond one machine's embedded database.

Reads go through ``execute_query`` with READ routing; a load is one explicit write transaction
(clear, then batched ``UNWIND $rows`` writes), so it commits whole or not at all.
"""

from __future__ import annotations

from typing import Any

from nestmap import queries
from nestmap.errors import NestmapError, NoGraphError, QueryTimeoutError
from nestmap.graph.readonly import check_read_only
from nestmap.graph.records import batch, graph_rows
from nestmap.graph.store import GraphStore, Progress
from nestmap.loaders.dataset import Dataset

BATCH = 1000

_WRITES: tuple[tuple[str, str], ...] = (
    ("write_areas", "areas"),
    ("write_part_of", "part_of"),
    ("write_services", "services"),
    ("write_levels", "levels"),
    ("write_covers", "covers"),
    ("write_offers", "offers"),
    ("write_refers_to", "refers_to"),
    ("write_staff_posts", "staff_posts"),
)


class Neo4jStore(GraphStore):
    engine = "neo4j"
    dialect = "neo4j"

    def __init__(self, uri: str, user: str | None, password: str | None, database: str | None):
        import neo4j

        self.uri = uri
        self.database = database or None
        auth = (user, password or "") if user else None
        try:
            self._driver = neo4j.GraphDatabase.driver(uri, auth=auth)
        except ValueError as exc:
            raise NestmapError(f"bad Neo4j URI {uri!r}: {exc}") from None

    @property
    def location(self) -> str:
        return self.uri + (f" (database {self.database})" if self.database else "")

    def _read(self, cypher: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        import neo4j

        try:
            records, _, _ = self._driver.execute_query(
                cypher,
                params or {},
                database_=self.database,
                routing_=neo4j.RoutingControl.READ,
            )
        except neo4j.exceptions.Neo4jError as exc:
            raise NestmapError(f"Neo4j refused the query: {exc.message}") from None
        except neo4j.exceptions.DriverError as exc:
            raise NestmapError(f"cannot reach Neo4j at {self.uri}: {exc}") from None
        return [record.data() for record in records]

    def run(self, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        if name not in {"dataset_info", "count_nodes", "count_links"} and not self.has_graph():
            raise NoGraphError(f"no dataset is loaded in Neo4j at {self.location}")
        return self._read(queries.load(name, self.dialect), params)

    def run_read_only(
        self, cypher: str, params: dict[str, Any] | None, limit: int, timeout_s: float
    ) -> tuple[list[str], list[list[Any]], bool]:
        import neo4j

        # The same allow-list as the embedded console (no LOAD CSV, no apoc.* / dbms.*
        # procedures or functions, backtick names normalised), then a read transaction.
        check_read_only(cypher, "neo4j")

        def work(tx: Any) -> tuple[list[str], list[list[Any]], bool]:
            result = tx.run(cypher, params or {})
            rows: list[list[Any]] = []
            for record in result:
                if len(rows) == limit:
                    return list(result.keys()), rows, True
                rows.append([_plain(value) for value in record.values()])
            return list(result.keys()), rows, False

        query_work = neo4j.unit_of_work(timeout=timeout_s)(work)
        try:
            with self._driver.session(database=self.database) as session:
                return session.execute_read(query_work)
        except neo4j.exceptions.ClientError as exc:
            if "Timeout" in (exc.code or ""):
                raise QueryTimeoutError(f"the query timed out after {timeout_s:g} s") from None
            raise NestmapError(f"Neo4j refused the query: {exc.message}") from None
        except neo4j.exceptions.Neo4jError as exc:
            raise NestmapError(f"Neo4j refused the query: {exc.message}") from None

    def has_graph(self) -> bool:
        return bool(self._read(queries.load("dataset_info", self.dialect)))

    def version(self) -> str:
        info = self._read(queries.load("dataset_info", self.dialect))
        return str(info[0]["loaded_at"]) if info else "none"

    def replace(self, dataset: Dataset, progress: Progress | None = None) -> None:
        report = progress or (lambda _message: None)
        rows = graph_rows(dataset)
        with self._driver.session(database=self.database) as session:
            for statement in queries.statements(queries.load("schema", self.dialect)):
                session.run(statement).consume()
            with session.begin_transaction() as tx:
                report("clearing the previous graph")
                while True:  # in batches: one huge delete would hold every node in memory
                    cleared = tx.run(queries.load("clear_graph"), batch=10_000).single()
                    if cleared is None or not cleared["deleted"]:
                        break
                for name, key in _WRITES:
                    batch_rows = getattr(rows, key)
                    if batch_rows:
                        report(f"writing {len(batch_rows):,} {key.replace('_', ' ')}")
                    for start in range(0, len(batch_rows), BATCH):
                        part = batch(batch_rows, start, start + BATCH)
                        tx.run(queries.load(name), rows=part).consume()
                tx.run(queries.load("write_dataset"), dataset=rows.dataset).consume()
                tx.commit()
        report("committed the new graph")

    def close(self) -> None:
        self._driver.close()


def _plain(value: Any) -> Any:
    """A Neo4j value as plain data (nodes and links as their properties), for JSON and tables."""
    import neo4j.graph

    if isinstance(value, neo4j.graph.Node):
        return {"_labels": sorted(value.labels), **{k: _plain(v) for k, v in value.items()}}
    if isinstance(value, neo4j.graph.Relationship):
        return {"_type": value.type, **{k: _plain(v) for k, v in value.items()}}
    if isinstance(value, neo4j.graph.Path):
        return {
            "_nodes": [_plain(node) for node in value.nodes],
            "_relationships": [_plain(link) for link in value.relationships],
        }
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # dates, times, durations, points
