"""Fallback load generator for when wrk is not installed (run.py picks it by itself).

Keep-alive HTTP/1.1 over asyncio (uvloop when present), a fixed number of
connections each sending its next request as soon as the previous answer is in:
the same closed loop as wrk, and the same requests as wrk/bench.lua. Prints one
`BENCH_JSON {...}` line with the fields bench.lua prints. Much slower than wrk: at
high request rates it, not the app, can become the limit (run.py says so).
"""

import argparse
import asyncio
import itertools
import json
import random
import time
import urllib.parse

GENRES = ("fiction", "science", "programming")


def build_request(args: argparse.Namespace, host: str, counter: itertools.count) -> bytes:
    if args.mode == "retrieve":
        return (
            f"GET {args.path}/{random.randint(1, args.max_id)} HTTP/1.1\r\nHost: {host}\r\n\r\n"
        ).encode()
    if args.mode == "create":
        n = next(counter)
        body = json.dumps(
            {
                "title": f"Benchmark book {n}",
                "isbn": f"{args.isbn_prefix}0{n:09d}",
                "price": round(random.uniform(1, 199), 2),
                "genre": random.choice(GENRES),
                "published_year": random.randint(1950, 2024),
                "tags": ["bench", "wrk"],
                "in_stock": True,
                "author_id": random.randint(1, 1000),
                "summary": "Created by the API benchmark.",
            }
        ).encode()
        return (
            f"POST {args.path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
    return f"GET {args.path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def worker(args, host, port, deadline, counter, latencies, errors):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            request = build_request(args, f"{host}:{port}", counter)
            started = time.perf_counter()
            writer.write(request)
            try:
                status = await asyncio.wait_for(read_response(reader), 5)
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                errors["timeouts"] += 1
                return
            latencies.append(time.perf_counter() - started)
            if status >= 400:
                errors["status"] += 1
    finally:
        writer.close()


async def main(args: argparse.Namespace) -> None:
    parts = urllib.parse.urlsplit(args.url)
    latencies: list[float] = []
    errors = {"status": 0, "timeouts": 0}
    counter = itertools.count(1)
    started = time.perf_counter()
    deadline = started + args.seconds
    await asyncio.gather(
        *(
            worker(args, parts.hostname, parts.port, deadline, counter, latencies, errors)
            for _ in range(args.connections)
        )
    )
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> int:
        if not latencies:
            return 0
        return int(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1e6)

    mean = sum(latencies) / len(latencies) * 1e6 if latencies else 0
    print(
        "BENCH_JSON "
        + json.dumps(
            {
                "requests": len(latencies),
                "duration_us": int(elapsed * 1e6),
                "bytes": 0,
                "status_errors": errors["status"],
                "connect_errors": 0,
                "read_errors": 0,
                "write_errors": 0,
                "timeouts": errors["timeouts"],
                "p50_us": pct(50),
                "p90_us": pct(90),
                "p99_us": pct(99),
                "mean_us": mean,
                "max_us": int(latencies[-1] * 1e6) if latencies else 0,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--mode", choices=["retrieve", "get", "create"], required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--max-id", type=int, default=1)
    parser.add_argument("--isbn-prefix", default="100")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    arguments = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        uvloop = None
    (uvloop.run if uvloop is not None else asyncio.run)(main(arguments))
