"""Plumbing shared by run.py and cursor_depth.py: tools, PostgreSQL, the bench venv,
the generated service, uvicorn servers, CPU pinning, the load generator, py-spy.

Standard library only: the orchestrator runs on any Python 3.11; everything that
needs third-party packages runs inside the bench venv, in its own process.
Every step fails with a `BenchError` that says what is missing, never a hang:
each subprocess and each wait has a timeout.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
APPS_DIR = HERE / "apps"
LUA_SCRIPT = HERE / "wrk" / "bench.lua"
LOADGEN = HERE / "loadgen.py"
DEFAULT_VENV = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "apiforge-bench" / "venv"
)

# What the comparison apps and the tooling need besides the generated service.
BENCH_PACKAGES = ["fastapi-views", "fastcrud", "asyncpg", "orjson", "uvicorn[standard]"]
BOOK_COLUMNS = {
    "id",
    "title",
    "isbn",
    "price",
    "genre",
    "published_year",
    "tags",
    "in_stock",
    "author_id",
    "summary",
    "created_at",
    "updated_at",
}


class BenchError(Exception):
    """A step failed; the message says which and why."""


def say(message: str = "") -> None:
    print(message, flush=True)


def step(message: str) -> None:
    say(f"==> {message}")


def warn(message: str) -> None:
    say(f"warning: {message}")


def tail(text: str | bytes | None, lines: int = 25) -> str:
    if not text:
        return ""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    what: str,
    timeout: float,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; a non-zero exit or a timeout is a BenchError."""
    try:
        result = subprocess.run(
            [str(c) for c in cmd],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=cwd,
            input=input,
        )
    except FileNotFoundError:
        raise BenchError(f"{what}: command not found: {cmd[0]}") from None
    except subprocess.TimeoutExpired as error:
        raise BenchError(
            f"{what}: no answer after {timeout:.0f} s.\n{tail(error.stdout)}\n{tail(error.stderr)}"
        ) from None
    if result.returncode != 0:
        raise BenchError(
            f"{what} failed (exit {result.returncode}):\n"
            f"{tail(result.stdout)}\n{tail(result.stderr)}"
        )
    return result


# --- machine -------------------------------------------------------------------------


@dataclass
class Cores:
    app: int | None
    load: int | None

    @property
    def pinned(self) -> bool:
        return self.app is not None

    def prefix(self, which: str) -> list[str]:
        core = self.app if which == "app" else self.load
        return [] if core is None else ["taskset", "-c", str(core)]


def choose_cores() -> Cores:
    """App on the first allowed core, load generator (and PostgreSQL backends) on the second."""
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        warn("fewer than 2 cores: nothing is pinned, load and app share the CPU")
        return Cores(None, None)
    if shutil.which("taskset") is None:
        raise BenchError("taskset is missing (Debian: apt-get install -y util-linux)")
    return Cores(allowed[0], allowed[1])


def pin_self(cores: Cores) -> None:
    """The orchestrator (and the processes it starts, unless re-pinned) stays off the app core."""
    if cores.load is not None:
        os.sched_setaffinity(0, {cores.load})


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# --- PostgreSQL ------------------------------------------------------------------------


@dataclass
class Postgres:
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"

    def url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://{self.user}@{self.host}:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres", *, timeout: float = 60) -> str:
        """Run SQL through psql (no Python driver needed here); tuples-only output."""
        return run(
            [
                "psql",
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                database,
            ],
            what=f"psql on {database}",
            timeout=timeout,
            input=sql,
            env={**os.environ, "PGCONNECT_TIMEOUT": "5"},
        ).stdout.strip()

    def check(self) -> str:
        if shutil.which("psql") is None:
            raise BenchError("psql is missing (Debian: apt-get install -y postgresql-client)")
        try:
            return self.psql("SELECT version();", timeout=15)
        except BenchError as error:
            raise BenchError(
                f"PostgreSQL is not reachable at {self.user}@{self.host}:{self.port} "
                f"(trust auth expected):\n{error}"
            ) from None

    def recreate(self, database: str) -> None:
        self.drop(database)
        self.psql(f'CREATE DATABASE "{database}";')

    def drop(self, database: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE);', timeout=60)

    def sessions(self, database: str) -> int:
        """Connections ever opened to `database` (pg_stat_database.sessions, PostgreSQL 14+)."""
        out = self.psql(
            f"SELECT sessions FROM pg_stat_database WHERE datname = '{database}';", database
        )
        return int(out) if out.isdigit() else -1

    def free_connections(self) -> int:
        out = self.psql(
            "SELECT current_setting('max_connections')::int - count(*) FROM pg_stat_activity;"
        )
        return int(out)


