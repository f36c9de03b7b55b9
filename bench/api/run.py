"""The book API five ways, on PostgreSQL, under the same load: requests/s and p99.

    python bench/api/run.py            # full run: 3 interleaved rounds, 10 s each (~12 min)
    python bench/api/run.py --quick    # smoke run: 1 round, 3 s each (~2 min)
    python bench/api/run.py --profile  # then py-spy the generated service under load

(a) the service apiforge generates from examples/bookstore.yaml (fresh, every run),
(b) hand-written FastAPI + SQLAlchemy ORM, (c) fastapi-views, (d) FastCRUD,
(e) bare Starlette + asyncpg. All on the same table (made by (a)'s migration),
served by uvicorn with one worker and the same flags, pinned to one core; the load
generator (wrk) and the PostgreSQL backends on the other. A script, not a test:
it prints its table and writes results.json; bench/README.md says how to read it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import decimal
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    APPS_DIR,
    REPO,
    BackendPinner,
    BenchError,
    LoadResult,
    Postgres,
    Server,
    add_environment_arguments,
    busy_seconds_per_core,
    choose_cores,
    detect_tags_kind,
    ensure_venv,
    generate_service,
    http_request,
    install_service,
    load_average,
    load_tool,
    main,
    migrate,
    pin_self,
    profile_server,
    quietly,
    run_load,
    say,
    seed,
    step,
    summarise_pyspy_raw,
    uvicorn_flags,
    wait_for_quiet,
    warn,
)

ENDPOINTS = ("retrieve", "list", "create")
PREFIX = "/api/v1/books"
LIST_QUERY = "genre=fiction&sort=-price&page_size=20"
DETAIL_TITLE = (
    "Spread over rounds; CPU while measuring (medians): the app's share of its core, what else "
    "ran on that core, how busy the load core (wrk + PostgreSQL) was; database connections "
    "opened per second:"
)


@dataclass(frozen=True)
class Impl:
    key: str
    label: str
    target: str  # uvicorn APP
    list_query: str = LIST_QUERY
    items_key: str = "items"
    generated: bool = False


IMPLS = {
    "a": Impl("a", "apiforge generated", "bookstore.main:app", generated=True),
    "b": Impl("b", "hand-written FastAPI + SQLAlchemy ORM", "handwritten:app"),
    "c": Impl("c", "fastapi-views", "views_app:app"),
    "d": Impl(
        "d",
        "FastCRUD",
        "fastcrud_app:app",
        list_query="genre=fiction&sort=-price&page=1&itemsPerPage=20",
        items_key="data",
    ),
    "e": Impl("e", "Starlette + asyncpg (limit)", "raw_asyncpg:app"),
}

# The goals for the generated service (a): its req/s over each other's, per
# endpoint (1.0 means "ahead of", strictly).
GOALS = {
    "b": {"retrieve": 2.0, "list": 2.0, "create": 1.5},
    "c": dict.fromkeys(ENDPOINTS, 1.0),
    "d": dict.fromkeys(ENDPOINTS, 1.0),
    "e": dict.fromkeys(ENDPOINTS, 0.35),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the generated bookstore service against four other implementations.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1 round, 1 s warm-up, 3 s per measurement"
    )
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3, quick 1)")
    parser.add_argument(
        "--seconds", type=float, help="seconds per measurement (default 10, quick 3)"
    )
    parser.add_argument(
        "--warmup", type=float, help="warm-up seconds before each measurement (default 3, quick 1)"
    )
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument(
        "--loadgen",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load generator: wrk, or the asyncio fallback api/loadgen.py",
    )
    parser.add_argument("--impls", default="abcde", help="which implementations, e.g. 'abe'")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS), help="comma-separated subset")
    parser.add_argument("--rows", type=int, default=100_000, help="books to seed")
    parser.add_argument("--authors", type=int, default=1_000, help="authors to seed")
    parser.add_argument("--spec", type=Path, default=REPO / "examples" / "bookstore.yaml")
    add_environment_arguments(parser, database="apiforge_bench")
    parser.add_argument(
        "--port-base", type=int, default=18101, help="servers listen on port-base+0..4"
    )
    parser.add_argument(
        "--no-pin-postgres",
        action="store_true",
        help="leave the PostgreSQL backends unpinned (default: on the load core)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after measuring, py-spy the generated service under load, per endpoint",
    )
    parser.add_argument(
        "--profile-seconds", type=float, help="seconds of py-spy per endpoint (default 10, quick 4)"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        help="before each measurement, wait up to this many seconds for the machine "
        "to be idle (default 10, quick 3)",
    )
    parser.add_argument(
        "--out", type=Path, help="folder for results.json, table.md, logs, profiles"
    )
    args = parser.parse_args()
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.seconds = args.seconds or (3.0 if args.quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 3.0)
    args.profile_seconds = args.profile_seconds or (4.0 if args.quick else 10.0)
    args.quiet_wait = (
        args.quiet_wait if args.quiet_wait is not None else (3.0 if args.quick else 10.0)
    )
    unknown = set(args.impls) - set(IMPLS)
    if unknown or not args.impls:
        parser.error(f"--impls takes letters from {''.join(IMPLS)}")
    args.endpoints = [e.strip() for e in args.endpoints.split(",") if e.strip()]
    if not set(args.endpoints) <= set(ENDPOINTS):
        parser.error(f"--endpoints takes {', '.join(ENDPOINTS)}")
    return args


class IsbnPrefixes:
    """A fresh 3-digit isbn prefix per load run: created rows never collide (978 is the seed's)."""

    def __init__(self) -> None:
        self.next = 100

    def take(self) -> str:
        value = self.next
        self.next = 100 if self.next >= 999 else self.next + 1
        if value == 978:
            return self.take()
        return str(value)


def request_for(impl: Impl, endpoint: str) -> tuple[str, str]:
    if endpoint == "retrieve":
        return "retrieve", PREFIX
    if endpoint == "list":
        return "get", f"{PREFIX}?{impl.list_query}"
    return "create", PREFIX


# --- checks before measuring -------------------------------------------------------------


def normalise_book(book: dict) -> dict:
    out = dict(book)
    with contextlib.suppress(Exception):
        out["price"] = decimal.Decimal(str(book["price"]))
    for key in ("created_at", "updated_at"):
        with contextlib.suppress(Exception):
            out[key] = datetime.datetime.fromisoformat(str(book[key]).replace("Z", "+00:00"))
    return out


def check_impl(impl: Impl, server: Server, rows: int) -> dict:
    """Each endpoint answers as the benchmark expects; returns what the others are compared to."""
    probe = min(4242, rows)
    status, _, book = http_request("GET", f"{server.base}{PREFIX}/{probe}")
    if status != 200 or not isinstance(book, dict):
        raise BenchError(f"({impl.key}) GET {PREFIX}/{probe} answered {status}: {str(book)[:300]}")
    missing = {
        "id",
        "title",
        "isbn",
        "price",
        "genre",
        "tags",
        "author_id",
        "created_at",
    } - book.keys()
    if missing:
        raise BenchError(f"({impl.key}) a retrieved book lacks {sorted(missing)}: {book}")

    status, _, page = http_request("GET", f"{server.base}{PREFIX}?{impl.list_query}")
    items = page.get(impl.items_key) if isinstance(page, dict) else None
    if status != 200 or not isinstance(items, list):
        raise BenchError(
            f"({impl.key}) GET {PREFIX}?{impl.list_query} answered {status}: {str(page)[:300]}"
        )
    if len(items) != 20 or any(item.get("genre") != "fiction" for item in items):
        raise BenchError(f"({impl.key}) the list page is not 20 fiction books: {str(items)[:300]}")
    prices = [decimal.Decimal(str(item["price"])) for item in items]
    if prices != sorted(prices, reverse=True):
        raise BenchError(f"({impl.key}) the list page is not sorted by -price: {prices}")

    body = {
        "title": "Check book",
        "isbn": f"999{impl.key.encode()[0]:010d}",
        "price": "12.50",
        "genre": "science",
        "published_year": 2001,
        "tags": ["check"],
        "in_stock": True,
        "author_id": 1,
        "summary": "check",
    }
    status, _, created = http_request("POST", f"{server.base}{PREFIX}", body)
    if status not in (200, 201) or not isinstance(created, dict) or "id" not in created:
        raise BenchError(f"({impl.key}) POST {PREFIX} answered {status}: {str(created)[:300]}")
    if created.get("isbn") != body["isbn"]:
        raise BenchError(f"({impl.key}) POST {PREFIX} did not echo the book: {created}")
    return {
        "book": normalise_book(book),
        "list_ids": [item["id"] for item in items],
        "list_prices": prices,
        "list_keys": sorted(page.keys()),
        "create_status": status,
    }


def compare_checks(checks: dict[str, dict]) -> list[str]:
    notes = []
    reference_key = "a" if "a" in checks else next(iter(checks))
    reference = checks[reference_key]
    for key, check in checks.items():
        if key == reference_key:
            continue
        diff = sorted(
            field
            for field in set(reference["book"]) | set(check["book"])
            if reference["book"].get(field) != check["book"].get(field)
        )
        if diff:
            notes.append(f"({key}) retrieve differs from ({reference_key}) in {diff}")
        if check["list_prices"] != reference["list_prices"]:
            notes.append(
                f"({key}) list page has other prices than ({reference_key}): not the same query"
            )
        elif check["list_ids"] != reference["list_ids"]:
            notes.append(
                f"({key}) list page: same prices as ({reference_key}), equal prices in another "
                "id order (tie-breaker direction)"
            )
    return notes


# --- report ---------------------------------------------------------------------------------


def median_result(results: list[LoadResult]) -> dict:
    return {
        "rps": statistics.median(r.rps for r in results),
        "rps_min": min(r.rps for r in results),
        "rps_max": max(r.rps for r in results),
        "p99_ms": statistics.median(r.p99_ms for r in results),
        "p50_ms": statistics.median(r.p50_ms for r in results),
        "app_cpu": statistics.median(r.app_cpu or 0 for r in results),
        "others_on_app_core": statistics.median(r.others_on_app_core or 0 for r in results),
        "load_core_busy": statistics.median(r.load_core_busy or 0 for r in results),
        "new_connections": statistics.median(r.new_connections or 0 for r in results),
        "errors": sum(r.errors for r in results),
        "requests": sum(r.requests for r in results),
        "runs": len(results),
    }


def render_table(summary: dict, impls: list[str], endpoints: list[str]) -> str:
    head = "| implementation | " + " | ".join(f"{e} req/s | {e} p99 ms" for e in endpoints) + " |"
    sep = "| --- | " + " | ".join("---: | ---:" for _ in endpoints) + " |"
    rows = [head, sep]
    for key in impls:
        cells = []
        for endpoint in endpoints:
            m = summary.get(key, {}).get(endpoint)
            cells += ["n/a", "n/a"] if m is None else [f"{m['rps']:,.0f}", f"{m['p99_ms']:.1f}"]
        rows.append(f"| ({key}) {IMPLS[key].label} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def render_detail(summary: dict, impls: list[str], endpoints: list[str]) -> str:
    head = (
        "| implementation | "
        + " | ".join(
            f"{e}: req/s min–max; app / others on app core / load core; new conn/s"
            for e in endpoints
        )
        + " |"
    )
    sep = "| --- | " + " | ".join("---" for _ in endpoints) + " |"
    rows = [head, sep]
    for key in impls:
        cells = []
        for endpoint in endpoints:
            m = summary.get(key, {}).get(endpoint)
            cells.append(
                "n/a"
                if m is None
                else f"{m['rps_min']:,.0f}–{m['rps_max']:,.0f}; {100 * m['app_cpu']:.0f}% / "
                f"{100 * m['others_on_app_core']:.0f}% / {100 * m['load_core_busy']:.0f}%; "
                f"{m['new_connections']:.0f}" + (f", {m['errors']} errors" if m["errors"] else "")
            )
        rows.append(f"| ({key}) | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def render_ratios(summary: dict, endpoints: list[str]) -> tuple[str, list[dict]]:
    lines = ["| ratio | endpoint | measured | goal | met? |", "| --- | --- | ---: | ---: | --- |"]
    verdicts = []
    pairs = [
        (other, endpoint, goal)
        for other, goals in GOALS.items()
        for endpoint, goal in goals.items()
    ]
    for other, endpoint, goal in pairs:
        name = f"a/{other}"
        a = summary.get("a", {}).get(endpoint)
        o = summary.get(other, {}).get(endpoint)
        if a is None or o is None or endpoint not in endpoints:
            continue
        ratio = a["rps"] / o["rps"] if o["rps"] else float("inf")
        met = ratio >= goal if goal != 1.0 else ratio > 1.0
        goal_text = f"> {goal:g}×" if goal == 1.0 else f"≥ {goal:g}×"
        lines.append(
            f"| {name} | {endpoint} | {ratio:.2f}× | {goal_text} | {'yes' if met else 'NO'} |"
        )
        verdicts.append(
            {"ratio": name, "endpoint": endpoint, "value": ratio, "goal": goal, "met": met}
        )
    return "\n".join(lines), verdicts


def measure(
    tool, venv, cores, server, pg, database, mode, path, seconds, isbn_prefix, common
) -> LoadResult:
    """One measurement, and how busy each core was during it.

    The app's own CPU time comes from /proc/PID/stat; the cores' from /proc/stat. What
    the app core spent on anything but the app means the machine was shared (other
    work, not ours, runs there too); a saturated load core means the load generator
    or PostgreSQL, not the app, may have been the limit.
    """
    sessions0 = pg.sessions(database)
    app0, cores0, wall0 = server.cpu_seconds(), busy_seconds_per_core(), time.monotonic()
    result = run_load(
        tool,
        venv,
        cores,
        server.base,
        mode,
        path,
        seconds=seconds,
        isbn_prefix=isbn_prefix,
        **common,
    )
    wall = time.monotonic() - wall0
    cores1 = busy_seconds_per_core()
    result.app_cpu = (server.cpu_seconds() - app0) / wall
    if sessions0 >= 0:
        result.new_connections = (pg.sessions(database) - sessions0) / wall
    if cores.pinned:
        app_core = (cores1[cores.app] - cores0[cores.app]) / wall
        result.others_on_app_core = max(0.0, app_core - result.app_cpu)
        result.load_core_busy = (cores1[cores.load] - cores0[cores.load]) / wall
    return result


# --- the run --------------------------------------------------------------------------------


def bench(args: argparse.Namespace, cleanup: contextlib.ExitStack) -> int:
    started = time.time()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or Path(tempfile.gettempdir()) / "apiforge-bench" / f"run-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    pg = Postgres(args.pg_host, args.pg_port, args.pg_user)
    machine_cores = len(os.sched_getaffinity(0))

    step("checking tools")
    pg_version = pg.check()
    tool = load_tool(args.loadgen)
    cores = choose_cores()
    pin_self(cores)
    load_before = load_average()
    say(
        f"    load generator: {tool}; cores: app {cores.app}, load + PostgreSQL backends "
        f"{cores.load}{' (backends unpinned)' if args.no_pin_postgres else ''}; "
        f"load average {load_before}"
    )
    if pg.free_connections() < 80:
        warn(f"only {pg.free_connections()} PostgreSQL connections free; five pools need up to 75")

    venv = ensure_venv(args.venv, args.python, ["py-spy"] if args.profile else [])
    work = Path(tempfile.mkdtemp(prefix="apiforge-bench-"))
    cleanup.callback(shutil.rmtree, work, ignore_errors=True)

    step(f"generating the bookstore service from {args.spec} (apiforge new-service)")
    project = generate_service(args.spec, "bookstore", work)
    step("installing it into the bench venv (pip install -e '.[postgresql]')")
    install_service(venv, project)

    step(f"creating database {args.database}, running the generated migrations")
    pg.recreate(args.database)
    if not args.keep_db:
        cleanup.callback(quietly, pg.drop, args.database)
    db_url = pg.url(args.database)
    migrate(venv, project, db_url)
    tags_kind = detect_tags_kind(pg, args.database)
    step(
        f"seeding {args.rows:,} books and {args.authors:,} authors "
        "(generate_series), VACUUM ANALYZE"
    )
    seconds = seed(pg, args.database, args.rows, args.authors, tags_kind)
    say(f"    seeded in {seconds:.1f} s; books.tags is {tags_kind}")

    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        "DATABASE_URL": db_url,
        "BENCH_PG_DSN": pg.url(args.database, "postgresql"),
        "BENCH_TAGS_KIND": tags_kind,
    }
    flags = uvicorn_flags(venv)
    impls = [k for k in IMPLS if k in args.impls]
    servers: dict[str, Server] = {}
    step(f"starting {len(impls)} servers: uvicorn {' '.join(flags)}")
    for index, key in enumerate(impls):
        impl = IMPLS[key]
        server = Server(
            key=key,
            target=impl.target,
            port=args.port_base + index,
            cwd=project if impl.generated else out,
            env=env,
            log=out / f"server-{key}.log",
            app_dir=None if impl.generated else APPS_DIR,
        )
        server.start(venv, flags, cores)
        cleanup.callback(server.stop)
        servers[key] = server
    for server in servers.values():
        server.wait_ready()

    pinner = BackendPinner(
        args.pg_user, args.database, None if args.no_pin_postgres else cores.load
    )
    pinner.start()
    cleanup.callback(pinner.stop)

    step("checking every implementation answers the three requests alike")
    checks = {key: check_impl(IMPLS[key], servers[key], args.rows) for key in impls}
    notes = compare_checks(checks)
    for note in notes:
        warn(note)
    pg.psql(f"DELETE FROM books WHERE id > {args.rows};", args.database)

    prefixes = IsbnPrefixes()
    results: dict[str, dict[str, list[LoadResult]]] = {
        k: {e: [] for e in args.endpoints} for k in impls
    }
    total_runs = args.rounds * len(args.endpoints) * len(impls)
    done = 0
    step(
        f"measuring: {args.rounds} round(s) × {len(args.endpoints)} endpoints × {len(impls)} "
        f"implementations, {args.warmup:g} s warm-up + {args.seconds:g} s each, "
        f"{args.connections} connections"
    )
    for round_index in range(args.rounds):
        for endpoint in args.endpoints:
            order = impls[round_index % len(impls) :] + impls[: round_index % len(impls)]
            for key in order:
                server = servers[key]
                mode, path = request_for(IMPLS[key], endpoint)
                common = dict(connections=args.connections, max_id=args.rows)
                if args.warmup:
                    run_load(
                        tool,
                        venv,
                        cores,
                        server.base,
                        mode,
                        path,
                        seconds=args.warmup,
                        isbn_prefix=prefixes.take(),
                        **common,
                    )
                pinner.pin_now()
                busy = wait_for_quiet(args.quiet_wait)
                if busy >= 0.25:
                    warn(
                        f"the machine is busy ({busy:.2f} cores) before measuring "
                        f"({key}) {endpoint}"
                    )
                result = measure(
                    tool,
                    venv,
                    cores,
                    server,
                    pg,
                    args.database,
                    mode,
                    path,
                    args.seconds,
                    prefixes.take(),
                    common,
                )
                results[key][endpoint].append(result)
                done += 1
                say(
                    f"    [{done:>2}/{total_runs}] round {round_index + 1} {endpoint:<8} ({key}) "
                    f"{result.rps:>8,.0f} req/s  p50 {result.p50_ms:6.1f} ms  "
                    f"p99 {result.p99_ms:6.1f} ms  "
                    f"app {100 * result.app_cpu:3.0f}% of its core (others "
                    f"{100 * (result.others_on_app_core or 0):3.0f}%), load core "
                    f"{100 * (result.load_core_busy or 0):3.0f}% busy, "
                    f"{result.new_connections or 0:4.0f} new DB connections/s"
                    + (f"  {result.errors} ERRORS" if result.errors else "")
                )
                if result.error_share > 0.01:
                    warn(
                        f"({key}) {endpoint}: {result.errors} of {result.requests} "
                        "requests failed; "
                        f"see {server.log}"
                    )
                if endpoint == "create":  # keep the table at the seeded size for everyone
                    pg.psql(f"DELETE FROM books WHERE id > {args.rows};", args.database)
                    pg.psql("VACUUM ANALYZE books;", args.database, timeout=300)

    summary = {k: {e: median_result(r) for e, r in per.items() if r} for k, per in results.items()}
    table = render_table(summary, impls, args.endpoints)
    detail = render_detail(summary, impls, args.endpoints)
    ratios, verdicts = render_ratios(summary, args.endpoints)

    profiles = {}
    if args.profile and "a" in servers:
        step(
            f"profiling (a) with py-spy, {args.profile_seconds:g} s per endpoint "
            "under the same load"
        )
        for endpoint in args.endpoints:
            mode, path = request_for(IMPLS["a"], endpoint)
            raw = profile_server(
                venv,
                cores,
                servers["a"],
                out / f"profile-a-{endpoint}.txt",
                args.profile_seconds,
                tool,
                mode,
                path,
                args.connections,
                args.rows,
                prefixes.take(),
            )
            profiles[endpoint] = summarise_pyspy_raw(raw, str(project / "src"))
            if endpoint == "create":
                pg.psql(f"DELETE FROM books WHERE id > {args.rows};", args.database)

    load_after = load_average()
    versions = venv.versions(
        [
            "fastapi",
            "starlette",
            "pydantic",
            "pydantic-core",
            "sqlalchemy",
            "asyncpg",
            "uvicorn",
            "uvloop",
            "httptools",
            "fastapi-views",
            "fastcrud",
            "orjson",
        ]
    )
    environment = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {machine_cores} cores{_cpu_model()}",
        "python": platform.python_version(),
        "postgres": pg_version.split(" on ")[0],
        "load_generator": tool,
        "uvicorn_flags": flags,
        "cores": {
            "app": cores.app,
            "load_and_backends": cores.load,
            "backends_pinned": pinner.seen_any and pinner.core is not None,
        },
        "connections": args.connections,
        "rounds": args.rounds,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "rows": args.rows,
        "authors": args.authors,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "versions": versions,
        "tags_column": tags_kind,
    }
    (out / "results.json").write_text(
        json.dumps(
            {
                "environment": environment,
                "summary": summary,
                "verdicts": verdicts,
                "notes": notes,
                "runs": {
                    k: {e: [asdict(r) | {"rps": r.rps} for r in rs] for e, rs in per.items()}
                    for k, per in results.items()
                },
            },
            indent=2,
            default=str,
        )
    )
    markdown = f"{table}\n\n{ratios}\n\n{DETAIL_TITLE}\n\n{detail}\n"
    (out / "table.md").write_text(markdown)

    say()
    say(
        f"API benchmark — {environment['date']}, {environment['machine']}, "
        f"Python {environment['python']}, "
        f"{environment['postgres']}"
    )
    say(
        f"{args.rows:,} books; {args.connections} connections; {args.rounds} round(s) × "
        f"{args.seconds:g} s (median shown); uvicorn {' '.join(flags)}; load by {tool}; "
        f"load average {load_before} → {load_after}"
    )
    say(f"versions: {', '.join(f'{k} {v}' for k, v in sorted(versions.items()))}")
    say()
    say(table)
    say()
    say(ratios)
    say()
    say(DETAIL_TITLE)
    say(detail)
    for note in notes:
        say(f"note: {note}")
    for endpoint, text in profiles.items():
        say()
        say(f"py-spy profile of (a), {endpoint} (raw stacks in {out}/profile-a-{endpoint}.txt):")
        say(text)
    say()
    say(f"results: {out}/results.json, {out}/table.md  ({(time.time() - started) / 60:.1f} min)")
    return 0


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f" ({line.split(':', 1)[1].strip()})"
    return ""


if __name__ == "__main__":
    sys.exit(main(bench, parse_args()))
