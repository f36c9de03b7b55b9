"""(e) The practical limit: bare Starlette routes over an asyncpg pool.

No ORM, no Pydantic, no dependency injection: asyncpg's per-connection prepared
statement cache, rows turned into dicts and serialised with orjson, and the same
request validation done by hand. Same URLs, query parameters and JSON shapes as
the generated service (a), so the load generator sends the same requests.
"""

import datetime
import decimal
import math
import os
import re
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

DSN = os.environ["BENCH_PG_DSN"]  # postgresql://user@host:port/db
TAGS_KIND = os.environ.get("BENCH_TAGS_KIND", "json")  # json | jsonb | array
INT4_MAX = 2**31 - 1
GENRES = frozenset({"fiction", "science", "programming"})
SORTABLE = frozenset({"id", "created_at", "title", "price", "published_year"})
ISBN = re.compile(r"\d{13}")
JSON_OPTIONS = orjson.OPT_UTC_Z
# price as text: numeric(10,2) prints exactly as Pydantic serialises the Decimal.
COLUMNS = (
    "id, title, isbn, price::text AS price, genre, published_year, tags, in_stock,"
    " author_id, summary, created_at, updated_at"
)
GET_SQL = f"SELECT {COLUMNS} FROM books WHERE id = $1"
INSERT_SQL = (
    "INSERT INTO books (title, isbn, price, genre, published_year, tags, in_stock,"
    " author_id, summary, created_at, updated_at)"
    f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {COLUMNS}"
)

pool: asyncpg.Pool


@asynccontextmanager
async def lifespan(_app: Starlette):
    global pool
    pool = await asyncpg.create_pool(DSN, min_size=5, max_size=15)
    yield
    await pool.close()


def book_json(row: asyncpg.Record) -> dict[str, Any]:
    book = dict(row)
    tags = book["tags"]
    if tags is not None and TAGS_KIND != "array":
        book["tags"] = orjson.Fragment(tags)  # json text straight from PostgreSQL
    return book


def json_response(content: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(content, option=JSON_OPTIONS), status, headers, "application/json")


def problem(status: int, title: str, detail: str, errors: list | None = None) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return Response(orjson.dumps(body), status, media_type="application/problem+json")


async def retrieve(request: Request) -> Response:
    book_id = request.path_params["book_id"]
    if not 1 <= book_id <= INT4_MAX:
        return problem(404, "Not Found", f"Book {book_id} does not exist.")
    row = await pool.fetchrow(GET_SQL, book_id)
    if row is None:
        return problem(404, "Not Found", f"Book {book_id} does not exist.")
    return json_response(book_json(row))


# --- list -----------------------------------------------------------------------

_list_sql_cache: dict[tuple, tuple[str, str]] = {}