def detect_tags_kind(pg: Postgres, database: str) -> str:
    """json, jsonb or array: what the generated migration made of `list[str]`."""
    rows = pg.psql(
        "SELECT column_name || ':' || udt_name FROM information_schema.columns "
        "WHERE table_name = 'books' AND table_schema = current_schema();",
        database,
    ).splitlines()
    columns = dict(row.split(":", 1) for row in rows if row)
    missing = BOOK_COLUMNS - columns.keys()
    if missing:
        raise BenchError(
            f"the generated migration's books table lacks {sorted(missing)}; "
            f"it has {sorted(columns)}. The benchmark apps expect the bookstore.yaml columns."
        )
    udt = columns["tags"]
    if udt in {"json", "jsonb"}:
        return udt
    if udt in {"_varchar", "_text"}:
        return "array"
    raise BenchError(f"books.tags has an unexpected type {udt!r} (want json, jsonb or an array)")


def seed_sql(books: int, authors: int, tags_kind: str) -> str:
    """Deterministic rows from generate_series: one INSERT ... SELECT per table."""
    if tags_kind == "array":
        tags = "ARRAY['tag' || (g % 10), 'tag' || (g % 7)]"
    else:
        tags = f"('[\"tag' || (g % 10) || '\",\"tag' || (g % 7) || '\"]')::{tags_kind}"
    return f"""
SELECT setseed(0.42);
INSERT INTO authors (id, name, email, bio, created_at, updated_at)
SELECT g, 'Author ' || g, 'author' || g || '@example.com', 'Writes books. Author number ' || g,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute',
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute'
FROM generate_series(1, {authors}) AS g;
INSERT INTO books (id, title, isbn, price, genre, published_year, tags, in_stock,
                   author_id, summary, created_at, updated_at)
SELECT g,
       'Book ' || g || ' ' || substr(md5(g::text), 1, 12),
       '978' || lpad(g::text, 10, '0'),
       round((1 + random() * 199)::numeric, 2),
       (ARRAY['fiction', 'science', 'programming'])[1 + (g % 3)],
       1950 + (g % 75),
       {tags},
       (g % 5) <> 0,
       1 + (g % {authors}),
       'A summary of book ' || g || '. ' || repeat('Lorem ipsum dolor sit amet. ', 4),
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second'
FROM generate_series(1, {books}) AS g;
SELECT setval(pg_get_serial_sequence('authors', 'id'), {authors});
SELECT setval(pg_get_serial_sequence('books', 'id'), {books});
"""


def seed(pg: Postgres, database: str, books: int, authors: int, tags_kind: str) -> float:
    started = time.perf_counter()
    pg.psql(seed_sql(books, authors, tags_kind), database, timeout=max(120, books / 5000))
    pg.psql("VACUUM ANALYZE authors;", database, timeout=600)
    pg.psql("VACUUM ANALYZE books;", database, timeout=600)
    return time.perf_counter() - started


# --- the bench venv and the generated service -------------------------------------------


@dataclass
class Venv:
    path: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name

    def has(self, module: str) -> bool:
        result = subprocess.run(
            [str(self.python), "-c", f"import {module}"], capture_output=True, timeout=60
        )
        return result.returncode == 0

    def pip_install(self, *args: str, what: str) -> None:
        run(
            [self.python, "-m", "pip", "install", "--disable-pip-version-check", "-q", *args],
            what=what,
            timeout=900,
        )

    def versions(self, names: Iterable[str]) -> dict[str, str]:
        out = run(
            [self.python, "-m", "pip", "list", "--format", "json"], what="pip list", timeout=120
        ).stdout
        wanted = {n.lower().replace("_", "-") for n in names}
        return {
            p["name"]: p["version"]
            for p in json.loads(out)
            if p["name"].lower().replace("_", "-") in wanted
        }


