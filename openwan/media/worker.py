"""The media worker: consumes the queue with N threads, beats a heartbeat for running jobs,
reconciles lost jobs, and shuts down cleanly (SIGTERM: finish or hand back).

``openwan worker`` runs one in the foreground; ``openwan up`` starts one inside the server.
A thread of the worker that dies ends the worker (a process that lives on without consuming
would hold its task slot forever); ``openwan worker --check`` reads the health file the
foreground worker keeps fresh while all its threads go round.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from openwan.config import Settings
from openwan.media import service
from openwan.media.errors import PermanentError, StageError
from openwan.media.ffmpeg import Cancelled
from openwan.media.health import health_file, write_health
from openwan.media.tasks import HANDLERS, JobContext
from openwan.observability import metrics
from openwan.queue import Message, QueueError, ReceiptExpired, get_queue

log = logging.getLogger("openwan.worker")

# Visibility is extended every third of the timeout (at most every 5 minutes), so a slow
# transcode keeps its message however long it runs.
MAX_BEAT = 300.0
PROGRESS_EVERY = 2.0
# The health file is rewritten this often while the worker is healthy.
HEALTH_EVERY = 5.0


class WorkerFailed(RuntimeError):
    """A thread of the worker died or stopped going round: the process must end."""


_probed: set[str] = set()


def _register_queue_probe(settings: Settings) -> None:
    """Queue depth and age on /metrics, read at scrape time (once per queue per process)."""
    queue = get_queue(settings)
    if repr(queue) in _probed:
        return
    _probed.add(repr(queue))

    def probe() -> dict[str, tuple[float, float | None]]:
        stats = queue.stats()
        return {"transcoding": (stats.visible, stats.oldest_age),
                "transcoding-dlq": (stats.dead, None)}

    metrics.register_queue_probe(probe)


@dataclass
class Active:
    ctx: JobContext
    message: Message
    worker: str
    next_extend: float
    consumer: str  # the consumer thread running it


class Worker:
    def __init__(self, settings: Settings, *, concurrency: int | None = None,
                 reconcile: bool = True,
                 on_fatal: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.queue = get_queue(settings)
        self.concurrency = max(1, concurrency or settings.media.concurrency)
        self.reconcile_enabled = reconcile
        self.stopping = threading.Event()  # no new jobs
        self._halt = threading.Event()  # background threads end
        self._threads: list[threading.Thread] = []
        self._active: dict[int, Active] = {}
        self._lock = threading.Lock()
        self.processed = 0
        # Why the worker cannot go on (a thread died), and who to tell.
        self.fatal: str | None = None
        self._on_fatal = on_fatal
        # Last sign of life of each thread (monotonic): a consumer between jobs, or the
        # heartbeat of the job it runs; the heartbeat and reconciler threads each round.
        self._seen: dict[str, float] = {}
        # Short enough that a stop is noticed quickly: SQS long polls of 5 s still cost
        # little; the embedded queue's polls are local reads.
        from openwan.queue.embedded import EmbeddedQueue

        self._poll_seconds = min(self.settings.queue.wait_seconds,
                                 1 if isinstance(self.queue, EmbeddedQueue) else 5)

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> Worker:
        _register_queue_probe(self.settings)
        _sweep(self.settings)  # what a crash of the last worker here left
        for i in range(self.concurrency):
            self._spawn(self._consume, f"openwan-worker-{i}")
        self._spawn(self._beat, "openwan-heartbeat")
        if self.reconcile_enabled:
            self._spawn(self._reconcile_loop, "openwan-reconciler")
        log.info("media worker started: %d job(s) at a time, FFmpeg threads %d, queue %r",
                 self.concurrency, self.settings.media.threads, self.queue)
        return self

    def _spawn(self, target, name: str) -> None:
        self._seen[name] = time.monotonic()
        thread = threading.Thread(target=self._guarded, args=(target, name), name=name,
                                  daemon=True)
        thread.start()
        self._threads.append(thread)

    def _guarded(self, target, name: str) -> None:
        """Run a worker thread; if it ends before the worker stops, the worker fails."""
        try:
            target()
        except BaseException as exc:
            log.critical("worker thread %s died", name, exc_info=True)
            self._fail(f"thread {name} died: {type(exc).__name__}: {exc}")
            return
        if not (self._halt.is_set() or (self.stopping.is_set()
                                        and name.startswith("openwan-worker"))):
            self._fail(f"thread {name} ended unexpectedly")

    def _fail(self, reason: str) -> None:
        if self.fatal is None:
            self.fatal = reason
            log.critical("media worker failed: %s; stopping", reason)
            if self._on_fatal is not None:
                self._on_fatal(reason)

    def _alive(self, name: str) -> None:
        self._seen[name] = time.monotonic()

    def health(self, max_age: float) -> str | None:
        """None when every thread is alive and went round within ``max_age`` seconds;
        otherwise what is wrong."""
        if self.fatal:
            return self.fatal
        now = time.monotonic()
        for thread in self._threads:
            if not thread.is_alive():
                return f"thread {thread.name} is not running"
            if now - self._seen.get(thread.name, now) > max_age:
                return f"thread {thread.name} has not gone round for {max_age:.0f} s"
        return None

    def stop(self, timeout: float | None = None) -> None:
        """Stop taking jobs; let running ones finish within ``timeout`` (the setting by
        default), then stop their tools and hand them back to the queue."""
        timeout = self.settings.media.shutdown_seconds if timeout is None else timeout
        self.stopping.set()
        consumers = [t for t in self._threads if t.name.startswith("openwan-worker")]
        deadline = time.monotonic() + timeout
        for thread in consumers:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            running = list(self._active.values())
        for active in running:
            log.warning("job %s did not finish in time; handing it back", active.ctx.job_id)
            active.ctx.cancel.set()
        for thread in consumers:
            thread.join(15)
        self._halt.set()
        for thread in self._threads:
            thread.join(5)
        log.info("media worker stopped")

    def run_forever(self, stop: threading.Event | None = None) -> None:
        """Foreground until ``stop`` is set (by the caller's SIGTERM/SIGINT handlers, or by
        handlers installed here), then stop cleanly. Keeps the health file fresh meanwhile;
        raises ``WorkerFailed`` (after stopping) when a thread of the worker died."""
        if stop is None:
            stop = threading.Event()

            def on_signal(signum, _frame) -> None:
                log.info("signal %s: finishing current jobs, taking no new ones", signum)
                stop.set()

            signal.signal(signal.SIGTERM, on_signal)
            signal.signal(signal.SIGINT, on_signal)
        health = health_file(self.settings)
        max_age = float(self.settings.media.health_seconds)
        self.start()
        last_written = 0.0
        try:
            while not stop.wait(1.0) and self.fatal is None:
                problem = self.health(max_age)
                if problem is not None:
                    log.error("worker unhealthy: %s", problem)
                elif time.monotonic() - last_written >= HEALTH_EVERY:
                    write_health(health)
                    last_written = time.monotonic()
        finally:
            health.unlink(missing_ok=True)
            self.stopping.set()
            self.stop()
        if self.fatal is not None:
            raise WorkerFailed(self.fatal)

    # -- consuming --------------------------------------------------------------------------
    def _consume(self) -> None:
        me = threading.current_thread().name
        while not self.stopping.is_set():
            self._alive(me)
            try:
                messages = self.queue.receive(wait_seconds=self._poll_seconds)
            except QueueError as exc:
                log.error("queue receive failed: %s; retrying in 5 s", exc)
                self.stopping.wait(5)
                continue
            for message in messages:
                if self.stopping.is_set():
                    self._hand_back(message)
                    continue
                try:
                    self.handle(message)
                except Exception:
                    # Settling failed (the queue or the database refused): the message
                    # comes back after the visibility timeout and its job is claimed again.
                    log.exception("message %s could not be settled; it will be received again",
                                  message.id)
                    metrics.JOBS.labels(str(message.body.get("name")), "unsettled").inc()
                self._alive(me)

    def drain(self, *, idle_seconds: float = 0.5, limit: int = 1000) -> int:
        """Process messages in this thread until the queue stays empty (tests, benchmarks)."""
        handled = 0
        while handled < limit:
            messages = self.queue.receive(wait_seconds=idle_seconds)
            if not messages:
                return handled
            for message in messages:
                self.handle(message)
                handled += 1
        return handled

    def _hand_back(self, message: Message) -> None:
        try:
            self.queue.change_visibility(message.receipt, 0)
        except QueueError as exc:
            log.warning("could not hand back message %s: %s", message.id, exc)

    def handle(self, message: Message) -> None:
        """Run the message's job and settle the message: deleted on success or permanent
        failure, delayed for a retry, or left for the dead-letter queue on the last attempt."""
        name, job_id = message.body.get("name"), message.body.get("job_id")
        handler = HANDLERS.get(name) if isinstance(name, str) else None
        if handler is None or not isinstance(job_id, int):
            # Not ours to run: let the redrive policy take it to the dead-letter queue.
            log.error("message %s names no known job (%r); leaving it for the DLQ",
                      message.id, name)
            self._hand_back(message)
            return
        worker = service.worker_name()
        job = service.claim(self.settings, job_id, message, worker)
        if job is None:
            self.queue.delete(message.receipt)  # done, superseded, or a duplicate
            return
        ctx = JobContext(self.settings, job_id)
        beat = self._beat_interval()
        with self._lock:
            self._active[job_id] = Active(ctx, message, worker, time.monotonic() + beat,
                                          threading.current_thread().name)
        metrics.JOBS_RUNNING.labels(name).inc()
        started = time.perf_counter()
        outcome = "failed"
        try:
            handler(ctx, job.payload)
            outcome = "succeeded"
        except Cancelled:
            outcome = "retried"
            service.release(self.settings, job_id, worker)
            self._hand_back(message)
            return
        except PermanentError as exc:
            log.warning("job %s failed: %s", job_id, exc)
            service.fail(self.settings, job_id, exc.stage, exc.message)
            self._delete(message)
            return
        except Exception as exc:  # any other error is worth another attempt
            stage = exc.stage if isinstance(exc, StageError) else ctx.stage
            text = exc.message if isinstance(exc, StageError) else f"{type(exc).__name__}: {exc}"
            if message.receive_count >= self._max_receives():
                log.error("job %s failed on its last attempt: %s", job_id, text)
                service.give_up(self.settings, job_id, stage, text, message.receive_count)
                self._hand_back(message)  # the next receive moves it to the DLQ
            else:
                outcome = "retried"
                delay = self.settings.queue.retry_seconds * 2 ** (message.receive_count - 1)
                log.warning("job %s attempt %d failed at %s: %s; retrying in %d s", job_id,
                            message.receive_count, stage, text, delay)
                service.retry_later(self.settings, job_id, stage, text,
                                    message.receive_count, delay)
                try:
                    self.queue.change_visibility(message.receipt, delay)
                except QueueError as err:
                    log.warning("could not delay the retry of job %s: %s", job_id, err)
            return
        finally:
            with self._lock:
                self._active.pop(job_id, None)
            metrics.JOBS_RUNNING.labels(name).dec()
            metrics.JOB_SECONDS.labels(name).observe(time.perf_counter() - started)
            metrics.JOBS.labels(name, outcome).inc()
        self._delete(message)
        self.processed += 1

    def _max_receives(self) -> int:
        try:
            return self.queue.max_receive_count
        except QueueError as exc:  # the queue's redrive policy could not be read
            log.warning("queue attributes unreadable (%s); assuming %d receives", exc,
                        self.settings.queue.max_receive_count)
            return self.settings.queue.max_receive_count

    def _delete(self, message: Message) -> None:
        try:
            self.queue.delete(message.receipt)
        except QueueError as exc:
            # The job row says done; a redelivered copy is recognised and dropped.
            log.warning("could not delete message %s: %s", message.id, exc)

    # -- heartbeat and reconciler -----------------------------------------------------------
    def _beat_interval(self) -> float:
        return min(MAX_BEAT, max(0.5, self.settings.queue.visibility_timeout / 3))

    def _beat(self) -> None:
        every = min(PROGRESS_EVERY, self._beat_interval())
        me = threading.current_thread().name
        while not self._halt.wait(every):
            self._alive(me)
            with self._lock:
                running = list(self._active.values())
            now = time.monotonic()
            for active in running:
                try:
                    if now >= active.next_extend:
                        active.next_extend = now + self._beat_interval()
                        # Deadline first, visibility second: the row never claims less time
                        # than the message has.
                        service.heartbeat(self.settings, active.ctx.job_id, active.worker,
                                          active.ctx.stage, active.ctx.progress)
                        self.queue.change_visibility(active.message.receipt,
                                                     self.settings.queue.visibility_timeout)
                    else:
                        service.heartbeat(self.settings, active.ctx.job_id, active.worker,
                                          active.ctx.stage, active.ctx.progress)
                    self._alive(active.consumer)  # busy with a job that beats
                except ReceiptExpired:
                    log.warning("job %s: its message was received elsewhere; finishing anyway "
                                "(the outputs are idempotent)", active.ctx.job_id)
                except Exception:
                    log.exception("heartbeat for job %s failed", active.ctx.job_id)

    def _reconcile_loop(self) -> None:
        me = threading.current_thread().name
        # Its rounds are far apart: it is never late as long as its thread lives.
        self._seen[me] = float("inf")
        while not self._halt.wait(self.settings.queue.reconcile_seconds):
            try:
                service.reconcile(self.settings)
            except Exception:
                log.exception("reconciler failed; trying again later")
            _sweep(self.settings)


def _sweep(settings: Settings) -> None:
    from openwan.media.tasks import sweep_work

    try:
        sweep_work(settings)
    except OSError:
        log.exception("sweeping abandoned work folders failed; trying again later")


def run_worker(settings: Settings, stop: threading.Event | None = None) -> None:
    """``openwan worker``: consume until SIGTERM (or ``stop``), then shut down cleanly.
    Raises ``WorkerFailed`` when a thread of the worker died."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=settings.log_level.upper(),
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    Worker(settings).run_forever(stop)
