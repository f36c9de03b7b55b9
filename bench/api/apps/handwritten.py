"""(b) The book API as most FastAPI tutorials write it.

FastAPI + SQLAlchemy 2 async ORM: a session per request through a dependency, ORM
objects in and out, Pydantic `response_model`s, commit + refresh after an insert.
Nothing here is tuned for speed; it is the idiomatic baseline.
"""

import decimal
import math
from typing import Annotated

from bench_orm import SORTABLE, Book, BookCreate, BookRead, Genre, get_session
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, status
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

SessionDep = Annotated[AsyncSession, Depends(get_session)]


class BookPage(BaseModel):
    items: list[BookRead]
    total: int
    page: int
    page_size: int
    pages: int


router = APIRouter(prefix="/api/v1/books", tags=["books"])


def order_by(sort: str | None) -> list:
    clauses = []
    for raw in (sort or "").split(","):
        name = raw.strip()
        if not name:
            continue
        column = name.lstrip("-")
        if column not in SORTABLE:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"Cannot sort by {column!r}")
        attribute = getattr(Book, column)
        clauses.append(attribute.desc() if name.startswith("-") else attribute.asc())
    clauses.append(Book.id.asc())  # a unique tie-breaker keeps pages stable
    return clauses


@router.get("", response_model=BookPage)
async def list_books(
    session: SessionDep,
    genre: Annotated[list[Genre] | None, Query()] = None,
    in_stock: bool | None = None,
    author_id: Annotated[list[int] | None, Query()] = None,
    price__gte: decimal.Decimal | None = None,
    price__lte: decimal.Decimal | None = None,
    published_year__gte: int | None = None,
    published_year__lte: int | None = None,
    search: str | None = None,
    sort: str | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
):
    conditions = []
    if genre:
        conditions.append(Book.genre.in_(genre))
    if in_stock is not None:
        conditions.append(Book.in_stock == in_stock)
    if author_id:
        conditions.append(Book.author_id.in_(author_id))
    if price__gte is not None:
        conditions.append(Book.price >= price__gte)
    if price__lte is not None:
        conditions.append(Book.price <= price__lte)
    if published_year__gte is not None:
        conditions.append(Book.published_year >= published_year__gte)
    if published_year__lte is not None:
        conditions.append(Book.published_year <= published_year__lte)
    if search:
        conditions.append(Book.title.icontains(search, autoescape=True))

    total = await session.scalar(select(func.count()).select_from(Book).where(*conditions))
    result = await session.scalars(
        select(Book)
        .where(*conditions)
        .order_by(*order_by(sort))
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return {
        "items": result.all(),
        "total": total,
        "page": page,
        "page_size": page_size,
        "pages": math.ceil(total / page_size),
    }


@router.get("/{book_id}", response_model=BookRead)
async def get_book(book_id: int, session: SessionDep):
    book = await session.get(Book, book_id)
    if book is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Book not found")
    return book


@router.post("", response_model=BookRead, status_code=status.HTTP_201_CREATED)
async def create_book(data: BookCreate, session: SessionDep):
    book = Book(**data.model_dump())
    session.add(book)
    await session.commit()
    await session.refresh(book)
    return book


app = FastAPI(title="Bookstore (hand-written FastAPI + SQLAlchemy ORM)")
app.include_router(router)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
