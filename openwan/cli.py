"""The ``openwan`` command."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from openwan.config import Settings, SettingsError, set_settings


def _settings(data_dir: Path | None = None) -> Settings:
    from openwan.config_secrets import resolve_secrets

    try:
        settings = Settings(**({"OPENWAN_DATA_DIR": data_dir} if data_dir else {}))
        resolve_secrets(settings)
        settings.check()
    except SettingsError as exc:
        raise click.ClickException(f"refusing to start: {exc}") from exc
    set_settings(settings)
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="openwan")
def main() -> None:
    """OpenWan media asset management."""


@main.command()
def migrate() -> None:
    """Apply database migrations (deployment step 19)."""
    from openwan import migrate as migrations

    settings = _settings()

    def done() -> None:
        click.echo("database is up to date")
        _first_admin(settings)

    # Under the migration lock: of two runs at once, one migrates and creates the admin.
    migrations.upgrade(settings.database_url, then=done)


def _first_admin(settings: Settings) -> None:
    """The first administrator on a deployment (AWS): created as ``admin`` from
    OPENWAN_ADMIN_PASSWORD or OPENWAN_ADMIN_PASSWORD_SECRET_ARN when no administrator exists.
    The password is never printed or logged."""
    from openwan.access import service
    from openwan.db import unit_of_work
    from openwan.kit.errors import APIError

    given = settings.auth.admin_password
    with unit_of_work(settings) as session:
        if service.count_admins(session):
            return
        if given is None:
            click.echo("no administrator yet: set OPENWAN_ADMIN_PASSWORD (or "
                       "OPENWAN_ADMIN_PASSWORD_SECRET_ARN) and run `openwan migrate` again, or "
                       "run `openwan user create admin --admin --password-stdin`")
            return
        try:
            service.create_user(session, "admin", given.get_secret_value(),
                                display_name="Administrator", is_admin=True, level=5)
        except APIError as exc:
            # The message names the rule broken, never the password itself.
            raise click.ClickException(
                f"the administrator's password was refused: {exc.message}") from exc
    click.echo("created the administrator account 'admin' with the configured password")


def _ensure_admin(settings: Settings) -> None:
    from openwan.access import service
    from openwan.db import unit_of_work
    from openwan.kit.errors import APIError

    with unit_of_work(settings) as session:
        if service.count_admins(session):
            return
        given = settings.auth.admin_password
        password = given.get_secret_value() if given else service.generate_password()
        try:
            service.create_user(session, "admin", password, display_name="Administrator",
                                is_admin=True, level=5)
        except APIError as exc:
            raise click.ClickException(f"OPENWAN_ADMIN_PASSWORD refused: {exc.message}") from exc
    if given is None:
        # Printed once, on the terminal only; never logged.
        click.echo(click.style("First start: created account 'admin' with password: ",
                               bold=True) + password)
        click.echo("Change it after signing in; it will not be shown again.")
    else:
        click.echo("First start: created account 'admin' (password from OPENWAN_ADMIN_PASSWORD)")


def _observe(settings: Settings, service: str, host: str, metrics_port: int) -> None:
    """JSON logs on stdout, Prometheus on ``metrics_port`` (0: off), tracing when configured."""
    from openwan.observability.logging import configure_logging
    from openwan.observability.tracing import setup_tracing

    configure_logging(settings)
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=host)
    setup_tracing(settings, service=service)


def _serve(settings: Settings, host: str, port: int, metrics_port: int, with_worker: bool) -> None:
    import uvicorn

    from openwan.app import create_app
    from openwan.kit.http import protocol
    from openwan.kit.memory import freeze_startup_objects, tune_for_streaming
    from openwan.observability.tracing import shutdown_tracing

    if not with_worker and settings.http.processes > 1:
        _serve_processes(settings, host, port, metrics_port)
        return
    tune_for_streaming()  # uploads arrive as a stream of 64-256 KiB buffers

    _observe(settings, "backend", host, metrics_port)
    app = create_app(settings)
    # Uvicorn stops on SIGTERM: no new connections, requests in flight get the grace period.
    # Keep-alive outlasts the ALB's 60 s idle timeout (else the ALB reuses closed sockets:
    # 502s). Forwarded headers are read by our own middleware, for the configured hops only.
    server = uvicorn.Server(uvicorn.Config(
        app, host=host, port=port, http=protocol(), log_level=settings.log_level.lower(),
        log_config=None, access_log=False, proxy_headers=False, server_header=False,
        timeout_keep_alive=settings.http.keep_alive_seconds,
        timeout_graceful_shutdown=settings.http.graceful_shutdown_seconds))
    worker = None
    if with_worker:
        from openwan.media.worker import Worker

        # A thread of the worker died: the server stops too (and exits non-zero below).
        worker = app.state.embedded_worker = Worker(
            settings, on_fatal=lambda _reason: setattr(server, "should_exit", True)).start()
    freeze_startup_objects()
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn raises the Ctrl-C again once it has shut down
        pass
    finally:
        if worker is not None:  # Ctrl-C: uvicorn has stopped serving; now the worker
            worker.stop()
        shutdown_tracing()
    if worker is not None and worker.fatal:
        raise click.ClickException(f"media worker failed: {worker.fatal}")


def _uvicorn_options(settings: Settings) -> dict:
    from openwan.kit.http import protocol

    # Server processes are spawned: they import the protocol class by name.
    http = protocol()
    return {"http": http if isinstance(http, str) else "openwan.cli:HttpProtocol",
            "log_level": settings.log_level.lower(), "log_config": None,
            "access_log": False, "proxy_headers": False, "server_header": False,
            "timeout_keep_alive": settings.http.keep_alive_seconds,
            "timeout_graceful_shutdown": settings.http.graceful_shutdown_seconds}


def _serve_processes(settings: Settings, host: str, port: int, metrics_port: int) -> None:
    """``OPENWAN_WEB_PROCESSES`` server processes on one listening socket (uvicorn's
    supervisor restarts one that dies). Their metrics are gathered on ``metrics_port`` by
    this process through prometheus_client's multiprocess mode."""
    import os
    import shutil
    import tempfile

    import uvicorn

    from openwan.observability.logging import configure_logging

    configure_logging(settings)
    metrics_dir = tempfile.mkdtemp(prefix="openwan-metrics-")
    # Read by prometheus_client when the server processes import it.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        if metrics_port:
            from prometheus_client import CollectorRegistry, start_http_server
            from prometheus_client.multiprocess import MultiProcessCollector

            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=metrics_dir)
            start_http_server(metrics_port, addr=host, registry=registry)
        uvicorn.run("openwan.cli:web_app", factory=True, host=host, port=port,
                    workers=settings.http.processes, **_uvicorn_options(settings))
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def __getattr__(name: str):
    if name == "HttpProtocol":  # the class `_uvicorn_options` names
        from openwan.kit.http import protocol

        return protocol()
    raise AttributeError(name)


