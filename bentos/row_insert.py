"""The prediction log's bulk insert (`RowInsert`), used by the service's writer
(`bentos.prediction_log`) and the benchmarks that write a log the way the service does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

# The columns a row may leave out (their server defaults, revision 0005).
_ROW_DEFAULTS = {"arm": "champion", "served": True}


def _complete(row: Mapping[str, Any]) -> Mapping[str, Any]:
    """The row with the defaulted columns it left out (the service always sets both)."""
    return row if "served" in row and "arm" in row else {**_ROW_DEFAULTS, **row}


class RowInsert:
    """`INSERT ... ON CONFLICT (request_id) DO NOTHING` of many rows, at the driver's speed.

    Stored rows skip duplicates (same request_id), so retries stay exactly-once. SQLAlchemy's
    per-row parameter processing cost more than the database work (1,000 rows: 40 ms of writer
    CPU on SQLite, of which `executemany` is 17; 188 ms on PostgreSQL, where psycopg2 also sent
    one statement per row), and its dialect insert was compiled again on every write. Here the
    values go to the driver as tuples, through the same bind processors SQLAlchemy applies, so
    what is stored is the same: one `executemany` on SQLite, one multi-row `VALUES` per 1,000 rows
    on PostgreSQL. Other drivers get the same SQL as a `sa.text` (compiled once). Figures:
    benchmarks/prediction_log_insert.py.
    """

    PAGE = 1000  # rows per PostgreSQL statement

    def __init__(self, engine: sa.Engine, table: sa.Table) -> None:
        dialect = engine.dialect
        columns = [c for c in table.columns if c.name != "id"]
        self.names = [c.name for c in columns]
        self.processors = [
            (i, proc)
            for i, c in enumerate(columns)
            if (proc := c.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        ]
        quote = dialect.identifier_preparer.quote
        head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in self.names)})"
        tail = " ON CONFLICT (request_id) DO NOTHING"
        self._head, self._tail = head, tail
        self.mode = {"pysqlite": "executemany", "psycopg2": "multirow"}.get(
            dialect.driver, "sqlalchemy"
        )
        mark = "%s" if self.mode == "multirow" else "?"
        self._one = f"({', '.join([mark] * len(self.names))})"
        self._one_row_sql = f"{head} VALUES {self._one}{tail}"
        named = f"{head} VALUES ({', '.join(f':{n}' for n in self.names)}){tail}"
        self._statement: Any = sa.text(named).bindparams(
            *(sa.bindparam(c.name, type_=c.type) for c in columns)
        )
        if dialect.name not in ("sqlite", "postgresql"):  # no ON CONFLICT: a plain insert
            self.mode, self._statement = "sqlalchemy", table.insert()

    def values(self, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        """Each row's values in column order, bound as SQLAlchemy would bind them."""
        out: list[tuple[Any, ...]] = []
        for given in rows:
            row = _complete(given)
            values = [row[n] for n in self.names]
            for i, proc in self.processors:
                values[i] = proc(values[i])
            out.append(tuple(values))
        return out

    def execute(self, conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Through `exec_driver_sql`, so errors arrive wrapped as SQLAlchemy's (and counted so)."""
        if self.mode == "executemany":
            conn.exec_driver_sql(self._one_row_sql, self.values(rows))
        elif self.mode == "multirow":  # one statement per page: psycopg2 interpolates client-side
            for start in range(0, len(rows), self.PAGE):
                page = self.values(rows[start : start + self.PAGE])
                sql = f"{self._head} VALUES {', '.join([self._one] * len(page))}{self._tail}"
                conn.exec_driver_sql(sql, tuple(v for row in page for v in row))
        else:
            conn.execute(self._statement, [_complete(r) for r in rows])