def ensure_venv(path: Path, python: str, extra: Sequence[str] = ()) -> Venv:
    venv = Venv(path)
    if not venv.python.exists():
        step(f"creating the bench venv {path} ({python})")
        path.parent.mkdir(parents=True, exist_ok=True)
        run([python, "-m", "venv", path], what="python -m venv", timeout=300)
    step("installing the comparison libraries into the bench venv (pip; quick when present)")
    venv.pip_install(*BENCH_PACKAGES, *extra, what="pip install of the benchmark libraries")
    return venv


def generate_service(spec: Path, name: str, into: Path) -> Path:
    """`apiforge new-service` from this repository's cli/, fresh, into `into/NAME`."""
    if not spec.exists():
        raise BenchError(f"spec not found: {spec}")
    env = {**os.environ, "PYTHONPATH": str(REPO / "cli")}
    run(
        [
            sys.executable,
            "-m",
            "apiforge",
            "new-service",
            name,
            "--spec",
            spec,
            "--database",
            "postgresql",
            "--dir",
            into,
            "--no-input",
        ],
        what=f"apiforge new-service {name}",
        timeout=300,
        env=env,
        cwd=into,
    )
    project = into / name
    if not (project / "pyproject.toml").exists():
        raise BenchError(f"apiforge new-service wrote no project at {project}")
    return project


def install_service(venv: Venv, project: Path) -> None:
    venv.pip_install(
        "-e", f"{project}[postgresql]", what=f"pip install -e {project.name}[postgresql]"
    )


def migrate(venv: Venv, project: Path, database_url: str) -> None:
    run(
        [venv.bin("alembic"), "upgrade", "head"],
        what="alembic upgrade head",
        timeout=300,
        cwd=project,
        env={**os.environ, "DATABASE_URL": database_url},
    )


def spec_with_cursor_pagination(source: Path, name: str, dest: Path) -> Path:
    """A copy of bookstore.yaml named NAME whose book resource uses cursor pagination."""
    text = source.read_text()
    lines = text.splitlines()
    try:
        name_at = next(i for i, line in enumerate(lines) if line.startswith("  name: "))
        book_at = lines.index("  book:")
    except (StopIteration, ValueError):
        raise BenchError(f"{source} has no `service: name:` or `book:` line to edit") from None
    lines[name_at] = f"  name: {name}"
    end = next(
        (
            i
            for i in range(book_at + 1, len(lines))
            if lines[i].startswith("  ") and not lines[i].startswith("   ")
        ),
        len(lines),
    )
    block = lines[book_at + 1 : end]
    block = [line for line in block if not line.strip().startswith("pagination:")]
    block.append("    pagination: cursor")
    lines[book_at + 1 : end] = block
    dest.write_text("\n".join(lines) + "\n")
    return dest


# --- servers -----------------------------------------------------------------------------


def uvicorn_flags(venv: Venv) -> list[str]:
    """The same server settings for everyone: uvloop + httptools when both import."""
    flags = ["--workers", "1", "--no-access-log", "--log-level", "warning"]
    if venv.has("uvloop") and venv.has("httptools"):
        flags += ["--loop", "uvloop", "--http", "httptools"]
    else:
        warn("uvloop or httptools missing in the venv: every server uses uvicorn's defaults")
    return flags


@dataclass
class Server:
    key: str
    target: str
    port: int
    cwd: Path
    env: dict[str, str]
    log: Path
    app_dir: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, venv: Venv, flags: Sequence[str], cores: Cores) -> None:
        if not port_is_free(self.port):
            raise BenchError(f"port {self.port} is taken; pass another --port-base")
        cmd = [
            *cores.prefix("app"),
            str(venv.bin("uvicorn")),
            self.target,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *flags,
        ]
        if self.app_dir is not None:
            cmd += ["--app-dir", str(self.app_dir)]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            # taskset execs uvicorn: the pid is the server's own.
            self.process = subprocess.Popen(
                cmd,
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 45) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise BenchError(
                    f"server {self.key} ({self.target}) exited with {self.process.returncode}:\n"
                    f"{tail(self.log.read_text(errors='replace'))}"
                )
            with contextlib.suppress(OSError, http.client.HTTPException):
                status, _, _ = http_request("GET", f"{self.base}/health", timeout=2)
                if status == 200:
                    return
            time.sleep(0.2)
        raise BenchError(
            f"server {self.key} ({self.target}) did not answer /health within {timeout:.0f} s:\n"
            f"{tail(self.log.read_text(errors='replace'))}"
        )

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.pid)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def http_request(
    method: str, url: str, body: Any = None, timeout: float = 10
) -> tuple[int, dict[str, str], Any]:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        conn.request(method, path, payload, headers)
        response = conn.getresponse()
        raw = response.read()
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = raw.decode(errors="replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        conn.close()


# --- pinning PostgreSQL backends next to the load generator ------------------------------


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy_seconds_per_core() -> dict[int, float]:
    """CPU seconds each core spent busy since boot (idle and iowait excluded)."""
    busy: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat") as stat:
        for line in stat:
            name, *values = line.split()
            if not name.startswith("cpu") or name == "cpu":
                continue
            user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in values[:8])
            busy[int(name[3:])] = (user + nice + system + irq + softirq + steal) / tick
    return busy


