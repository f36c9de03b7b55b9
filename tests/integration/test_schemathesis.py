"""schemathesis against the OpenAPI document of every generated example service.

Issue 4's proof: no request schemathesis can think of gets a 5xx, and every response
conforms to what the document declares -- its status code, its content type, its
schema. For each example (``examples/*.yaml``) and database (SQLite always, PostgreSQL
when its server answers):

1. a fresh database gets the schema (``alembic upgrade head``);
2. the service runs under uvicorn, in the project's venv, on a socket this process
   bound (no free-port race between xdist workers);
3. a few rows of every resource are created through the API by the project's own test
   factories (``schemathesis_seed.py``), so ids 1..N (or those UUIDs) exist;
4. ``st run`` (schemathesis is installed in the shared venv: ``TEST_REQUIREMENTS`` in
   conftest.py) tests every operation in all its phases (coverage, fuzzing, stateful)
   with a fixed seed and a bounded number of examples per operation. Its hooks
   (``schemathesis_hooks.py``) steer generated ids towards the seeded rows, so
   retrieve, update, delete and refs in bodies reach existing rows as well as missing
   ones.

A failure shows schemathesis's report (every failure with a curl command reproducing
it) and the service's log (the traceback of a 500). When schemathesis finds something,
fix the generator, not the check.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from apiforge.loader import load_spec
from apiforge.model import ServiceModel, derive

from .conftest import TIMEOUT_CHECK, CommandResult, Project, run

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
MAX_EXAMPLES = 50  # per operation (`st run --max-examples`)
SEED = 1  # any fixed number: the same requests on every run
SEED_ROWS = 5  # rows created per resource before schemathesis starts
TIMEOUT_SERVER_START = 60
TIMEOUT_SCHEMATHESIS = 600  # a run takes 5-25 s


# SQLite, and PostgreSQL when its server is reachable (conftest's database_url fixture
# skips otherwise); MariaDB is left to the generated suites.
@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_schemathesis_finds_nothing(project: Project, database_url: str, tmp_path: Path) -> None:
    upgrade = project.run("alembic", "upgrade", "head", database_url=database_url,
                          timeout=TIMEOUT_CHECK)  # fmt: skip
    expect_success(upgrade, "alembic upgrade head")
    service = derive(load_spec(project.root / "apiforge.yaml")[0])
    log = tmp_path / "server.log"
    with serve(project, database_url, log) as base_url:
        ids = seed(project, base_url, service, tmp_path / "ids.json")
        plan = tmp_path / "plan.json"
        plan.write_text(json.dumps(steering_plan(service, ids)))
        result = run_schemathesis(project, base_url, plan, tmp_path)
    if not result.ok:
        server_log = log.read_text(errors="replace")[-20_000:]
        pytest.fail(
            f"{result.report(f'schemathesis (DATABASE_URL={database_url})')}\n"
            f"--- the service's log ({log}) ---\n{server_log}",
            pytrace=False,
        )


def expect_success(result: CommandResult, what: str) -> None:
    if not result.ok:
        pytest.fail(result.report(what), pytrace=False)


@contextmanager
def serve(project: Project, database_url: str, log: Path) -> Iterator[str]:
    """Run the service under uvicorn; yield its base URL once /health answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # uvicorn takes an inherited socket for a Unix one and leaves Nagle's algorithm on:
    # 40 ms per request. Accepted connections inherit TCP_NODELAY from the listener.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    host, port = listener.getsockname()
    with log.open("w") as out:
        process = subprocess.Popen(
            [project.python, "-m", "uvicorn", f"{project.package}.main:app",
             "--fd", str(listener.fileno()), "--no-access-log"],
            cwd=project.root, env=project.env(database_url), stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT, pass_fds=(listener.fileno(),),
        )  # fmt: skip
    listener.close()  # uvicorn has its own copy
    base_url = f"http://{host}:{port}"
    try:
        wait_until_healthy(process, base_url, log)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_healthy(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + TIMEOUT_SERVER_START
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"uvicorn exited with {process.returncode}:\n{log.read_text()}",
                        pytrace=False)  # fmt: skip
        try:
            with urllib.request.urlopen(f"{base_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    pytest.fail(f"the service did not answer /health within {TIMEOUT_SERVER_START}s:\n"
                f"{log.read_text()}", pytrace=False)  # fmt: skip


def seed(project: Project, base_url: str, service: ServiceModel, out: Path) -> dict[str, list]:
    """SEED_ROWS rows of every resource (parents first), created through the API."""
    result = project.run(
        "python", HERE / "schemathesis_seed.py", base_url, out, str(SEED_ROWS),
        *(r.name for r in service.resources), timeout=TIMEOUT_CHECK,
    )  # fmt: skip
    expect_success(result, "seeding the service through its API (tests/factories.py)")
    ids: dict[str, list] = json.loads(out.read_text())
    for resource in service.resources:
        if resource.has("create"):
            assert len(ids[resource.name]) >= SEED_ROWS, f"seeding made {ids}"
            if resource.id_type == "int":  # a fresh database numbers rows from 1
                assert set(range(1, SEED_ROWS + 1)) <= set(ids[resource.name]), ids
    return ids


def steering_plan(service: ServiceModel, ids: dict[str, list]) -> dict[str, object]:
    """What schemathesis_hooks.py needs: which URL segment and ref field is which resource."""
    return {
        "segments": {r.path: r.name for r in service.resources},
        "collections": {
            f"{service.api_prefix.rstrip('/')}/{r.path}": {
                "resource": r.name,
                "refs": {f.key: f.ref_target for f in r.refs if f.writable},
            }
            for r in service.resources
        },
        "ids": ids,
    }


def run_schemathesis(project: Project, base_url: str, plan: Path, tmp: Path) -> CommandResult:
    env = project.env()
    env["SCHEMATHESIS_HOOKS"] = str(HERE / "schemathesis_hooks.py")
    env["APIFORGE_SCHEMATHESIS_PLAN"] = str(plan)
    argv = [
        "st", "run", f"{base_url}/openapi.json",
        "--checks", ",".join(CHECKS),
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--workers", "1",  # one request at a time: the same run every time
        "--generation-database", "none",  # no examples replayed from earlier runs
        "--suppress-health-check", "all",  # slow data generation is not the API's fault
        "--request-timeout", "30",
        "--no-color",
    ]  # fmt: skip
    return run(argv, cwd=tmp, env=env, timeout=TIMEOUT_SCHEMATHESIS)