def _int_param(params, name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    value = int(raw)  # ValueError → 422
    if not low <= value <= high:
        raise ValueError(name)
    return value


async def list_books(request: Request) -> Response:
    params = request.query_params
    try:
        page = _int_param(params, "page", 1, 1, 1_000_000)
        page_size = _int_param(params, "page_size", 20, 1, 100)
        shape: list[str] = []
        args: list[Any] = []
        genres = params.getlist("genre")
        if genres:
            if not GENRES.issuperset(genres):
                raise ValueError("genre")
            shape.append("genre = ANY($%d)")
            args.append(genres)
        if "in_stock" in params:
            shape.append("in_stock = $%d")
            args.append({"true": True, "false": False}[params["in_stock"].lower()])
        if "author_id" in params:
            shape.append("author_id = ANY($%d)")
            args.append([int(v) for v in params.getlist("author_id")])
        for name, op in (("price__gte", ">="), ("price__lte", "<=")):
            if name in params:
                shape.append(f"price {op} $%d")
                args.append(decimal.Decimal(params[name]))
        for name, op in (("published_year__gte", ">="), ("published_year__lte", "<=")):
            if name in params:
                shape.append(f"published_year {op} $%d")
                args.append(int(params[name]))
        if params.get("search"):
            shape.append("title ILIKE $%d ESCAPE '\\'")
            term = params["search"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            args.append(f"%{term}%")
        order = []
        for raw in (params.get("sort") or "").split(","):
            name = raw.strip()
            if not name:
                continue
            column = name.lstrip("-")
            if column not in SORTABLE:
                return problem(400, "Bad Request", f"Cannot sort by {column!r}.")
            # books.price, not the `price::text AS price` output column
            order.append(f"books.{column} DESC" if name.startswith("-") else f"books.{column}")
    except (ValueError, KeyError, decimal.InvalidOperation) as error:
        return problem(422, "Unprocessable Content", f"Invalid query parameter: {error}")
    if "books.id" not in {o.split()[0] for o in order}:
        order.append("books.id")
    key = (tuple(shape), tuple(order))
    sqls = _list_sql_cache.get(key)
    if sqls is None:
        where = " AND ".join(c % (i + 1) for i, c in enumerate(shape)) or "TRUE"
        n = len(shape)
        sqls = (
            f"SELECT {COLUMNS} FROM books WHERE {where} ORDER BY {', '.join(order)}"
            f" LIMIT ${n + 1} OFFSET ${n + 2}",
            f"SELECT count(*) FROM books WHERE {where}",
        )
        _list_sql_cache[key] = sqls
    async with pool.acquire() as conn:
        rows = await conn.fetch(sqls[0], *args, page_size, (page - 1) * page_size)
        total = await conn.fetchval(sqls[1], *args)
    return json_response(
        {
            "items": [book_json(row) for row in rows],
            "total": total,
            "page": page,
            "page_size": page_size,
            "pages": math.ceil(total / page_size),
        }
    )


# --- create ---------------------------------------------------------------------


def validate_book(data: Any) -> tuple[list[Any], list[dict[str, Any]]]:
    """The BookCreate rules, by hand: values in INSERT order, or the errors."""
    errors: list[dict[str, Any]] = []

    def error(field: str, msg: str) -> None:
        errors.append({"loc": ["body", field], "msg": msg, "type": "value_error"})

    if not isinstance(data, dict):
        return [], [{"loc": ["body"], "msg": "Input should be an object", "type": "dict_type"}]
    title = data.get("title")
    if not isinstance(title, str) or not 1 <= len(title) <= 200:
        error("title", "a string of 1 to 200 characters")
    isbn = data.get("isbn")
    if not isinstance(isbn, str) or not ISBN.fullmatch(isbn):
        error("isbn", "13 digits")
    price = data.get("price")
    try:
        if isinstance(price, bool) or not isinstance(price, (int, float, str)):
            raise decimal.InvalidOperation
        price = decimal.Decimal(str(price))
        exponent = price.as_tuple().exponent
        if not price.is_finite() or price < 0 or (isinstance(exponent, int) and exponent < -2):
            raise decimal.InvalidOperation
        if len(price.as_tuple().digits) > 10:
            raise decimal.InvalidOperation
    except decimal.InvalidOperation:
        error("price", "a decimal >= 0 with at most 10 digits, 2 after the point")
    genre = data.get("genre")
    if genre not in GENRES:
        error("genre", "one of fiction, science, programming")
    year = data.get("published_year")
    if type(year) is not int or not 1450 <= year <= 2100:
        error("published_year", "an integer from 1450 to 2100")
    tags = data.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        error("tags", "a list of strings")
    in_stock = data.get("in_stock", True)
    if type(in_stock) is not bool:
        error("in_stock", "a boolean")
    author_id = data.get("author_id")
    if type(author_id) is not int or not 1 <= author_id <= INT4_MAX:
        error("author_id", "a positive integer")
    summary = data.get("summary")
    if not isinstance(summary, str):
        error("summary", "a string")
    if errors:
        return [], errors
    if tags is not None and TAGS_KIND != "array":
        tags = orjson.dumps(tags).decode()
    now = datetime.datetime.now(datetime.UTC)
    return [title, isbn, price, genre, year, tags, in_stock, author_id, summary, now], []


async def create(request: Request) -> Response:
    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return problem(422, "Unprocessable Content", "The body is not valid JSON.")
    values, errors = validate_book(data)
    if errors:
        return problem(422, "Unprocessable Content", "The book is not valid.", errors)
    try:
        row = await pool.fetchrow(INSERT_SQL, *values)
    except asyncpg.UniqueViolationError:
        return problem(409, "Conflict", "A book with this isbn already exists.")
    except asyncpg.ForeignKeyViolationError:
        return problem(409, "Conflict", "The author does not exist.")
    return json_response(book_json(row), 201, {"location": f"/api/v1/books/{row['id']}"})


async def health(_request: Request) -> Response:
    return json_response({"status": "ok"})


app = Starlette(
    routes=[
        Route("/api/v1/books", list_books, methods=["GET"]),
        Route("/api/v1/books", create, methods=["POST"]),
        Route("/api/v1/books/{book_id:int}", retrieve, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
    ],
    lifespan=lifespan,
)
