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
# Strings (with their escapes) in one piece, or a character that ends or starts something.
_TOKEN = re.compile(r"""'[^'\\]*(?:(?:\\.|'')[^'\\]*)*'|"[^"\\]*(?:(?:\\.|"")[^"\\]*)*"|"""
                    r"""`[^`]*`|['"`;#]|--|/\*""", re.DOTALL)
_VALUE = re.compile(r"""\s*(?:'([^'\\]*(?:(?:\\.|'')[^'\\]*)*)'|"([^"\\]*(?:(?:\\.|"")"""
                    r"""[^"\\]*)*)"|(NULL)|(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?))\s*([,)])""",
                    re.DOTALL | re.IGNORECASE)
_ESCAPE = re.compile(r"\\(.)|''|\"\"", re.DOTALL)


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
    while True:
        match = _TOKEN.search(text, i)
        if match is None:
            break
        mark = match.group()
        i = match.start()
        if mark[0] in "'\"`":
            if len(mark) == 1:
                raise DumpError(f"unterminated string at offset {i} of the dump")
            i = match.end()
        elif mark == "#" or (mark == "--" and (i + 2 >= n or text[i + 2] in " \t\r\n")):
            out.append(text[start:i])
            end = text.find("\n", i)
            i = start = n if end < 0 else end + 1
        elif mark == "--":
            i += 2
        elif mark == "/*":
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            if not text.startswith("/*!", i):
                out.append(text[start:i])
                start = end
            i = end
        else:  # ;
            out.append(text[start:i])
            statement = "".join(out).strip()
            if statement:
                yield statement
            out = []
            start = i = i + 1
    out.append(text[start:])
    statement = "".join(out).strip()
    if statement:
        yield statement


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
    while True:
        match = _VALUE.match(s, i)
        if match is None:
            raise DumpError(f"unexpected value at offset {i}: {s[i:i + 30]!r}")
        single, double, null, number, end = match.groups()
        if single is not None:
            values.append(_unescape(single, "'"))
        elif double is not None:
            values.append(_unescape(double, '"'))
        elif null is not None:
            values.append(None)
        else:
            values.append(float(number) if "." in number or "e" in number.lower()
                          else int(number))
        i = match.end()
        if end == ")":
            return values, i


def _unescape(text: str, quote: str) -> str:
    if "\\" not in text and quote not in text:
        return text
    # MySQL: \x for any other x is x (\\ \' \" \% \_ keep the character); '' is '.
    def one(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return _ESCAPES.get(m.group(1), m.group(1))
        return quote if m.group() == quote * 2 else m.group()

    return _ESCAPE.sub(one, text)


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
