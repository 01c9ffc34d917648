"""Server settings: environment variables prefixed ROBOFLEET_, typed and validated at start."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from robofleet.contract import SCREENSHOT_MAX_BYTES

TEN_YEARS_SECONDS = 10 * 366 * 86400
"""The longest duration a setting takes: time arithmetic on longer ones overflows."""


PasswordHashing = Literal["rfc9106", "owasp"]
"""The argon2id profiles of runtime.security."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROBOFLEET_", extra="ignore", allow_inf_nan=False)

    host: str = Field("127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port of the HTTP server.")
    data_dir: Path = Field(
        Path(".robofleet"),
        description="Folder for the SQLite file, blobs and generated keys.",
    )
    database_url: str | None = Field(
        None,
        description=(
            "SQLAlchemy URL of the store. Empty: an SQLite file in the data directory. "
            "PostgreSQL: postgresql+psycopg://user@host/db."
        ),
    )
    workers: int = Field(1, ge=1, le=64, description="Server worker processes.")
    admin_password: str | None = Field(
        None,
        min_length=8,
        description="Password of the first `admin` user; generated and printed once if unset.",
    )
    api_key: str | None = Field(
        None,
        description="API key (a UUID) of the first account; generated and printed once if unset.",
    )
    secret_key: str | None = Field(
        None,
        min_length=64,
        description="Key that signs login tokens; generated into the data directory if unset.",
    )
    token_ttl_seconds: int = Field(
        8 * 3600, ge=60, le=TEN_YEARS_SECONDS, description="Lifetime of a login token (JWT)."
    )
    roboteasy_token_ttl_seconds: int = Field(
        2_592_000,
        ge=60,
        le=TEN_YEARS_SECONDS,
        description="Lifetime of a Roboteasy v2 token (30 days, as documented).",
    )
    max_body_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest accepted request body, uploads aside."
    )
    max_upload_bytes: int = Field(
        512 * 1024 * 1024, ge=1024, description="Largest accepted file upload."
    )
    sqlite_synchronous: Literal["full", "normal"] = Field(
        "full",
        description=(
            "SQLite durability: `full` syncs the WAL on every commit (no acknowledged write is "
            "lost on power failure); `normal` is faster and may lose the last commits then."
        ),
    )
    db_pool_size: int = Field(10, ge=1, le=200, description="PostgreSQL connections per worker.")
    fast_path: bool = Field(
        True,
        description="Answer the robot path's hot operations (heartbeat, job take and update, "
        "task take/finish/renew/create, log batch, resource read) in a lean front before "
        "FastAPI; false sends every request through FastAPI's router.",
    )
    fast_path_threads: int = Field(
        4, ge=1, le=64, description="Threads the lean front runs blocking service calls on."
    )
    opentelemetry: bool = Field(
        False,
        description="Let FastAPI emit OpenTelemetry spans, metrics and logs through the "
        "providers the process configures (opentelemetry-instrument, or the SDK). Off, each "
        "request skips FastAPI's check for configured providers; Prometheus `/metrics` is "
        "not affected.",
    )
    keep_alive_seconds: float = Field(
        75.0,
        gt=0,
        le=3600,
        description="How long an idle keep-alive connection stays open (longer than the "
        "robots' call interval, so a robot's calls share one connection; load balancers "
        "commonly hold theirs 60 s, so this outlives them).",
    )
    robot_timeout_seconds: float = Field(
        60.0,
        gt=0,
        le=TEN_YEARS_SECONDS,
        description="A robot silent this long becomes Disconnected.",
    )
    unknown_job_grace_seconds: float = Field(
        3600.0,
        gt=0,
        le=TEN_YEARS_SECONDS,
        description="A job Unknown this long (its robot silent) becomes Failed.",
    )
    scheduler_interval_seconds: float = Field(
        1.0, gt=0, le=60, description="How often the scheduler leader looks for due work."
    )
    scheduler_enabled: bool = Field(True, description="Run the scheduler in this process.")
    mail_check_interval_minutes: float = Field(
        10.0,
        gt=0,
        le=1440,
        description=(
            "How often an e-mail trigger reads its mailbox when its condition names no "
            "interval (`check_minutes`); fractions are allowed."
        ),
    )
    mail_check_timeout_seconds: float = Field(
        10.0, gt=0, le=600, description="Timeout of each network operation of a mailbox check."
    )
    mail_check_workers: int = Field(
        4, ge=1, le=64, description="Mailboxes the scheduler leader reads at the same time."
    )
    mail_ca_file: Path | None = Field(
        None,
        description=(
            "Extra CA certificates (PEM) to trust for mail servers over SSL, beside the "
            "system's, e.g. an in-house CA or a self-signed server certificate."
        ),
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Storage (files and the blob store every upload goes to).
    blob_store: Literal["local", "s3"] = Field(
        "local",
        description=(
            "Where blobs (files, packages) are kept: `local` (a folder in the data directory) "
            "or `s3` (S3-compatible object storage; needs the `s3` extra)."
        ),
    )
    s3_endpoint: str | None = Field(
        None, description="S3 endpoint URL (empty: AWS's own for the region)."
    )
    s3_bucket: str | None = Field(
        None, description="S3 bucket; created at start if it does not exist."
    )
    s3_region: str = Field("us-east-1", min_length=1, description="S3 region.")
    s3_access_key_id: str | None = Field(
        None, description="S3 access key id (empty: boto3's own credential chain)."
    )
    s3_secret_access_key: SecretStr | None = Field(None, description="S3 secret access key.")
    s3_prefix: str = Field("", description="Key prefix of every blob in the bucket.")
    storage_max_upload_bytes: int = Field(
        10 * 1024**3, ge=1024, description="Largest file accepted by the Storage tab (10 GiB)."
    )
    # --- Robocorp robots (the /robocorp API) ---
    public_url: str | None = Field(
        None,
        description="The server's address as robots reach it (https://host:port, behind a "
        "proxy); the base of the signed URLs the /robocorp API hands out. Empty: the "
        "request's own base URL.",
    )
    robocorp_token_grace_seconds: int = Field(
        300,
        ge=0,
        description="How long a Robocorp job token stays valid after its job ends (the robot "
        "may still release items or upload as it finishes).",
    )
    # --- Log tab (robot messages) ---
    store_logs_days: int = Field(
        180,
        ge=0,
        le=36600,
        description="Robot log lines older than this many days are deleted (0 = kept forever).",
    )
    store_audit_days: int = Field(
        180,
        ge=0,
        le=36600,
        description="Audit entries older than this many days are deleted (0 = kept forever).",
    )
    log_lines_per_second_per_robot: float = Field(
        1000.0,
        ge=0,
        le=1_000_000,
        description=(
            "Log lines a robot may write per second, per server process (0 = no limit); "
            "over it the write is refused whole with 429 and Retry-After."
        ),
    )
    log_burst_lines_per_robot: int = Field(
        10_000,
        ge=1,
        le=10_000_000,
        description="Log lines a robot may write at once before the per-second limit applies.",
    )
    log_screenshot_max_bytes: int = Field(
        SCREENSHOT_MAX_BYTES,
        ge=1024,
        le=1024 * 1024 * 1024,
        description="Largest screenshot a log line may carry (PNG, JPEG, GIF, WebP or BMP).",
    )
    log_tail_keepalive_seconds: float = Field(
        15.0, gt=0, le=300, description="A live tail sends a keep-alive comment this often."
    )
    # --- Sign-in (the API's login and the web application) ---
    password_hashing: PasswordHashing = Field(
        "rfc9106",
        description="How new passwords are hashed (argon2id): `rfc9106`, 3 passes over 64 MiB "
        "(about 0.2 s of CPU per hash or sign-in), or `owasp`, OWASP's minimum of 2 passes "
        "over 19 MiB (a seventh of that), for small machines. Existing hashes keep working "
        "either way.",
    )
    login_max_failures: int = Field(
        5,
        ge=1,
        le=1000,
        description="Failed logins for one login name from one address before further "
        "attempts are refused (429) for the rest of the window.",
    )
    login_max_failures_per_address: int = Field(
        20,
        ge=1,
        le=100_000,
        description="Failed logins from one address, whatever the name, before it is refused.",
    )
    login_failure_window_seconds: int = Field(
        900, ge=1, le=86400, description="How far back failed logins are counted."
    )
    web_idle_timeout_minutes: float = Field(
        30, gt=0, le=7 * 24 * 60, description="A web session ends after this long unused."
    )
    web_secure_cookies: bool | None = Field(
        None,
        description="Mark the web session cookie Secure. Empty: when the request came over "
        "HTTPS (directly or as the proxy's X-Forwarded-Proto says) or public_url is https.",
    )
    # --- Metrics (/metrics, docs/metrics.md) ---
    metrics_enabled: bool = Field(
        True, description="Serve Prometheus metrics at /metrics and count requests for them."
    )
    metrics_token: SecretStr | None = Field(
        None,
        description=(
            "When set, /metrics answers only requests with `Authorization: Bearer <token>`. "
            "The metrics name accounts, queues and processes."
        ),
    )

    @field_validator("api_key")
    @classmethod
    def _api_key_is_uuid(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise ValueError(
                "must be a UUID such as 3f2a8c1e-5b7d-4e9f-a1c2-0d3e4f5a6b7c"
            ) from None

    @field_validator("metrics_token")
    @classmethod
    def _empty_token_is_none(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value().strip() else None

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be an sqlite:/// or postgresql+psycopg:// SQLAlchemy URL")
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @model_validator(mode="after")
    def _workers_need_postgres(self) -> Settings:
        if self.workers > 1 and not (self.database_url or "").startswith("postgresql"):
            raise ValueError(
                "ROBOFLEET_WORKERS above 1 needs PostgreSQL "
                "(ROBOFLEET_DATABASE_URL): SQLite serves one process"
            )
        return self

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> Settings:
        if self.blob_store == "s3" and not self.s3_bucket:
            raise ValueError("ROBOFLEET_BLOB_STORE=s3 needs ROBOFLEET_S3_BUCKET")
        return self

    @property
    def spool_dir(self) -> Path:
        """Uploads are spooled here before they are kept, whichever the blob store."""
        return self.blob_dir / ".spool" if self.blob_store == "s3" else self.blob_dir

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'robofleet.db').resolve()}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"


_SECRET_VARIABLES = {
    "ROBOFLEET_ADMIN_PASSWORD",
    "ROBOFLEET_SECRET_KEY",
    "ROBOFLEET_API_KEY",
    "ROBOFLEET_S3_SECRET_ACCESS_KEY",
    "ROBOFLEET_METRICS_TOKEN",
}


class SettingsError(Exception):
    """Settings that failed validation, rendered one line per bad variable."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            if not error["loc"]:
                lines.append(str(error["msg"]).removeprefix("Value error, "))
                continue
            name = "ROBOFLEET_" + "_".join(str(part) for part in error["loc"]).upper()
            shown = "hidden" if name in _SECRET_VARIABLES else repr(error.get("input"))
            lines.append(f"{name}: {error['msg']} (got {shown})")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(lines)) from None
