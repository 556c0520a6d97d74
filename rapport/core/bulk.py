"""Bulk loading: many rows of a model in one statement, for the paths that write thousands of rows
at once (order upserts, the demo)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Model


def insert_rows(model: type[Model], names: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Insert rows of `model` — tuples of the `names` fields' column values, already as the database
    takes them (datetimes through connection.ops.adapt_datetimefield_value on SQLite) — with ONE
    statement: PostgreSQL's COPY, or one parameterised INSERT run by SQLite's executemany. The SQL
    is built from the model's own table and column names, never from input."""
    if not rows:
        return
    meta = model._meta
    quote = connection.ops.quote_name
    fields = {field.name: field for field in meta.concrete_fields}
    columns = ", ".join(quote(fields[name].column) for name in names)
    table = quote(meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY: PostgreSQL's bulk load, its rows formatted by psycopg's C code (an INSERT of
            # unnested arrays spent longer escaping the text arrays in Python than storing them).
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(names))
            sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608 (model names)
            cursor.executemany(sql, rows)
