"""Runtime settings: every limit and knob of the service, read from ``BPP_*`` environment variables.

``create_app`` takes a :class:`Settings` object (tests build one) or else the cached
:func:`get_settings` from the environment, and keeps it in ``app.state.settings``; routes read
it through the ``SettingsDep`` dependency (app/api/deps.py). Limits exist so that one caller
cannot exhaust memory or CPU (RELIABILITY.md promises 7 and 13).
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Address
from pathlib import Path
from typing import Literal

from pydantic import Field, IPvAnyAddress, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All settings; the environment variable is ``BPP_`` + the upper-cased field name."""

    model_config = SettingsConfigDict(env_prefix="BPP_", extra="ignore")

    # --- storage -------------------------------------------------------------------------------
    data_dir: Path = Field(default=Path("./data"), description="Directory holding the SQLite file.")
    database_url: str | None = Field(
        default=None,
        pattern=r"^postgres(ql)?://",
        description=(
            "postgresql://user@host:port/db keeps sessions, history and checkpoints in"
            " PostgreSQL (app/core/pgstore.py, shared by web replicas); unset, the SQLite file"
            " in data_dir."
        ),
    )
    database_pool: int = Field(
        default=8, ge=2, le=200, description="PostgreSQL connections of one web process."
    )
    checkpoint_seconds: float = Field(
        default=2.0, gt=0, description="A running session is checkpointed at most this often."
    )
    commit_interval_ms: float = Field(
        default=15.0, ge=0, description="The writer gathers steps this long before one commit."
    )
    max_db_mb: float = Field(
        default=4096.0,
        ge=1,
        description=(
            "Size cap of the database file (MB): history of idle sessions is compacted as it"
            " nears it; over it, writes fail like on a full disk (507, runs pause)."
        ),
    )
    history_window_steps: int = Field(
        default=100_000,
        ge=1,
        description=(
            "Each session's most recent steps kept at full resolution (a resume by"
            " Last-Event-ID works within them); older steps are kept downsampled."
        ),
    )
    history_sparse_points: int = Field(
        default=2_000,
        ge=10,
        description="Loss points kept (besides every metrics row) for the downsampled part.",
    )

    replay_every: int = Field(
        default=200,
        ge=10,
        le=100_000,
        description=(
            "A keyframe (a checkpoint kept for replay) every this many steps: a scrub to any"
            " recorded step re-trains at most this many steps from the nearest one."
        ),
    )
    replay_mb: float = Field(
        default=1.0,
        ge=0.05,
        le=1024,
        description=(
            "Keyframe bytes kept per session (MB): past it the older half's keyframes thin to"
            " every 2nd, 4th, … (app/sessions/keyframes.py); idle sessions keep an eighth"
            " when the database nears max_db_mb."
        ),
    )

    # --- model and data limits ------------------------------------------------------------------
    max_hidden_layers: int = Field(default=8, ge=0)
    max_units: int = Field(default=256, ge=1)
    max_params: int = Field(default=100_000, ge=1)
    max_rows: int = Field(default=5_000, ge=1, description="Dataset rows (samples).")
    max_cols: int = Field(default=64, ge=1, description="Dataset columns (features).")
    max_upload_bytes: int = Field(default=2_000_000, ge=1024, description="Request body size.")
    max_steps_per_request: int = Field(default=10_000, ge=1)
    max_run_steps: int = Field(default=1_000_000, ge=1, description="Step budget of one run.")
    default_run_steps: int = Field(
        default=10_000, ge=1, description="Budget when a run names none."
    )
    max_grid: int = Field(default=61, ge=3, description="Landscape grid points per axis.")
    max_landscape_work: float = Field(
        default=4e10,
        gt=0,
        description=(
            "Landscape cost bound: grid points × rows of the split × parameters (4e10 is about"
            " two seconds here; the session waits meanwhile)."
        ),
    )
    max_resolution: int = Field(default=200, ge=2, description="Decision-surface resolution.")
    newton_max_params: int = Field(
        default=500,
        ge=1,
        description="Parameters of a net the newton optimizer takes (its Hessian is P × P).",
    )
    max_lbfgs_memory: int = Field(
        default=2_000_000,
        ge=1,
        description="Numbers the lbfgs optimizer keeps (2 × history_size × parameters), which"
        " every checkpoint and replay keyframe carries.",
    )
    max_gradcheck_params: int = Field(
        default=5_000, ge=1, description="Gradient check costs 2N passes."
    )
    max_noise_batches: int = Field(
        default=64, ge=1, description="Mini-batch gradients one gradient-noise request draws."
    )
    max_noise_work: float = Field(
        default=2e9,
        gt=0,
        description=(
            "Gradient-noise cost bound: (training rows + rows of the batches) × parameters"
            " (one forward and backward pass over that many rows; 2e9 is about a second)."
        ),
    )

    # --- quotas -------------------------------------------------------------------------------
    max_sessions_per_owner: int = Field(default=20, ge=1)
    max_race_runs: int = Field(default=6, ge=2, description="Runs in one race (2 at least).")
    max_races_per_owner: int = Field(default=5, ge=1)
    max_running_total: int = Field(default=200, ge=1)
    max_streams_per_session: int = Field(default=8, ge=1)
    max_streams_per_owner: int = Field(default=32, ge=1)
    # Server-wide quotas (promise 21): owners are free, so per-owner quotas alone limit nothing.
    # Defaults for the 2-core, 24 GB machine serving a classroom of 30+ learners, each with a
    # few sessions, a page stream and perhaps a script's stream.
    max_sessions_total: int = Field(
        default=2_000,
        ge=1,
        description=(
            "Sessions stored. A class of 30 at the per-owner cap makes 600; a digits-mlp"
            " checkpoint is ~0.3 MB, so 2,000 is ~0.6 GB of checkpoints (history is capped"
            " apart) and a few MB of listings in memory."
        ),
    )
    max_sessions_loaded: int = Field(
        default=500,
        ge=1,
        description=(
            "Sessions whose trainer is in memory (here or training in a worker). At the cap the"
            " least recently used one nobody runs or watches is unloaded first (its checkpoint"
            " kept); a 429 only when none can be. 500 covers every watched and running session"
            " at the stream and run caps (256 + 200) plus requests in flight, so those always"
            " find room; at a few MB a digits-mlp trainer, 1-3 GB of the 24."
        ),
    )
    max_streams_total: int = Field(
        default=256,
        ge=1,
        description=(
            "Open streams (/events and /page-events) in total. The sessions bench holds its"
            " targets with 100 clients of running sessions; a class of 30 needs ~90 (a page and"
            " a script each, a second tab), most of them on paused sessions that cost a ping."
        ),
    )
    max_streams_per_address: int = Field(
        default=64,
        ge=1,
        description=(
            "Open streams per client address: a class of 30 behind one NAT address with a page"
            " and a script stream each fits; one address takes at most a quarter of the total."
        ),
    )
    max_new_owners_per_address: int = Field(
        default=60,
        ge=1,
        description=(
            "New owners (creates and imports without a token) per client address per window:"
            " a class of 30 behind one NAT address opening the page at once, twice over."
        ),
    )
    new_owners_window_seconds: float = Field(
        default=60.0, gt=0, description="The sliding window of max_new_owners_per_address."
    )
    idle_seconds: float = Field(
        default=900.0,
        gt=0,
        description="A running session nobody watches or calls is paused after this.",
    )
    cull_interval_seconds: float = Field(default=10.0, gt=0)

    # --- compute -------------------------------------------------------------------------------
    workers: int = Field(
        default=2, ge=1, le=64, description="Training worker processes (started on first run)."
    )
    warm_workers: int = Field(
        default=1,
        ge=0,
        le=64,
        description="Workers started with the server, so the first run starts at once "
        "(starting the first one takes about half a second: it imports the engine).",
    )
    worker_nice: int = Field(
        default=10, ge=0, le=19, description="Niceness of the workers: requests come first."
    )
    slice_ms: float = Field(default=4.0, gt=0, description="Longest time slice of one session.")
    round_ms: float = Field(
        default=40.0, gt=0, description="Target time for one round over all runs."
    )
    metrics_interval_ms: float = Field(default=500.0, ge=0, description="Full-set metrics cadence.")

    # --- where trainers train (app/training/backends.py) --------------------------------------
    backend: Literal["local", "ray"] = Field(
        default="local",
        description="local: worker processes of this server (the settings above); ray: a Ray"
        " actor per running session, on the Ray cluster at ray_address.",
    )
    ray_address: str | None = Field(
        default=None, description="The Ray cluster's GCS address (host:port); needed for ray."
    )
    ray_namespace: str = Field(
        default="bpp",
        min_length=1,
        description="Ray namespace of the session actors (each named after its session, so any"
        " web replica finds it with ray.get_actor).",
    )
    ray_actor_cpus: float = Field(
        default=0.25,
        gt=0,
        le=64,
        description="CPUs Ray reserves for each running session's actor (placement: a 2-CPU"
        " node takes 8 running sessions at 0.25).",
    )
    ray_node_ip_address: IPvAnyAddress = Field(
        default=IPv4Address("127.0.0.1"),
        description="This host's address in the Ray cluster (loopback: the whole cluster on"
        " this machine).",
    )
    ray_idle_seconds: float = Field(
        default=30.0,
        ge=0,
        description="A session's actor is kept this long after its run ends (a run that"
        " resumes meanwhile starts at once), then ended, freeing its CPUs.",
    )

    # --- streaming -----------------------------------------------------------------------------
    ring_size: int = Field(default=1024, ge=16, description="Recent step records kept for replay.")
    ping_seconds: float = Field(default=10.0, gt=0, le=15, description="Comment ping interval.")
    retry_ms: int = Field(
        default=2000, ge=100, description="Base `retry:` sent to clients (+ jitter)."
    )
    stream_interval_ms: float = Field(
        default=25.0, ge=0, le=1000, description="Shortest gap between two step events."
    )
    fanout: str | None = Field(
        default=None,
        pattern=r"^(redis|rediss|unix)://",
        description=(
            "Where sessions' events fan out: unset, an in-process hub per session; a Redis URL"
            " (redis://host:port/db), Redis streams any web process can follow"
            " (app/streaming/redis_fanout.py)."
        ),
    )
    # --- web replicas (app/sessions/replicas.py): only with the store, fan-out and backend of a
    # cluster (PostgreSQL, Redis, Ray) together --------------------------------------------------
    lease_seconds: float = Field(
        default=3.0,
        ge=0.5,
        le=60,
        description="A web replica's hold on a session (a Redis key it renews every quarter of"
        " this): another replica takes a running session over this long after its holder died.",
    )
    replica_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="How the other web replicas reach this one (http://host:port): requests for"
        " a session this replica holds are forwarded here. Unset: http://<--host>:<--port>.",
    )
    default_fps: float = Field(default=10.0, ge=0, le=60)
    max_fps: float = Field(default=60.0, gt=0)

    # --- connections ---------------------------------------------------------------------------
    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A connection's request headers must arrive within this of the connection "
        "being made or the previous response (app/api/http.py), or it is closed.",
    )

    # --- browser -------------------------------------------------------------------------------
    cookie_name: str = "bpp_owner"
    cookie_secure: bool = False
    allowed_origins: list[str] = Field(
        default_factory=list, description="Extra origins allowed to send cookie requests."
    )

    @model_validator(mode="after")
    def _ray_needs_an_address(self) -> Settings:
        if self.backend == "ray" and not self.ray_address:
            raise ValueError("ray_address: BPP_RAY_ADDRESS must name the Ray cluster (host:port)")
        return self

    @property
    def replicas(self) -> bool:
        """Stateless web replicas (app/sessions/replicas.py): on with the cluster's store,
        fan-out and training backend together; the embedded default never pays for them."""
        return self.database_url is not None and bool(self.fanout) and self.backend == "ray"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "playground.sqlite3"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached: the environment is read once)."""
    return Settings()
