"""Does a cursor page at row ~1,000,000 cost what the first page costs?

    python bench/api/cursor_depth.py           # 1,000,000 books, 300 requests per page (~3 min)
    python bench/api/cursor_depth.py --quick   # 200,000 books, 60 requests per page

Generates a variant of examples/bookstore.yaml whose book resource has
`pagination: cursor` (service `bookcursor`), installs it into the bench venv, seeds
the table with generate_series, and serves it with uvicorn pinned to one core.
For each sort order (default `id`, `-price` and `published_year`) it times, over HTTP:

  first  GET /api/v1/books?sort=S&limit=20
  deep   GET /api/v1/books?sort=S&limit=20&cursor=C   (C points 40 rows before the end)

The deep cursor is built with the generated `pagination.encode_cursor`, imported
from the installed service, from the sort values of the row at that depth (read
with SQL); the script first proves the construction by rebuilding the first page's
`next_cursor` from that page's last item, and checks the deep page starts at the
right row. Requests alternate first/deep over one keep-alive connection (median of
many), then wrk measures both under load. Goal (issue 4): deep ≤ 1.2 × first.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    REPO,
    BackendPinner,
    BenchError,
    Postgres,
    Server,
    add_environment_arguments,
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
    quietly,
    run,
    run_load,
    say,
    seed,
    spec_with_cursor_pagination,
    step,
    uvicorn_flags,
    warn,
)

SERVICE = "bookcursor"
PREFIX = "/api/v1/books"
GOAL = 1.2
SQL_TYPES = {
    "id": "int",
    "price": "decimal",
    "published_year": "int",
    "title": "str",
    "created_at": "datetime",
}

# Runs inside the bench venv: the generated service's own encode_cursor builds the token.
ENCODE_HELPER = f"""
import datetime, decimal, json, sys
from {SERVICE}.pagination import encode_cursor
request = json.load(sys.stdin)
convert = {{"int": int, "decimal": decimal.Decimal, "str": str,
            "datetime": lambda v: datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))}}
out = []
for sort, typed in request:
    out.append(encode_cursor(sort, [convert[kind](value) for kind, value in typed]))
