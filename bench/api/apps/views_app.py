"""(c) The book API built with fastapi-views: a generic viewset over a repository.

`AsyncGenericViewSet` wires list / create / retrieve / update / partial update /
destroy; the library's `Filter` (page pagination, ordering, search, model filters)
is turned into SQLAlchemy by its own `SQLAlchemyFilterResolver`. The repository is
ours (fastapi-views is ORM-agnostic): an `AsyncSession` per request, ORM objects.
"""

import decimal
import math
from typing import Annotated, Any

from bench_orm import SORTABLE, Book, BookCreate, BookPatch, BookRead, Genre, get_session
from fastapi import Depends, FastAPI, Request, Response
from fastapi_views import ViewRouter, configure_app
from fastapi_views.filters import Filter
from fastapi_views.filters.resolvers.sqlalchemy import SQLAlchemyFilterResolver
from fastapi_views.filters.types import QueryField
from fastapi_views.views.generics import AsyncGenericViewSet
from pydantic import BaseModel
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession


class BookFilter(Filter):
    ordering_fields = set(SORTABLE)
    search_fields = {"title"}

    genre: QueryField[Genre]
    in_stock: QueryField[bool]
    author_id: QueryField[int]
    price__ge: QueryField[decimal.Decimal]
    price__le: QueryField[decimal.Decimal]
    published_year__ge: QueryField[int]
    published_year__le: QueryField[int]


class BookId(BaseModel):
    id: int


class BookRepository(SQLAlchemyFilterResolver):
    filter_model = Book

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, id: int) -> Book | None:
        return await self.session.get(Book, id)

    async def list(self, **filters: Any) -> list[Book]:
        return list((await self.session.scalars(select(Book).filter_by(**filters))).all())

    async def get_filtered_page(self, filter: BookFilter, **_: Any) -> dict[str, Any]:
        conditions = self.get_filters(filter)
        total = await self.session.scalar(select(func.count()).select_from(Book).where(*conditions))
        query = self.apply_filter(filter, select(Book)).order_by(Book.id)  # tie-breaker
        items = (await self.session.scalars(query)).all()
        return {
            "items": items,
            "current_page": filter.page,
            "page_size": filter.page_size,
            "total_items": total,
            "total_pages": math.ceil(total / filter.page_size),
            "has_more": filter.page * filter.page_size < total,
        }

    async def create(self, **values: Any) -> Book | None:
        book = Book(**values)
        self.session.add(book)
        try:
            await self.session.commit()
        except IntegrityError:
            await self.session.rollback()
            return None  # the view answers 409 Conflict
        await self.session.refresh(book)
        return book

    async def update_one(self, values: dict[str, Any], id: int) -> Book | None:
        await self.session.execute(update(Book).where(Book.id == id).values(**values))
        await self.session.commit()
        return await self.get(id)

    async def delete_one(self, id: int) -> None:
        await self.session.execute(delete(Book).where(Book.id == id))
        await self.session.commit()


class BookViewSet(AsyncGenericViewSet):
    api_component_name = "Book"
    response_schema = BookRead
    create_schema = BookCreate
    update_schema = BookCreate
    partial_update_schema = BookPatch
    primary_key = BookId
    filter = BookFilter
    from_attributes = True

    def __init__(
        self,
        request: Request,
        response: Response,
        session: Annotated[AsyncSession, Depends(get_session)],
    ) -> None:
        super().__init__(request, response)
        self.repository = BookRepository(session)


router = ViewRouter(prefix="/api/v1/books")
router.register_view(BookViewSet)

app = FastAPI(title="Bookstore (fastapi-views)")
app.include_router(router)
# The library's one-call setup (RFC 9457 errors, gzip, request limits), minus the
# Prometheus middleware, which needs another package and is no part of this API.
configure_app(app, enable_prometheus_middleware=False)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
