"""OpenTelemetry tracing with AWS X-Ray trace ids, exported by OTLP to the ADOT collector.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (or a test passes an exporter): then nothing
is installed, ``span()`` is a no-op and log lines carry no trace id beyond the ALB's.

On: requests (FastAPI), database queries (SQLAlchemy), AWS calls (botocore: S3, SQS, Secrets
Manager) are traced; other code marks its own work with ``with span("ffmpeg.transcode",
operation="hls"):`` or ``span("queue.receive")``. Trace ids are X-Ray compatible (time-prefixed)
and ``X-Amzn-Trace-Id`` is read and written beside W3C ``traceparent``. The ALB adds
``X-Amzn-Trace-Id: Root=…`` without a parent; that root id is kept for our server span.

Sampling follows the seed's X-Ray rules: every trace with an error (kept at the end, see
``ErrorKeepingProcessor``), 1 % of ``GET /health``, 10 % of other requests with a reservoir of
one trace per second, 5 % (reservoir 1/s) for work outside requests (jobs).
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("openwan.tracing")

_provider = None  # opentelemetry.sdk.trace.TracerProvider while tracing is on
_tracer = None
_engine_tracers: list[Any] = []
_botocore = None


def enabled() -> bool:
    return _provider is not None


# --- sampling ------------------------------------------------------------------------------


class Reservoir:
    """At most ``per_second`` traces each second are sampled regardless of the rate."""

    def __init__(self, per_second: int) -> None:
        self.per_second = per_second
        self._second = 0
        self._taken = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        if self.per_second <= 0:
            return False
        now = int(time.monotonic())
        with self._lock:
            if now != self._second:
                self._second, self._taken = now, 0
            if self._taken < self.per_second:
                self._taken += 1
                return True
            return False


@dataclass
class Rule:
    description: str
    method: str  # "*" or a method
    path: str  # "*" or an exact path
    rate: float
    fixed_target: int
    reservoir: Reservoir = field(init=False)

    def __post_init__(self) -> None:
        self.reservoir = Reservoir(self.fixed_target)

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and self.path in ("*", path)


def seed_rules() -> tuple[list[Rule], Rule]:
    """The seed's X-Ray sampling rules (the "all errors" rule is applied at the end)."""
    return ([Rule("Sample health checks at low rate", "GET", "/health", 0.01, 0),
             Rule("Sample 10% of other requests", "*", "*", 0.10, 1)],
            Rule("default", "*", "*", 0.05, 1))


def _sampler_class():
    from opentelemetry import trace
    from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult

    class SeedSampler(Sampler):
        """Head decision by rule; unsampled spans are still recorded so errors can be kept."""

        def __init__(self, rules: Sequence[Rule] | None = None, default: Rule | None = None,
                     ) -> None:
            seed, seed_default = seed_rules()
            self.rules = list(rules) if rules is not None else seed
            self.default = default or seed_default

        def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None,
                          links=None, trace_state=None) -> SamplingResult:
            parent = trace.get_current_span(parent_context).get_span_context()
            if parent.is_valid and parent.trace_flags.sampled:
                return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, trace_state)
            if parent.is_valid and not parent.is_remote:
                return SamplingResult(Decision.RECORD_ONLY, attributes, trace_state)
            rule = self.rule_for(attributes or {})
            sampled = rule.reservoir.take() or (
                (trace_id & 0xFFFFFFFFFFFFFFFF) < int(rule.rate * 2**64))
            return SamplingResult(Decision.RECORD_AND_SAMPLE if sampled else Decision.RECORD_ONLY,
                                  attributes, trace_state)

        def rule_for(self, attributes) -> Rule:
            method = attributes.get("http.request.method") or attributes.get("http.method")
            if not method:
                return self.default
            path = attributes.get("url.path") or str(attributes.get("http.target", ""))
            path = path.split("?", 1)[0]
            for rule in self.rules:
                if rule.matches(str(method), path):
                    return rule
            return self.default

        def get_description(self) -> str:
            return "OpenWanSeedSampler"

    return SeedSampler


