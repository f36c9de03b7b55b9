"""(d) The book API built with FastCRUD's `crud_router` (its documented way).

One call builds create (POST), read (GET /{id}), read_multi (GET, page/itemsPerPage,
`sort`, filters from `FilterConfig`), update (PATCH) and delete routes over the
shared SQLAlchemy model, with a session per request from our dependency.
"""

from bench_orm import Book, BookCreate, BookPatch, BookRead, get_session
from fastapi import FastAPI
from fastcrud import FilterConfig, crud_router

app = FastAPI(title="Bookstore (FastCRUD)")
app.include_router(
    crud_router(
        session=get_session,
        model=Book,
        create_schema=BookCreate,
        update_schema=BookPatch,
        select_schema=BookRead,
        path="/api/v1/books",
        tags=["books"],
        filter_config=FilterConfig(
            genre=None,
            in_stock=None,
            author_id=None,
            price__gte=None,
            price__lte=None,
            published_year__gte=None,
            published_year__lte=None,
        ),
    )
)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