def web_app():
    """The app of one of several ``openwan serve`` processes (uvicorn calls this in each)."""
    from openwan.app import create_app
    from openwan.kit.memory import freeze_startup_objects, tune_for_streaming

    tune_for_streaming()
    settings = _settings()
    _observe(settings, "backend", "127.0.0.1", 0)  # metrics: served by the parent
    app = create_app(settings)
    freeze_startup_objects()
    return app


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--metrics-port", default=9090, show_default=True, type=int,
              help="Prometheus metrics port; 0 turns metrics off.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Where the embedded database, storage and queue live [default: ./var].")
def up(host: str, port: int, metrics_port: int, data_dir: Path | None) -> None:
    """Run everything on embedded defaults: migrate, then API + web + worker."""
    from openwan import migrate as migrations

    settings = _settings(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrations.upgrade(settings.database_url)
    _ensure_admin(settings)
    click.echo(f"OpenWan on http://{host}:{port}  (data in {settings.data_dir})")
    _serve(settings, host, port, metrics_port, with_worker=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--metrics-port", default=9090, show_default=True, type=int,
              help="Prometheus metrics port; 0 turns metrics off.")
def serve(host: str, port: int, metrics_port: int) -> None:
    """API + web only (the ECS backend service): OPENWAN_WEB_PROCESSES processes [default:
    one per CPU available]."""
    _serve(_settings(), host, port, metrics_port, with_worker=False)


@main.command()
@click.option("--metrics-port", default=9090, show_default=True, type=int,
              help="Prometheus metrics port; 0 turns metrics off.")
@click.option("--check", is_flag=True,
              help="Health check: exit 0 if the running worker is healthy, 1 otherwise.")
def worker(metrics_port: int, check: bool) -> None:
    """The media worker (the ECS worker service)."""
    if check:
        from openwan.media.health import check_health

        problem = check_health(Settings())  # no secrets needed: only the health file
        if problem:
            click.echo(f"unhealthy: {problem}", err=True)
            sys.exit(1)
        click.echo("healthy")
        return
    from openwan import cache
    from openwan.media.worker import WorkerFailed, run_worker
    from openwan.observability.shutdown import install_stop_handlers
    from openwan.observability.tracing import shutdown_tracing

    settings = _settings()
    # A worker runs a few jobs at a time: a small pool keeps the RDS budget (see openwan.db).
    if "pool_size" not in settings.db.model_fields_set:
        settings.db.pool_size = 3
    if "max_overflow" not in settings.db.model_fields_set:
        settings.db.max_overflow = 2
    _observe(settings, "worker", "0.0.0.0", metrics_port)  # noqa: S104 - scraped in the VPC
    cache.configure(settings)
    # First SIGTERM/SIGINT: take no new job, finish or hand back the one in hand; a second
    # one exits at once.
    stop = install_stop_handlers()
    try:
        run_worker(settings, stop=stop)
    except WorkerFailed as exc:
        click.echo(f"media worker failed: {exc}", err=True)
        sys.exit(1)
    finally:
        shutdown_tracing()


@main.group()
def user() -> None:
    """Manage accounts."""


@user.command("create")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Make the account an administrator.")
@click.option("--group", "groups", multiple=True, help="Group name (repeatable).")
@click.option("--level", type=click.IntRange(1, 5), default=1, show_default=True,
              help="Browse clearance level (1 public … 5 top secret).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_create(name: str, admin: bool, groups: tuple[str, ...], level: int,
                password_stdin: bool) -> None:
    """Create an account; without --password-stdin a password is generated and printed."""
    from openwan.access import service
    from openwan.db import unit_of_work
    from openwan.kit.errors import APIError

    settings = _settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = service.generate_password()
    try:
        with unit_of_work(settings) as session:
            account = service.create_user(session, name, password, is_admin=admin, level=level)
            assign = getattr(service, "assign_groups", None)
            if groups:
                if assign is None:
                    raise click.ClickException("groups arrive with the access-control model")
                assign(session, account, list(groups))
    except APIError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"created user {name!r}" + ("" if password_stdin else f" with password: {password}"))


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--category", "category_id", type=int, default=None, help="Category id.")
@click.option("--recursive", "-r", is_flag=True, help="Descend into folders.")
@click.option("--user", "username", default=None, help="Owner of the imported assets "
              "[default: the first administrator].")