def _is_error(span) -> bool:
    from opentelemetry.trace import StatusCode

    if span.status.status_code is StatusCode.ERROR:
        return True
    attributes = span.attributes or {}
    status = attributes.get("http.response.status_code") or attributes.get("http.status_code")
    return isinstance(status, int) and status >= 500


def _processor_class():
    from opentelemetry import trace
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

    class ErrorKeepingProcessor(SpanProcessor):
        """Passes sampled spans on; holds unsampled ones until their local root ends and
        passes the whole trace on when any span in it failed (the seed's "all errors")."""

        def __init__(self, delegate: SpanProcessor, max_traces: int = 4096,
                     max_spans: int = 512) -> None:
            self.delegate = delegate
            self.max_traces = max_traces
            self.max_spans = max_spans
            self._pending: OrderedDict[int, list[ReadableSpan]] = OrderedDict()
            self._lock = threading.Lock()

        def on_start(self, span, parent_context=None) -> None:
            self.delegate.on_start(span, parent_context=parent_context)

        def on_end(self, span: ReadableSpan) -> None:
            context = span.context
            if context.trace_flags.sampled:
                self.delegate.on_end(span)
                return
            local_root = span.parent is None or span.parent.is_remote
            with self._lock:
                spans = self._pending.setdefault(context.trace_id, [])
                if len(spans) < self.max_spans:
                    spans.append(span)
                if not local_root:
                    while len(self._pending) > self.max_traces:
                        self._pending.popitem(last=False)
                    return
                spans = self._pending.pop(context.trace_id, [])
            if any(_is_error(s) for s in spans):
                for s in spans:
                    self.delegate.on_end(_as_sampled(s))

        def shutdown(self) -> None:
            self.delegate.shutdown()

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return self.delegate.force_flush(timeout_millis)

    def _as_sampled(span: ReadableSpan) -> ReadableSpan:
        ctx = span.context
        sampled = trace.SpanContext(ctx.trace_id, ctx.span_id, ctx.is_remote,
                                    trace.TraceFlags(trace.TraceFlags.SAMPLED), ctx.trace_state)
        return ReadableSpan(
            name=span.name, context=sampled, parent=span.parent, resource=span.resource,
            attributes=span.attributes, events=span.events, links=span.links, kind=span.kind,
            status=span.status, start_time=span.start_time, end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope)

    return ErrorKeepingProcessor


# --- ids and propagation --------------------------------------------------------------------

# The ALB's Root id for the request being started (it sends no parent span id).
_incoming_root: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "openwan_incoming_xray_root", default=None)


def parse_xray_root(header: str | None) -> int | None:
    """The trace id in ``Root=1-5759e988-bd862e3fe1be46a994272793;…``, or None."""
    if not header:
        return None
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == "Root":
            pieces = value.split("-")
            if len(pieces) == 3 and pieces[0] == "1" and len(pieces[1]) == 8 \
                    and len(pieces[2]) == 24:
                try:
                    return int(pieces[1] + pieces[2], 16) or None
                except ValueError:
                    return None
    return None


def format_xray(trace_id: int) -> str:
    hexid = f"{trace_id:032x}"
    return f"1-{hexid[:8]}-{hexid[8:]}"


def _id_generator():
    from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator

    class AlbAwareIdGenerator(AwsXRayIdGenerator):
        """X-Ray ids; a root span continues the ALB's Root id when one came in."""

        def generate_trace_id(self) -> int:
            root = _incoming_root.get()
            if root is not None:
                _incoming_root.set(None)
                return root
            return super().generate_trace_id()

    return AlbAwareIdGenerator()


