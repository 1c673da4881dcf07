"""Typed settings: the one place that reads the environment.

Embedded defaults need nothing set. The seed's own names (``DB_HOST``, ``S3_BUCKET``,
``JWT_SECRET``…) are honoured beside the project's ``OPENWAN_*`` names.
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import quote_plus

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDERS = {"", "changeme", "change-me", "password", "secret", "placeholder", "xxx", "todo"}


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


def _group(prefix: str = "") -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, extra="ignore", populate_by_name=True)


class DatabaseSettings(BaseSettings):
    model_config = _group()

    url: str | None = Field(None, validation_alias="OPENWAN_DATABASE_URL")
    replica_url: str | None = Field(None, validation_alias="OPENWAN_DATABASE_REPLICA_URL")
    host: str | None = Field(None, validation_alias="DB_HOST")
    port: int = Field(3306, validation_alias="DB_PORT")
    name: str = Field("openwan", validation_alias="DB_NAME")
    user: str = Field("openwan", validation_alias="DB_USER")
    password: SecretStr | None = Field(None, validation_alias="DB_PASSWORD")
    password_secret_arn: str | None = Field(None, validation_alias="DB_PASSWORD_SECRET_ARN")
    # The seed's RDS allows 500 connections across every task: size per process (the
    # arithmetic is in openwan/db.py).
    pool_size: int = Field(10, validation_alias="OPENWAN_DB_POOL_SIZE")
    max_overflow: int = Field(5, validation_alias="OPENWAN_DB_MAX_OVERFLOW")
    echo: bool = Field(False, validation_alias="OPENWAN_DB_ECHO")
    # Seconds to wait for a connection: a dead database fails a request fast, not after minutes.
    connect_timeout: int = Field(5, validation_alias="OPENWAN_DB_CONNECT_TIMEOUT")
    pool_timeout: int = Field(10, validation_alias="OPENWAN_DB_POOL_TIMEOUT")
    # TLS to a server database, the server's certificate verified (chain and host name)
    # against OPENWAN_DB_TLS_CA (RDS: the region's global-bundle.pem) or the system's CAs.
    tls: bool = Field(False, validation_alias="OPENWAN_DB_TLS")
    tls_ca: Path | None = Field(None, validation_alias="OPENWAN_DB_TLS_CA")
    # Queries slower than this (milliseconds) are logged as operation="database.query".
    slow_query_ms: float = Field(500.0, validation_alias="OPENWAN_SLOW_QUERY_MS")

    def resolved_url(self, data_dir: Path) -> str:
        if self.url:
            return self.url
        if self.host:
            password = quote_plus(self.password.get_secret_value()) if self.password else ""
            return (
                f"mysql+pymysql://{quote_plus(self.user)}:{password}@{self.host}:{self.port}/"
                f"{self.name}?charset=utf8mb4"
            )
        return f"sqlite:///{data_dir / 'openwan.db'}"  # data_dir is absolute already


class StorageSettings(BaseSettings):
    model_config = _group()

    url: str | None = Field(None, validation_alias="OPENWAN_STORAGE_URL")
    bucket: str | None = Field(None, validation_alias="S3_BUCKET")
    # "AES256" or "aws:kms" (with kms_key_id); empty leaves the bucket default in charge.
    sse: str | None = Field(None, validation_alias="OPENWAN_S3_SSE")
    kms_key_id: str | None = Field(None, validation_alias="OPENWAN_S3_KMS_KEY_ID")
    part_size: int = Field(16 * 1024 * 1024, validation_alias="OPENWAN_S3_PART_SIZE")
    presign_seconds: int = Field(300, validation_alias="OPENWAN_PRESIGN_SECONDS")

    def resolved_url(self, data_dir: Path) -> str:
        if self.url:
            return self.url
        if self.bucket:
            return f"s3://{self.bucket}"
        return (data_dir / "storage").as_uri()


class QueueSettings(BaseSettings):
    model_config = _group()

    url: str | None = Field(
        None, validation_alias=AliasChoices("OPENWAN_QUEUE_URL", "SQS_QUEUE_URL")
    )
    dlq_url: str | None = Field(None, validation_alias="OPENWAN_DLQ_URL")
    max_receive_count: int = Field(3, validation_alias="OPENWAN_QUEUE_MAX_RECEIVES")
    # Short, and extended every third of it by the heartbeat of the worker running the job:
    # the message of a worker killed mid-job is received again within this many seconds.
    visibility_timeout: int = Field(30, ge=1, le=43200,
                                    validation_alias="OPENWAN_QUEUE_VISIBILITY")
    wait_seconds: int = Field(20, validation_alias="OPENWAN_QUEUE_WAIT")
    # The reconciler re-sends jobs past their deadline: queued ones after ``stale_seconds``
    # (a lost message), running ones when their worker stopped its heartbeat.
    reconcile_seconds: int = Field(60, validation_alias="OPENWAN_RECONCILE_SECONDS")
    stale_seconds: int = Field(6 * 3600, validation_alias="OPENWAN_JOB_STALE_SECONDS")
    # A failed attempt is retried after retry_seconds, doubling each time.
    retry_seconds: int = Field(30, validation_alias="OPENWAN_JOB_RETRY_SECONDS")


class MediaSettings(BaseSettings):
    model_config = _group()

    ffmpeg: str = Field("ffmpeg", validation_alias="OPENWAN_FFMPEG")
    ffprobe: str = Field("ffprobe", validation_alias="OPENWAN_FFPROBE")
    # 0: from the CPUs available to the process (cgroup quota aware, see openwan.kit.cpus):
    # one job per two CPUs, the CPUs shared among the jobs as FFmpeg threads.
    threads: int = Field(0, ge=0, validation_alias="FFMPEG_THREADS")
    concurrency: int = Field(0, ge=0, validation_alias="OPENWAN_WORKER_CONCURRENCY")
    timeout_seconds: int = Field(3 * 3600, validation_alias="OPENWAN_FFMPEG_TIMEOUT")
    # SIGTERM: stop taking jobs, give the current one this long, then hand it back.
    shutdown_seconds: int = Field(25, validation_alias="OPENWAN_WORKER_SHUTDOWN_SECONDS")
    nice: int = Field(10, validation_alias="OPENWAN_FFMPEG_NICE")
    hls: bool = Field(False, validation_alias="OPENWAN_HLS")
    flv: bool = Field(False, validation_alias="OPENWAN_LEGACY_FLV")
    libreoffice: str = Field("soffice", validation_alias="OPENWAN_LIBREOFFICE")
    pdftoppm: str = Field("pdftoppm", validation_alias="OPENWAN_PDFTOPPM")
    max_image_pixels: int = Field(89_478_485, validation_alias="OPENWAN_MAX_IMAGE_PIXELS")
    # Rendition URLs (presigned on S3, signed by us on local storage) stay valid this long,
    # so a long video keeps playing.
    url_seconds: int = Field(4 * 3600, validation_alias="OPENWAN_MEDIA_URL_SECONDS")
    # `openwan worker` rewrites this file while all its threads go round; `openwan worker
    # --check` (the container health check) fails once it is older than health_seconds.
    # Default: worker.health in the data dir.
    health_file: Path | None = Field(None, validation_alias="OPENWAN_WORKER_HEALTH_FILE")
    health_seconds: int = Field(60, ge=5, validation_alias="OPENWAN_WORKER_HEALTH_SECONDS")
    # On S3, FFmpeg reads video and audio originals through short-lived presigned URLs (no
    # local copy: a 50 GiB master needs no disk); off, the worker downloads them first.
    read_originals_by_url: bool = Field(True, validation_alias="OPENWAN_MEDIA_READ_BY_URL")

    @model_validator(mode="after")
    def _from_cpus(self) -> MediaSettings:
        if not self.concurrency or not self.threads:
            from openwan.kit.cpus import available_cpus, ffmpeg_threads, worker_concurrency

            cpus = available_cpus()
            self.concurrency = self.concurrency or worker_concurrency(cpus)
            self.threads = self.threads or ffmpeg_threads(cpus, self.concurrency)
        return self


class AuthSettings(BaseSettings):
    model_config = _group()

    jwt_secret: SecretStr | None = Field(None, validation_alias="JWT_SECRET")
    jwt_secret_arn: str | None = Field(None, validation_alias="JWT_SECRET_ARN")
    # Older secrets still accepted for verification while a rotation settles: "kid:secret,…".
    jwt_previous: SecretStr | None = Field(None, validation_alias="OPENWAN_JWT_PREVIOUS_SECRETS")
    access_minutes: int = Field(15, validation_alias="OPENWAN_ACCESS_TOKEN_MINUTES")
    refresh_days: int = Field(14, validation_alias="OPENWAN_REFRESH_TOKEN_DAYS")
    admin_password: SecretStr | None = Field(None, validation_alias="OPENWAN_ADMIN_PASSWORD")
    admin_password_secret_arn: str | None = Field(
        None, validation_alias="OPENWAN_ADMIN_PASSWORD_SECRET_ARN")
    # Sign-in throttling (openwan.access.throttle): free failures per (account, client
    # address) and per address within the window, then a wait from the latest failure that
    # starts at the backoff and doubles with each failure. Never a lock on the account.
    login_max_failures: int = Field(5, validation_alias="OPENWAN_LOGIN_MAX_FAILURES")
    login_ip_max_failures: int = Field(50, validation_alias="OPENWAN_LOGIN_IP_MAX_FAILURES")
    login_window_seconds: int = Field(900, validation_alias="OPENWAN_LOGIN_WINDOW_SECONDS")
    login_backoff_seconds: int = Field(30, ge=1, validation_alias="OPENWAN_LOGIN_BACKOFF_SECONDS")


class UploadSettings(BaseSettings):
    model_config = _group()

    max_size: int = Field(50 * 1024**3, validation_alias="OPENWAN_MAX_UPLOAD_SIZE")
    tus_expiry_seconds: int = Field(7 * 24 * 3600, validation_alias="OPENWAN_TUS_EXPIRY")
    tus_max_chunk: int = Field(256 * 1024 * 1024, validation_alias="OPENWAN_TUS_MAX_CHUNK")
    # A tus PATCH is answered once its bytes are in the file and the row records them: they
    # survive a crash of the process. With this, also once the disk holds them (fdatasync per
    # PATCH): they survive a power cut too, at about 0.8 s per GiB on a local SSD.
    tus_fsync: bool = Field(False, validation_alias="OPENWAN_TUS_FSYNC")


class RedisSettings(BaseSettings):
    model_config = _group()

    url: str | None = Field(None, validation_alias="OPENWAN_REDIS_URL")
    host: str | None = Field(None, validation_alias="REDIS_HOST")
    port: int = Field(6379, validation_alias="REDIS_PORT")
    tls: bool = Field(False, validation_alias="OPENWAN_REDIS_TLS")
    auth_token: SecretStr | None = Field(None, validation_alias="OPENWAN_REDIS_AUTH_TOKEN")
    auth_token_secret_arn: str | None = Field(
        None, validation_alias="OPENWAN_REDIS_AUTH_TOKEN_SECRET_ARN")
    # ElastiCache with cluster mode enabled (the seed's 3 shards) needs the cluster client:
    # "auto" uses it for a configuration endpoint ("clustercfg." in the host name, TLS or not)
    # or a server that says it runs a cluster; "true" and "false" decide without asking.
    cluster: Literal["auto", "true", "false"] = Field(
        "auto", validation_alias="OPENWAN_REDIS_CLUSTER")
    # Short: a cache that answers late is worse than none.
    socket_timeout: float = Field(0.25, validation_alias="OPENWAN_REDIS_TIMEOUT")
    # After a failure, Redis is left alone for this long (the circuit breaker's open state).
    retry_after_seconds: float = Field(5.0, validation_alias="OPENWAN_REDIS_RETRY_AFTER")
    cache_ttl_seconds: int = Field(300, validation_alias="OPENWAN_CACHE_TTL")

    @field_validator("cluster", mode="before")
    @classmethod
    def _tri_state(cls, value: object) -> object:
        text = str(value).strip().lower()
        if text in ("1", "yes", "on", "true"):
            return "true"
        if text in ("0", "no", "off", "false"):
            return "false"
        return text or "auto"

    def resolved_url(self) -> str | None:
        if self.url:
            return self.url
        if self.host:
            scheme = "rediss" if self.tls else "redis"
            auth = f":{quote_plus(self.auth_token.get_secret_value())}@" if self.auth_token else ""
            return f"{scheme}://{auth}{self.host}:{self.port}/0"
        return None


class HttpSettings(BaseSettings):
    """The edge: rate limits, proxies, CORS, body sizes (production behaviour)."""

    model_config = _group()

    # How many proxies in front of us append to X-Forwarded-For (CloudFront + ALB: 2). The
    # default trusts none: without a proxy, the header is the client's to forge.
    trusted_proxy_hops: int = Field(0, ge=0, validation_alias="OPENWAN_TRUSTED_PROXY_HOPS")
    # When set, forwarded headers are believed only on requests carrying X-OpenWan-Origin
    # with this value (CloudFront adds it; a request reaching the ALB directly lacks it).
    origin_secret: SecretStr | None = Field(None, validation_alias="OPENWAN_ORIGIN_SECRET")
    origin_secret_arn: str | None = Field(None, validation_alias="OPENWAN_ORIGIN_SECRET_ARN")
    # The seed's WAF rule: 2,000 requests per 5 minutes per client IP. 0 turns limiting off.
    rate_limit: int = Field(2000, validation_alias="OPENWAN_RATE_LIMIT")
    rate_window_seconds: int = Field(300, validation_alias="OPENWAN_RATE_WINDOW")
    login_rate_limit: int = Field(20, validation_alias="OPENWAN_LOGIN_RATE_LIMIT")
    login_rate_window_seconds: int = Field(300, validation_alias="OPENWAN_LOGIN_RATE_WINDOW")
    # Comma-separated origins allowed by CORS, e.g. "https://openwan.example.com"; empty: none.
    cors_origins: str = Field("", validation_alias="OPENWAN_CORS_ORIGINS")
    # JSON and form bodies; uploads (multipart, tus) have their own limits.
    max_json_bytes: int = Field(1024 * 1024, validation_alias="OPENWAN_MAX_JSON_BYTES")
    keep_alive_seconds: int = Field(75, validation_alias="OPENWAN_KEEP_ALIVE")
    # Threads for sync routes. More than requests in flight: a sync route holds its database
    # connection across two threadpool steps (its work, then the response's serialisation),
    # so with fewer threads than requests waiting on a full pool, the holders would wait for
    # threads held by the waiters until the pool times out. Idle threads cost nothing; the
    # pool still bounds the connections.
    threads: int = Field(256, ge=8, validation_alias="OPENWAN_HTTP_THREADS")
    graceful_shutdown_seconds: int = Field(30, validation_alias="OPENWAN_SHUTDOWN_SECONDS")
    # `openwan serve` processes sharing the port; 0: one per CPU available to the process
    # (cgroup quota aware) with S3 storage, one with local storage (see Settings). `openwan
    # up` always runs one.
    processes: int = Field(0, ge=0, le=64, validation_alias="OPENWAN_WEB_PROCESSES")

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]


class ObservabilitySettings(BaseSettings):
    model_config = _group()

    service_name: str | None = Field(None, validation_alias="OTEL_SERVICE_NAME")
    # The ADOT collector sidecar in ECS; unset leaves tracing off (and costs nothing).
    otlp_endpoint: str | None = Field(None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT")
    # "json" (one object per line: what awslogs ships to CloudWatch) or "text" for terminals.
    log_format: str = Field("json", validation_alias="OPENWAN_LOG_FORMAT")
    access_log: bool = Field(True, validation_alias="OPENWAN_ACCESS_LOG")
    # CloudWatch Embedded Metric Format lines in the log (FileUploadCount…).
    emf: bool = Field(True, validation_alias="OPENWAN_CLOUDWATCH_EMF")
    health_timeout_seconds: float = Field(2.0, validation_alias="OPENWAN_HEALTH_TIMEOUT")


class CatalogSettings(BaseSettings):
    model_config = _group()

    # Search ranks, counts and facets at most this many matches (see openwan.search.service).
    search_window: int = Field(1000, ge=100, le=100_000, validation_alias="OPENWAN_SEARCH_WINDOW")
    # Searches the result cache cannot answer run at most this many at once per process; the
    # others wait their turn, first come first served.
    search_concurrency: int = Field(4, ge=1, le=256,
                                    validation_alias="OPENWAN_SEARCH_CONCURRENCY")
    # Deleted assets stay restorable this long; `openwan purge` (and upkeep) then remove them.
    recycle_days: int = Field(30, ge=0, validation_alias="OPENWAN_RECYCLE_DAYS")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    env: Environment = Field(Environment.development, validation_alias="OPENWAN_ENV")
    data_dir: Path = Field(Path("var"), validation_alias="OPENWAN_DATA_DIR")
    log_level: str = Field("INFO", validation_alias="OPENWAN_LOG_LEVEL")
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    media: MediaSettings = Field(default_factory=MediaSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    upload: UploadSettings = Field(default_factory=UploadSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    catalog: CatalogSettings = Field(default_factory=CatalogSettings)

    @model_validator(mode="after")
    def _absolute_data_dir(self) -> Settings:
        self.data_dir = self.data_dir.expanduser().resolve()
        return self

    @model_validator(mode="after")
    def _web_processes(self) -> Settings:
        # On a local data dir a process holds a tus upload's file open between its PATCHes,
        # so a PATCH reaching a sibling process would wait for it (409 for up to 5 s): one
        # process unless told otherwise. S3 stages every PATCH as its own part.
        if not self.http.processes:
            from openwan.kit.cpus import available_cpus, web_processes

            local = self.storage_url.startswith("file:")
            self.http.processes = 1 if local else web_processes(available_cpus())
        return self

    @property
    def database_url(self) -> str:
        return self.db.resolved_url(self.data_dir)

    @property
    def storage_url(self) -> str:
        return self.storage.resolved_url(self.data_dir)

    @property
    def uploads_dir(self) -> Path:
        """Where partial (tus) uploads wait for their last byte."""
        return self.data_dir / "uploads"

    @cached_property
    def jwt_secret(self) -> str:
        if self.auth.jwt_secret is not None:
            return self.auth.jwt_secret.get_secret_value()
        # Development only (``check`` refuses this elsewhere): a random secret kept in the
        # data dir so tokens survive a restart of ``openwan up``.
        path = self.data_dir / "jwt-secret"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        path.write_text(value)
        path.chmod(0o600)
        return value

    def check(self) -> None:
        """Refuse to start in production with a missing or placeholder secret.

        ``development`` (``openwan up``) and ``test`` generate or accept local secrets.
        """
        if self.env is not Environment.production:
            return
        problems = []
        secret = self.auth.jwt_secret.get_secret_value() if self.auth.jwt_secret else ""
        if secret.lower() in PLACEHOLDERS or len(secret) < 32:
            problems.append("JWT_SECRET is missing, a placeholder or shorter than 32 characters")
        url = self.database_url
        if not url.startswith("sqlite"):
            if self.db.url is None:
                password = self.db.password.get_secret_value() if self.db.password else ""
            else:
                from sqlalchemy.engine import make_url

                password = make_url(url).password or ""
            if password.lower() in PLACEHOLDERS:
                problems.append("DB_PASSWORD (the database password) is missing or a placeholder")
        if problems:
            raise SettingsError("; ".join(problems))


class SettingsError(RuntimeError):
    """The configuration cannot be used; the message says which setting."""


_settings: Settings | None = None


def get_settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = Settings()
    return _settings


def set_settings(settings: Settings | None) -> None:
    """Replace the process-wide settings (the CLI's flags and the tests use this)."""
    global _settings
    _settings = settings
