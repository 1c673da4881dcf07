"""``openwan import-legacy``: the command's work, registered in ``openwan.cli``."""

from __future__ import annotations

from pathlib import Path

import click

from openwan.config import Settings


def run(settings: Settings, *, mysql_url: str | None, sql_dump: Path | None,
        files: Path | None, dry_run: bool, report_path: Path | None, batch: int) -> None:
    from openwan import migrate
    from openwan.legacy.dump import DumpError, read_dump, read_mysql
    from openwan.legacy.importer import Importer
    from openwan.legacy.report import Report

    if (mysql_url is None) == (sql_dump is None):
        raise click.UsageError("give exactly one of --mysql-url and --sql-dump")
    source = sql_dump.name if sql_dump is not None else _safe_url(mysql_url or "")
    try:
        tables = read_dump(sql_dump) if sql_dump is not None else read_mysql(mysql_url or "")
    except (DumpError, ValueError, OSError) as exc:
        raise click.ClickException(f"cannot read {source}: {exc}") from exc
    except Exception as exc:  # pymysql's errors (connection refused, unknown database…)
        raise click.ClickException(f"cannot read {source}: {exc}") from exc
    migrate.upgrade(settings.database_url)
    if not dry_run:
        _require_admin(settings)
    report = Report(source=source)

    def progress(stage: str, done: int) -> None:
        click.echo(f"  {stage}: {done}", err=True)

    try:
        Importer(settings, tables, files=files, dry_run=dry_run, batch=batch, report=report,
                 progress=progress).run()
    finally:
        click.echo(report.to_text())
        if report_path is not None:
            report_path.write_text(report.to_json() + "\n", encoding="utf-8")
            click.echo(f"report written to {report_path}")


def _require_admin(settings: Settings) -> None:
    """An administrator must exist first: the legacy ``admin`` then joins that account
    (when it has the same name) instead of taking the name the first start would create."""
    from openwan.access import service
    from openwan.db import unit_of_work

    with unit_of_work(settings) as session:
        if service.count_admins(session):
            return
    raise click.ClickException("no administrator yet: run `openwan up` once or "
                               "`openwan user create NAME --admin` first")


def _safe_url(url: str) -> str:
    """The URL without its password, for the report."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