def _propagator():
    from opentelemetry.propagate import set_global_textmap
    from opentelemetry.propagators.aws import AwsXRayPropagator
    from opentelemetry.propagators.composite import CompositePropagator
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    class AlbXRayPropagator(AwsXRayPropagator):
        def extract(self, carrier, context=None, getter=None):
            from opentelemetry.propagators.textmap import default_getter

            getter = getter or default_getter
            extracted = super().extract(carrier, context, getter)
            from opentelemetry import trace

            if not trace.get_current_span(extracted).get_span_context().is_valid:
                values = getter.get(carrier, "X-Amzn-Trace-Id") or getter.get(
                    carrier, "x-amzn-trace-id")
                if values:
                    _incoming_root.set(parse_xray_root(values[0]))
            return extracted

    set_global_textmap(CompositePropagator([AlbXRayPropagator(),
                                            TraceContextTextMapPropagator()]))


# --- set-up ----------------------------------------------------------------------------------


def seed_sampler(rules: Sequence[Rule] | None = None, default: Rule | None = None):
    """The seed's sampler (``rules``/``default`` replace the seed's, for tests)."""
    return _sampler_class()(rules, default)


def setup_tracing(settings, *, service: str, exporter=None, simple: bool = False,
                  sampler=None) -> bool:
    """Install tracing when an OTLP endpoint is configured (or ``exporter`` is given).

    ``simple`` exports each span as it ends (tests); otherwise spans are batched.
    ``sampler`` replaces the seed's rules (tests).
    Returns whether tracing is on.
    """
    global _provider, _tracer, _botocore
    if exporter is None and not settings.observability.otlp_endpoint:
        return False
    shutdown_tracing()
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # The endpoint (and OTEL_EXPORTER_OTLP_* headers, timeouts) come from the environment
        # the exporter reads itself; /v1/traces is appended to the base endpoint.
        exporter = OTLPSpanExporter(
            endpoint=settings.observability.otlp_endpoint.rstrip("/") + "/v1/traces")
    name = settings.observability.service_name or f"openwan-{service}"
    provider = TracerProvider(
        resource=Resource.create({"service.name": name, "service.namespace": "openwan"}),
        sampler=sampler or seed_sampler(), id_generator=_id_generator())
    inner = SimpleSpanProcessor(exporter) if simple else BatchSpanProcessor(exporter)
    provider.add_span_processor(_processor_class()(inner))
    _provider = provider
    _tracer = provider.get_tracer("openwan")
    _propagator()
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

    _botocore = BotocoreInstrumentor()
    _botocore.instrument(tracer_provider=provider)
    from openwan import db

    for engine in list(db._engines.values()):
        instrument_engine(engine)
    log.info("tracing on: exporting to %s as %s",
             settings.observability.otlp_endpoint or type(exporter).__name__, name)
    return True


def shutdown_tracing() -> None:
    """Flush and remove everything ``setup_tracing`` installed."""
    global _provider, _tracer, _botocore
    if _provider is None:
        return
    if _botocore is not None:
        _botocore.uninstrument()
        _botocore = None
    for engine_tracer in _engine_tracers:
        engine_tracer.remove_all_event_listeners()
    _engine_tracers.clear()
    _provider.shutdown()
    _provider = _tracer = None


def instrument_app(app) -> None:
    """Trace the FastAPI app's requests (no-op when tracing is off)."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    # receive/send spans would add one span per body chunk of an upload: noise, and costly.
    FastAPIInstrumentor.instrument_app(app, tracer_provider=_provider,
                                       exclude_spans=["receive", "send"])


def instrument_engine(engine) -> None:
    """Trace one SQLAlchemy engine's queries (no-op when tracing is off)."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import get_meter

    counter = get_meter("openwan.db").create_up_down_counter("db.client.connections.usage")
    tracer = _provider.get_tracer("opentelemetry.instrumentation.sqlalchemy")
    _engine_tracers.append(EngineTracer(tracer, engine, counter))


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[Any]:
    """A span around a block (storage, queue, FFmpeg…); free when tracing is off."""
    if _tracer is None:
        yield None
        return
    with _tracer.start_as_current_span(name, attributes=attributes) as current:
        yield current


def current_xray_trace_id() -> str | None:
    if _provider is None:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format_xray(context.trace_id) if context.is_valid else None

