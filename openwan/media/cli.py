"""``openwan jobs …``: inspect and requeue media jobs, drain the dead-letter queue."""

from __future__ import annotations

import json

import click


def _settings():
    from openwan.cli import _settings as load

    return load()


@click.group()
def jobs() -> None:
    """Inspect and requeue media jobs; drain the dead-letter queue."""


@jobs.command("list")
@click.option("--state", type=click.Choice(["queued", "running", "done", "failed", "dead"]),
              default=None, help="Only jobs in this state.")
@click.option("--asset", "asset_id", type=int, default=None, help="Only this asset's jobs.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_jobs(state: str | None, asset_id: int | None, limit: int, as_json: bool) -> None:
    """Recent jobs, newest first, and the queue's depth."""
    from openwan.db import unit_of_work
    from openwan.media import service
    from openwan.queue import QueueError, get_queue

    settings = _settings()
    with unit_of_work(settings) as session:
        rows = service.list_jobs(session, state=state, asset_id=asset_id, limit=limit)
        for job in rows:
            if as_json:
                click.echo(json.dumps({
                    "id": job.id, "name": job.name, "asset_id": job.asset_id,
                    "state": job.state, "attempts": job.attempts, "stage": job.stage,
                    "progress": job.progress, "error": job.error,
                    "updated_at": job.updated_at.isoformat()}, ensure_ascii=False))
            else:
                error = f"  {job.error}" if job.error else ""
                click.echo(f"{job.id:>8}  {job.state:<8} asset {job.asset_id or '-':<8} "
                           f"{job.stage or '':<10} {job.progress * 100:5.1f}%  "
                           f"attempts {job.attempts}{error}")
    if not as_json:
        try:
            stats = get_queue(settings).stats()
            age = f", oldest {stats.oldest_age:.0f} s" if stats.oldest_age is not None else ""
            click.echo(f"queue: {stats.visible} waiting, {stats.in_flight} in flight, "
                       f"{stats.delayed} delayed, {stats.dead} dead{age}")
        except QueueError as exc:
            click.echo(f"queue unreachable: {exc}", err=True)


@jobs.command("retry")
@click.argument("job_id", type=int)
def retry(job_id: int) -> None:
    """Process the job's asset again (a new job)."""
    from openwan.media import service

    settings = _settings()
    try:
        new_id = service.retry(settings, job_id)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"queued job {new_id} (retry of job {job_id})")


@jobs.command("dlq")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
def dlq(limit: int) -> None:
    """List the messages in the dead-letter queue (they stay there)."""
    from openwan.queue import get_queue

    messages = get_queue(_settings()).dead_letters(limit)
    for message in messages:
        click.echo(f"{message.id}  received {message.receive_count}x  "
                   f"{json.dumps(message.body, ensure_ascii=False)}")
    click.echo(f"{len(messages)} dead letter(s)")


@jobs.command("redrive")
@click.option("--limit", type=click.IntRange(1, 100_000), default=None)
def redrive(limit: int | None) -> None:
    """Move dead letters back to the queue, their jobs and assets queued again."""
    from openwan.media import service

    ids = service.redrive(_settings(), limit)
    click.echo(f"redrove {len(ids)} job(s)" + (f": {', '.join(map(str, ids))}" if ids else ""))