json.dump(out, sys.stdout)
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time a cursor page deep in a large table against the first page.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="200,000 rows, 60 requests per page")
    parser.add_argument("--rows", type=int, help="books to seed (default 1,000,000; quick 200,000)")
    parser.add_argument(
        "--requests", type=int, help="timed requests per page (default 300; quick 60)"
    )
    parser.add_argument("--limit", type=int, default=20, help="page size")
    parser.add_argument(
        "--sorts",
        default="id,-price,published_year",
        help="sort orders to test, separated by ';' or ',' (each one field)",
    )
    parser.add_argument(
        "--load-seconds", type=float, help="wrk seconds per page (default 5; quick 2; 0 = skip)"
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--spec", type=Path, default=REPO / "examples" / "bookstore.yaml")
    add_environment_arguments(parser, database="apiforge_bench_cursor")
    parser.add_argument("--port", type=int, default=18190)
    args = parser.parse_args()
    args.rows = args.rows or (200_000 if args.quick else 1_000_000)
    args.requests = args.requests or (60 if args.quick else 300)
    if args.load_seconds is None:
        args.load_seconds = 2.0 if args.quick else 5.0
    args.sorts = [s.strip() for s in args.sorts.replace(";", ",").split(",") if s.strip()]
    for sort in args.sorts:
        if sort.lstrip("-") not in SQL_TYPES:
            parser.error(f"--sorts: {sort!r} is not one of {', '.join(SQL_TYPES)}")
    if args.rows < 4 * args.limit:
        parser.error("--rows must be at least 4 × --limit")
    return args


def sort_values(sort: str, item: dict, tie_breaker: bool) -> list[list[str]]:
    """[type, text] of each keyset value of an item: the sort field, then id."""
    field = sort.lstrip("-")
    values = [[SQL_TYPES[field], str(item[field])]]
    if field != "id" and tie_breaker:
        values.append(["int", str(item["id"])])
    return values


def encode(venv_python: Path, requests: list[tuple[str, list[list[str]]]]) -> list[str]:
    out = run(
        [venv_python, "-c", ENCODE_HELPER],
        what=f"{SERVICE}.pagination.encode_cursor",
        timeout=60,
        input=json.dumps(requests),
    ).stdout
    return json.loads(out)


def order_sql(sort: str, id_descending: bool) -> str:
    field = sort.lstrip("-")
    direction = "DESC" if sort.startswith("-") else "ASC"
    if field == "id":
        return f"id {direction}"
    return f"{field} {direction}, id {'DESC' if id_descending else 'ASC'}"


def row_at(pg: Postgres, database: str, sort: str, id_descending: bool, offset: int) -> dict:
    field = sort.lstrip("-")
    extra = "" if field == "id" else f", '{field}', {field}::text"
    out = pg.psql(
        f"SELECT json_build_object('id', id{extra}) FROM books "
        f"ORDER BY {order_sql(sort, id_descending)} OFFSET {offset} LIMIT 1;",
        database,
        timeout=300,
    )
    return json.loads(out)


def first_ids(pg: Postgres, database: str, sort: str, id_descending: bool, limit: int) -> list[int]:
    out = pg.psql(
        f"SELECT id FROM books ORDER BY {order_sql(sort, id_descending)} LIMIT {limit};", database
    )
    return [int(v) for v in out.split()]


def timed_get(conn, path: str) -> tuple[float, int, dict]:
    started = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    return elapsed, response.status, json.loads(body) if body else {}


def measure_sort(args, pg, venv, server, cores, tool, sort: str) -> dict:
    base = f"{PREFIX}?sort={urllib.parse.quote(sort)}&limit={args.limit}"
    status, _, first = http_request("GET", server.base + base)
    if status != 200 or not isinstance(first, dict) or "next_cursor" not in first:
        raise BenchError(f"GET {base} answered {status}: {str(first)[:300]}")
    items = first["items"]
    if len(items) != args.limit or not first["next_cursor"]:
        raise BenchError(
            f"GET {base}: expected {args.limit} items and a next_cursor, got "
            f"{len(items)} items, next_cursor={first['next_cursor']!r}"
        )

    # Which tie-breaker order does the service use (id ascending, or following the sort)?
    ids = [item["id"] for item in items]
    candidates = [
        d for d in (False, True) if first_ids(pg, args.database, sort, d, args.limit) == ids
    ]
    if not candidates:
        raise BenchError(
            f"sort={sort}: the first page matches neither ORDER BY "
            f"{order_sql(sort, False)} nor {order_sql(sort, True)}; ids {ids}"
        )
    id_descending = candidates[0]

    # Prove the cursor construction on the first page, then build the deep cursor.
    last = items[-1]
    tries = [sort_values(sort, last, True), sort_values(sort, last, False)]
    rebuilt = encode(venv.python, [(sort, t) for t in tries])
    matching = [t for t, token in zip(tries, rebuilt, strict=True) if token == first["next_cursor"]]
    if not matching:
        raise BenchError(
            f"sort={sort}: encode_cursor({sort!r}, values of the last item) gives {rebuilt}, "
            "but the "
            f"service answered next_cursor={first['next_cursor']!r}; the cursor format changed "
            "(update ENCODE_HELPER / sort_values in this script)"
        )
    with_tie_breaker = len(matching[0]) > 1
    depth = args.rows - 2 * args.limit
    deep_row = row_at(pg, args.database, sort, id_descending, depth - 1)
    expected_first = row_at(pg, args.database, sort, id_descending, depth)["id"]
    token = encode(venv.python, [(sort, sort_values(sort, deep_row, with_tie_breaker))])[0]
    deep_path = f"{base}&cursor={urllib.parse.quote(token)}"
    status, _, deep = http_request("GET", server.base + deep_path)
    if status != 200 or not isinstance(deep, dict):
        raise BenchError(f"the deep cursor page answered {status}: {str(deep)[:300]}")
    deep_ids = [item["id"] for item in deep["items"]]
    if len(deep_ids) != args.limit or deep_ids[0] != expected_first:
        raise BenchError(
            f"sort={sort}: the deep page should start at id {expected_first} with "
            f"{args.limit} items; it holds {deep_ids[:5]}… ({len(deep_ids)} items)"
        )

    # Sequential, alternating, one keep-alive connection: latency without queueing.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    timings: dict[str, list[float]] = {"first": [], "deep": []}
    try:
        for index in range(args.requests + 20):
            for name, path in (("first", base), ("deep", deep_path)):
                elapsed, status, _ = timed_get(conn, path)
                if status != 200:
                    raise BenchError(f"{name} page answered {status} during the timing")
                if index >= 20:  # the first 20 of each are warm-up
                    timings[name].append(elapsed * 1000)
    finally:
        conn.close()

    result = {
        "sort": sort,
        "depth": depth + 1,
        "tie_breaker_desc": id_descending,
        "first_median_ms": statistics.median(timings["first"]),
        "deep_median_ms": statistics.median(timings["deep"]),
        "first_p90_ms": statistics.quantiles(timings["first"], n=10)[-1],
        "deep_p90_ms": statistics.quantiles(timings["deep"], n=10)[-1],
    }
    result["ratio"] = result["deep_median_ms"] / result["first_median_ms"]
    if args.load_seconds:
        for name, path in (("first", base), ("deep", deep_path)):
            load = run_load(
                tool,
                venv,
                cores,
                server.base,
                "get",
                path,
                seconds=args.load_seconds,
                connections=args.connections,
            )
            if load.errors:
                warn(f"sort={sort} {name}: {load.errors} failed requests under load")
            result[f"{name}_rps"] = load.rps
            result[f"{name}_p99_ms"] = load.p99_ms
        result["rps_ratio"] = (
            result["first_rps"] / result["deep_rps"] if result["deep_rps"] else float("inf")
        )
    return result


def bench(args: argparse.Namespace, cleanup: contextlib.ExitStack) -> int:
    started = time.time()
    pg = Postgres(args.pg_host, args.pg_port, args.pg_user)
    step("checking tools")
    pg_version = pg.check()
    tool = load_tool() if args.load_seconds else "none"
    cores = choose_cores()
    pin_self(cores)
    load_before = load_average()

    venv = ensure_venv(args.venv, args.python)
    work = Path(tempfile.mkdtemp(prefix="apiforge-cursor-"))
    cleanup.callback(shutil.rmtree, work, ignore_errors=True)
    spec = spec_with_cursor_pagination(args.spec, SERVICE, work / "apiforge-cursor.yaml")
    step(f"generating {SERVICE} (bookstore.yaml with `pagination: cursor` on book)")
    project = generate_service(spec, SERVICE, work)
    install_service(venv, project)

    step(f"creating database {args.database}, migrating, seeding {args.rows:,} books")
    pg.recreate(args.database)
    if not args.keep_db:
        cleanup.callback(quietly, pg.drop, args.database)
    db_url = pg.url(args.database)
    migrate(venv, project, db_url)
    seconds = seed(pg, args.database, args.rows, 1_000, detect_tags_kind(pg, args.database))
    say(f"    seeded in {seconds:.1f} s")

    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "DATABASE_URL": db_url}
    flags = uvicorn_flags(venv)
    server = Server(
        key="cursor",
        target=f"{SERVICE}.main:app",
        port=args.port,
        cwd=project,
        env=env,
        log=work / "server.log",
    )
    server.start(venv, flags, cores)
    cleanup.callback(server.stop)
    server.wait_ready()
    pinner = BackendPinner(args.pg_user, args.database, cores.load)
    pinner.start()
    cleanup.callback(pinner.stop)

    results = []
    for sort in args.sorts:
        step(f"sort={sort}: first page vs a cursor {args.rows - 2 * args.limit + 1:,} rows deep")
        result = measure_sort(args, pg, venv, server, cores, tool, sort)
        results.append(result)
        say(
            f"    first {result['first_median_ms']:.2f} ms, deep {result['deep_median_ms']:.2f} ms "
            f"(medians of {args.requests}): {result['ratio']:.2f}×"
        )

    say()
    say(
        f"Cursor depth — {time.strftime('%Y-%m-%d %H:%M')}, {args.rows:,} books, "
        f"limit {args.limit}, "
        f"{pg_version.split(' on ')[0]}, load average {load_before} → {load_average()}"
    )
    head = (
        "| sort | deep row | first page median ms (p90) | deep page median ms (p90) "
        "| deep/first | goal ≤ 1.2× |"
    )
    lines = [head, "| --- | ---: | ---: | ---: | ---: | --- |"]
    for r in results:
        lines.append(
            f"| `{r['sort']}` | {r['depth']:,} | "
            f"{r['first_median_ms']:.2f} ({r['first_p90_ms']:.2f}) | "
            f"{r['deep_median_ms']:.2f} ({r['deep_p90_ms']:.2f}) | {r['ratio']:.2f}× | "
            f"{'yes' if r['ratio'] <= GOAL else 'NO'} |"
        )
    if args.load_seconds:
        lines += [
            "",
            f"Under load ({tool}, {args.connections} connections, {args.load_seconds:g} s each):",
            "",
            "| sort | first page req/s (p99 ms) | deep page req/s (p99 ms) "
            "| first/deep throughput |",
            "| --- | ---: | ---: | ---: |",
        ]
        for r in results:
            lines.append(
                f"| `{r['sort']}` | {r['first_rps']:,.0f} ({r['first_p99_ms']:.1f}) | "
                f"{r['deep_rps']:,.0f} ({r['deep_p99_ms']:.1f}) | {r['rps_ratio']:.2f}× |"
            )
    say("\n".join(lines))
    say(f"\n({(time.time() - started) / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main(bench, parse_args()))