def ingest(paths: tuple[Path, ...], category_id: int | None, recursive: bool,
           username: str | None) -> None:
    """Import files and folders; skips duplicates, so it can be re-run after an interruption."""
    from sqlalchemy import select
    from tqdm import tqdm

    from openwan.assets.importer import import_file, walk
    from openwan.db import unit_of_work
    from openwan.kit.errors import APIError
    from openwan.models import User

    settings = _settings()
    with unit_of_work(settings) as session:
        query = select(User.id)
        query = (query.where(User.username == username) if username
                 else query.where(User.is_admin).order_by(User.id))
        user_id = session.scalar(query.limit(1))
    if user_id is None:
        raise click.ClickException(f"no such user: {username}" if username
                                   else "no administrator yet: run `openwan up` or "
                                        "`openwan user create NAME --admin` first")
    files = list(walk(list(paths), recursive))
    counts = {"imported": 0, "duplicate": 0, "refused": 0}
    with tqdm(total=sum(f.stat().st_size for f in files), unit="B", unit_scale=True,
              unit_divisor=1024, disable=None) as bar:
        for path in files:
            try:
                outcome = import_file(settings, path, user_id=user_id, category_id=category_id,
                                      progress=bar.update)
            except APIError as exc:
                raise click.ClickException(f"{path}: {exc.message}") from exc
            counts[outcome.status] += 1
            if outcome.status == "refused":
                bar.write(f"skipped {path}: {outcome.message}")
    click.echo(", ".join(f"{n} {k}" for k, n in counts.items()))