def machine_busy_seconds() -> float:
    """CPU seconds spent busy by all cores since boot."""
    return sum(busy_seconds_per_core().values())


def wait_for_quiet(max_wait: float, threshold: float = 0.25) -> float:
    """Wait (up to max_wait s) until the machine, our idle servers included, uses under
    `threshold` cores; returns the busy cores last seen. Other sessions' test runs
    on a shared machine are the usual reason to wait."""
    deadline = time.monotonic() + max_wait
    while True:
        before = machine_busy_seconds()
        time.sleep(0.5)
        busy = (machine_busy_seconds() - before) / 0.5
        if busy < threshold or time.monotonic() >= deadline:
            return busy


class BackendPinner:
    """Finds the PostgreSQL backends serving `database` and keeps them on the load core.

    Backends are found by their process title (`postgres: [CLUSTER: ]USER DB HOST(PORT) ...`)
    in /proc, so this costs no query. New pool connections are picked up within
    `interval` seconds. With `core=None` it only tracks them (for their CPU time).
    Does nothing when PostgreSQL's processes are not visible from here.
    """

    def __init__(self, user: str, database: str, core: int | None, interval: float = 0.25):
        # "postgres: USER DB HOST(PORT) STATE", or with Debian's cluster name
        # "postgres: 15/main: USER DB HOST(PORT) STATE".
        self.marker = f" {user} {database} ".encode()
        self.core = core
        self.interval = interval
        self.known: set[int] = set()
        self.seen_any = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def pin_now(self) -> int:
        count = 0
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            if pid in self.known:
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    title = f.read()
                if not title.startswith(b"postgres: ") or self.marker not in title:
                    continue
                if self.core is not None:
                    os.sched_setaffinity(pid, {self.core})
            except (OSError, ProcessLookupError):
                continue
            self.known.add(pid)
            self.seen_any = True
            count += 1
        return count

    def cpu_seconds(self) -> float:
        return sum(process_cpu_seconds(pid) for pid in list(self.known))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.pin_now()

    def start(self) -> None:
        self.pin_now()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


# --- load generation -------------------------------------------------------------------


@dataclass
class LoadResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    app_cpu: float | None = None  # share of its core the app used while measured
    others_on_app_core: float | None = None  # share of the app's core used by anything else
    load_core_busy: float | None = None  # share of the load core in use (wrk + PostgreSQL + others)
    new_connections: float | None = None  # database connections opened per second while measured

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_share(self) -> float:
        return self.errors / self.requests if self.requests else 1.0


def load_tool(wanted: str = "auto") -> str:
    """wrk when installed (or asked for), else the asyncio fallback in loadgen.py."""
    if wanted == "python":
        return "python"
    if shutil.which("wrk"):
        return "wrk"
    if wanted == "wrk":
        raise BenchError("wrk is not installed (Debian: apt-get install -y wrk)")
    warn(
        "wrk is not installed (Debian: apt-get install -y wrk); "
        "using the slower Python load generator"
    )
    return "python"


