"""Reading a legacy installation's tables: from a MySQL dump file or a live MySQL database.

Dumps are what SQLyog and mysqldump write: CRLF or LF lines, comments (``--``, ``#``,
``/* */`` and the executable ``/*!40101 … */``), ``INSERT INTO `t`(cols) VALUES (…),(…);``
with MySQL's string escapes (``\\'``, ``\\"``, ``\\\\``, ``\\n``, ``\\0``, ``''`` …). Gzipped
dumps (``.gz``) are read as they are. Both sources give rows as dicts of column -> value
(str, int, float or None), per legacy table.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

# The tables the importer reads (``ow_`` prefix), in the order it needs them.
TABLES = ("ow_levels", "ow_category", "ow_catalog", "ow_permissions", "ow_roles",
          "ow_roles_has_permissions", "ow_groups", "ow_groups_has_roles",
          "ow_groups_has_category", "ow_users", "ow_files")

_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}
_INSERT = re.compile(r"insert\s+(?:ignore\s+)?into\s+`?(\w+)`?\s*(?:\(([^)]*)\))?\s*values\s*",
                     re.IGNORECASE)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


class DumpError(ValueError):
    """The dump cannot be read (names the statement's position)."""


def read_text(path: Path) -> str:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8-sig")


def statements(text: str) -> Iterator[str]:
    """The SQL statements of ``text``, split on ``;`` outside strings and comments; plain
    comments are dropped, executable ``/*!… */`` ones are kept (MySQL runs them)."""
    out: list[str] = []
    start = i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in "'\"`":
            i = _skip_quoted(text, i)
            continue
        if c == "-" and text.startswith("-- ", i) or c == "#" or (
                c == "-" and text.startswith("--", i) and i + 2 < n and text[i + 2] in "\r\n"):
            out.append(text[start:i])
            end = text.find("\n", i)
            i = start = n if end < 0 else end + 1
            continue
        if c == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            if not text.startswith("/*!", i):
                out.append(text[start:i])
                start = end
            i = end
            continue
        if c == ";":
            out.append(text[start:i])
            statement = "".join(out).strip()
            if statement:
                yield statement
            out = []
            start = i = i + 1
            continue
        i += 1
    out.append(text[start:])
    statement = "".join(out).strip()
    if statement:
        yield statement


def _skip_quoted(text: str, i: int) -> int:
    quote = text[i]
    i += 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and quote != "`":
            i += 2
            continue
        if c == quote:
            if i + 1 < n and text[i + 1] == quote:  # '' inside a string
                i += 2
                continue
            return i + 1
        i += 1
    raise DumpError("unterminated string in the dump")


def parse_insert(statement: str) -> tuple[str, list[str] | None, list[list[Any]]] | None:
    """(table, columns or None, rows) of an INSERT statement; None for any other statement."""
    match = _INSERT.match(statement)
    if match is None:
        return None
    table = match.group(1)
    columns = ([c.strip().strip("`") for c in match.group(2).split(",")]
               if match.group(2) else None)
    rows: list[list[Any]] = []
    i, n = match.end(), len(statement)
    while i < n:
        while i < n and statement[i] in " \t\r\n,":
            i += 1
        if i >= n:
            break
        if statement[i] != "(":
            raise DumpError(f"{table}: expected '(' at offset {i} of its INSERT")
        row, i = _tuple(statement, i + 1)
        rows.append(row)
    return table, columns, rows


def _tuple(s: str, i: int) -> tuple[list[Any], int]:
    values: list[Any] = []
    n = len(s)
    while i < n:
        while s[i] in " \t\r\n":
            i += 1
        c = s[i]
        if c == "'" or c == '"':
            value, i = _string(s, i)
            values.append(value)
        elif s.startswith(("NULL", "null"), i):
            values.append(None)
            i += 4
        else:
            match = _NUMBER.match(s, i)
            if match is None:
                raise DumpError(f"unexpected value at offset {i}: {s[i:i + 20]!r}")
            token = match.group()
            values.append(float(token) if "." in token or "e" in token.lower() else int(token))
            i = match.end()
        while s[i] in " \t\r\n":
            i += 1
        if s[i] == ",":
            i += 1
        elif s[i] == ")":
            return values, i + 1
        else:
            raise DumpError(f"unexpected {s[i]!r} at offset {i}")
    raise DumpError("unterminated row")


def _string(s: str, i: int) -> tuple[str, int]:
    quote = s[i]
    i += 1
    parts: list[str] = []
    start = i
    while True:
        j = s.find(quote, i)
        k = s.find("\\", i, j if j >= 0 else len(s))
        if j < 0:
            raise DumpError("unterminated string")
        if k >= 0:
            parts.append(s[start:k])
            escaped = s[k + 1]
            # MySQL: \x for any other x is x (\\ \' \" \% \_ keep the character).
            parts.append(_ESCAPES.get(escaped, escaped))
            i = start = k + 2
            continue
        if j + 1 < len(s) and s[j + 1] == quote:
            parts.append(s[start:j + 1])
            i = start = j + 2
            continue
        parts.append(s[start:j])
        return "".join(parts), j + 1


def read_dump(path: Path, tables: tuple[str, ...] = TABLES) -> dict[str, list[dict[str, Any]]]:
    """Every row of the legacy ``tables`` in the dump at ``path`` (``.sql`` or gzipped)."""
    found: dict[str, list[dict[str, Any]]] = {t: [] for t in tables}
    for statement in statements(read_text(path)):
        parsed = parse_insert(statement)
        if parsed is None:
            continue
        table, columns, rows = parsed
        if table not in found:
            continue
        if columns is None:
            raise DumpError(f"{table}: INSERT without column names is not supported")
        for row in rows:
            if len(row) != len(columns):
                raise DumpError(f"{table}: a row has {len(row)} values for {len(columns)} "
                                "columns")
            found[table].append(dict(zip(columns, row, strict=True)))
    return found


def connect_args(url: str) -> dict[str, Any]:
    """pymysql's arguments from ``mysql://user:password@host:port/database`` (also
    ``mysql+pymysql://``)."""
    parts = urlsplit(url)
    if not parts.scheme.startswith(("mysql", "mariadb")) or not parts.path.strip("/"):
        raise ValueError("expected mysql://user:password@host:port/database")
    return {"host": parts.hostname or "127.0.0.1", "port": parts.port or 3306,
            "user": unquote(parts.username or "root"),
            "password": unquote(parts.password or ""),
            "database": unquote(parts.path.strip("/")), "charset": "utf8mb4"}


def read_mysql(url: str, tables: tuple[str, ...] = TABLES) -> dict[str, list[dict[str, Any]]]:
    """Every row of the legacy ``tables`` of a live MySQL/MariaDB database (read only)."""
    import pymysql
    import pymysql.cursors

    found: dict[str, list[dict[str, Any]]] = {}
    connection = pymysql.connect(**connect_args(url), cursorclass=pymysql.cursors.SSDictCursor)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW TABLES")
            present = {next(iter(row.values())) for row in cursor.fetchall()}
        for table in tables:
            if table not in present:
                found[table] = []
                continue
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT * FROM `{table}`")  # noqa: S608 - a fixed table name
                found[table] = [_plain(row) for row in cursor]
    finally:
        connection.close()
    return found


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    # Decimal and bytes columns become the dump's plain values.
    out = {}
    for key, value in row.items():
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        elif value is not None and not isinstance(value, int | float | str):
            value = int(value) if float(value).is_integer() else float(value)
        out[key] = value
    return out


def load_into_mysql(path: Path, url: str) -> int:
    """Replay the dump's statements into the (existing, empty) database of ``url``, skipping
    its ``CREATE DATABASE`` and ``USE``; returns how many statements ran. For tests and for
    stations that want the legacy database live again."""
    import pymysql

    connection = pymysql.connect(**connect_args(url), autocommit=True)
    done = 0
    try:
        with connection.cursor() as cursor:
            for statement in statements(read_text(path)):
                head = statement.lstrip("/*!0123456789 ").upper()
                if head.startswith(("CREATE DATABASE", "USE ")):
                    continue
                cursor.execute(statement)
                done += 1
    finally:
        connection.close()
    return done