@main.command()
@click.option("--days", type=click.IntRange(0), default=None,
              help="Retention in days [default: OPENWAN_RECYCLE_DAYS, 30].")
@click.option("--dry-run", is_flag=True, help="Only list what would be purged.")
def purge(days: int | None, dry_run: bool) -> None:
    """Empty the recycle bin: delete assets (rows and files) deleted longer ago than --days."""
    from datetime import timedelta

    from openwan.catalog.purge import purge_deleted

    settings = _settings()
    ids = purge_deleted(settings, older_than=None if days is None else timedelta(days=days),
                        dry_run=dry_run)
    click.echo(f"{'would purge' if dry_run else 'purged'} {len(ids)} assets"
               + (f": {', '.join(map(str, ids[:20]))}" if ids else ""))


@main.command()
@click.option("--batch", default=2000, show_default=True, type=click.IntRange(min=1),
              help="assets per transaction")
def reindex(batch: int) -> None:
    """Rebuild the search index of every asset (after an upgrade of the tokenizer), one
    transaction per batch: safe to interrupt and run again."""
    from openwan.search.index import reindex_all

    def progress(done: int) -> None:
        if done % (batch * 50) == 0:
            click.echo(f"  {done} assets", err=True)

    count = reindex_all(_settings(), batch=batch, progress=progress)
    click.echo(f"reindexed {count} assets")


@main.command("import-legacy")
@click.option("--mysql-url", default=None, help="The 2010 installation's database "
              "(mysql://user:password@host:3306/openwan_db).")
@click.option("--sql-dump", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Its SQL dump instead (.sql or .sql.gz).")
@click.option("--files", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="The folder holding its data1, data2… folders.")
@click.option("--dry-run", is_flag=True, help="Read and check everything, write nothing.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write the report as JSON to this file.")
@click.option("--batch", default=200, show_default=True, type=click.IntRange(min=1),
              help="files per transaction")
def import_legacy(mysql_url: str | None, sql_dump: Path | None, files: Path | None,
                  dry_run: bool, report_path: Path | None, batch: int) -> None:
    """Import a 2010 OpenWan installation (database and media folders); safe to run again:
    what was imported is skipped, an interrupted run resumes."""
    from openwan.legacy.cli import run

    run(_settings(), mysql_url=mysql_url, sql_dump=sql_dump, files=files, dry_run=dry_run,
        report_path=report_path, batch=batch)


from openwan.media.cli import jobs as _jobs  # noqa: E402

main.add_command(_jobs)

try:  # the cost estimator ships with the deployment tooling
    from openwan.cost.cli import cost as _cost

    main.add_command(_cost)
except ImportError:  # pragma: no cover - only while the cost package is absent
    pass


if __name__ == "__main__":
    main()