def run_load(
    tool: str,
    venv: Venv,
    cores: Cores,
    url_base: str,
    mode: str,
    path: str,
    *,
    seconds: float,
    connections: int,
    max_id: int = 1,
    isbn_prefix: str = "100",
) -> LoadResult:
    """One fixed-concurrency run against url_base+path from a process on the load core."""
    if tool == "wrk":
        cmd = [
            *cores.prefix("load"),
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "5s",
            "-s",
            str(LUA_SCRIPT),
            url_base,
            "--",
            mode,
            path,
            str(max_id),
            isbn_prefix,
        ]
    else:
        cmd = [
            *cores.prefix("load"),
            str(venv.python),
            str(LOADGEN),
            "--url",
            url_base,
            "--mode",
            mode,
            "--path",
            path,
            "--max-id",
            str(max_id),
            "--isbn-prefix",
            isbn_prefix,
            "--connections",
            str(connections),
            "--seconds",
            str(seconds),
        ]
    out = run(cmd, what=f"load generator ({tool}) {mode} {path}", timeout=seconds + 60).stdout
    line = next((x for x in out.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise BenchError(f"the load generator printed no summary:\n{tail(out)}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    errors = (
        data["status_errors"]
        + data["connect_errors"]
        + data["read_errors"]
        + data["write_errors"]
        + data["timeouts"]
    )
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=errors,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        mean_ms=data["mean_us"] / 1000,
    )


# --- profiling ----------------------------------------------------------------------------


# Where request time typically goes, as (label, substrings of a frame "function (path:line)").
# A sample counts for a label when any frame of its stack matches (inclusive time).
HOT_SPOTS = [
    ("FastAPI: solving dependencies, query/body parsing", ("solve_dependencies (",)),
    ("sync function run in the threadpool (run_in_threadpool)", ("run_in_threadpool (",)),
    ("DB: opening connections (asyncpg connect)", ("asyncpg/connect_utils.py",)),
    ("DB: closing connections", ("Connection.close (", "_close_connection (", "terminate (")),
    ("DB: pool checkout/checkin (SQLAlchemy pool)", ("sqlalchemy/pool/",)),
    ("DB: pre-ping", ("_do_ping", "do_ping (", "ping (")),
    ("DB: transaction begin/commit/rollback", ("rollback (", "commit (", "begin (", "_begin_impl")),
    ("SQLAlchemy: building/compiling statements", ("sqlalchemy/sql/",)),
    ("SQLAlchemy: ORM (session, loading objects, unit of work)", ("sqlalchemy/orm/",)),
    (
        "asyncpg: executing queries, decoding rows",
        ("asyncpg/prepared_stmt.py", "asyncpg/connection.py"),
    ),
    (
        "Pydantic: validation / model construction",
        ("model_validate", "validate_python", "pydantic/main.py"),
    ),
    (
        "serialising the response (JSON)",
        ("dump_json", "jsonable_encoder", "serialize_response", "render (", "json_response"),
    ),
]
# Counted by the leaf frame only (self time).
HOT_SPOTS_SELF = [
    (
        "HTTP server itself: parsing, writing (uvicorn, httptools; self time)",
        ("uvicorn/protocols/",),
    ),
    ("asyncio/uvloop scheduling (self time)", ("asyncio/", "uvloop/")),
]


def summarise_pyspy_raw(raw: Path, package_root: str, top: int = 15) -> str:
    """Self time, inclusive time, hot-spot categories and time per library from
    py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    by_library: Counter[str] = Counter()
    spots: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        raw_frames = stack.split(";")
        frames = [_frame_name(f) for f in raw_frames]
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
        by_library[_library(raw_frames[-1], package_root)] += count
        for label, needles in HOT_SPOTS:
            if any(needle in frame for frame in raw_frames for needle in needles):
                spots[label] += count
        for label, needles in HOT_SPOTS_SELF:
            if any(needle in raw_frames[-1] for needle in needles):
                spots[label] += count
        if package_root and any(package_root in frame for frame in raw_frames):
            spots["the generated service's code and all it calls (src/, inclusive)"] += count
        if package_root and package_root in raw_frames[-1]:
            spots["the generated service's own lines (src/, self time)"] += count
    if not total:
        return "(py-spy recorded no samples)"

    def table(counter: Counter[str], title: str, n: int) -> list[str]:
        rows = [f"  {title}", "    share  function (file)"]
        rows += [f"    {100 * c / total:5.1f}%  {name}" for name, c in counter.most_common(n)]
        return rows

    lines = [f"  {total} samples (only the thread holding the GIL: Python's own CPU time)"]
    lines += table(spots, "hot spots (inclusive: stacks through them; they overlap)", len(spots))
    lines += table(by_library, "self time by library (leaf frame's package)", 12)
    lines += table(own, "self time by function", top)
    boring = (
        "click/",
        "uvicorn/server.py",
        "uvicorn/_compat.py",
        "uvicorn/main.py",
        "asyncio/runners.py",
        "asyncio/base_events.py",
        "asyncio/events.py",
        "(uvicorn)",
        "threading.py",
        "<module>",
    )
    interesting = Counter({k: v for k, v in inclusive.items() if not any(b in k for b in boring)})
    lines += table(
        interesting, "inclusive time by function (excluding the event loop frames)", top + 10
    )
    return "\n".join(lines)


def _frame_name(frame: str) -> str:
    # "function (path/to/file.py:123)" -> "function (file.py)"
    name, _, location = frame.partition(" (")
    path = location.rstrip(")").rsplit(":", 1)[0]
    parts = Path(path).parts
    short = "/".join(parts[-2:]) if len(parts) >= 2 else path
    return f"{name} ({short})"


def _library(frame: str, package_root: str) -> str:
    location = frame.partition(" (")[2]
    if package_root and package_root in location:
        return "the generated service (src/)"
    if "site-packages/" in location:
        return location.split("site-packages/", 1)[1].split("/", 1)[0]
    if "/lib/python3" in location:
        module = location.split("/lib/python3", 1)[1].split("/", 2)
        return f"stdlib {module[1].split('.')[0] if len(module) > 1 else '?'}"
    return location.split(":", 1)[0] or "?"


def profile_server(
    venv: Venv,
    cores: Cores,
    server: Server,
    out: Path,
    seconds: float,
    tool: str,
    mode: str,
    path: str,
    connections: int,
    max_id: int,
    isbn_prefix: str,
) -> Path:
    """py-spy record (raw collapsed stacks) of the server while the load generator runs."""
    pyspy = venv.bin("py-spy")
    if not pyspy.exists():
        raise BenchError("py-spy is not in the bench venv (run.py installs it with --profile)")
    cmd = [
        *cores.prefix("load"),
        str(pyspy),
        "record",
        "--pid",
        str(server.pid),
        "--duration",
        str(int(seconds)),
        "--rate",
        "250",
        "--format",
        "raw",
        "--gil",
        "--full-filenames",
        "--nonblocking",
        "--output",
        str(out),
    ]
    spy = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        time.sleep(0.5)
        run_load(
            tool,
            venv,
            cores,
            server.base,
            mode,
            path,
            seconds=seconds + 1,
            connections=connections,
            max_id=max_id,
            isbn_prefix=isbn_prefix,
        )
        output, _ = spy.communicate(timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        spy.kill()
        raise BenchError("py-spy did not finish") from None
    finally:
        if spy.poll() is None:
            spy.kill()
    if spy.returncode != 0 or not out.exists():
        raise BenchError(
            f"py-spy failed (exit {spy.returncode}):\n{tail(output)}"
            "\n(py-spy needs ptrace: root, or CAP_SYS_PTRACE in a container)"
        )
    return out


# --- what both scripts share: their PostgreSQL and venv options, and their entry point ----


def add_environment_arguments(parser: Any, *, database: str) -> None:
    """The options saying where PostgreSQL and the bench venv are."""
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--database", default=database, help="created and dropped by the run")
    parser.add_argument(
        "--keep-db", action="store_true", help="do not drop the database at the end"
    )
    parser.add_argument(
        "--venv", type=Path, default=DEFAULT_VENV, help="bench venv (created if missing)"
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter for a new venv")


def quietly(function: Any, *args: Any) -> None:
    """Run a cleanup step; a failure is reported, and does not hide the run's own outcome."""
    try:
        function(*args)
    except BenchError as error:
        warn(f"cleanup: {error}")


def _terminate(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def main(bench: Any, args: Any) -> int:
    """Run `bench(args, cleanup)`: exit 1 with one line on a BenchError, 130 when
    interrupted (Ctrl-C or SIGTERM), after the cleanups it registered have run."""
    signal.signal(signal.SIGTERM, _terminate)
    with contextlib.ExitStack() as cleanup:
        try:
            return int(bench(args, cleanup))
        except BenchError as error:
            say(f"\nerror: {error}")
            return 1
        except KeyboardInterrupt:
            say("\ninterrupted: stopping the servers and dropping the database")
            return 130
