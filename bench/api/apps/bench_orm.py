"""The book table as a plain SQLAlchemy 2 declarative model, with its Pydantic schemas.

Shared by the hand-written (b), fastapi-views (c) and FastCRUD (d) apps, the way one
project would share its models module. The table itself is created by the generated
service's Alembic migration (same columns, same indexes for every implementation).
"""

import datetime
import decimal
import os
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DATABASE_URL = os.environ["DATABASE_URL"]  # postgresql+asyncpg://...
# The generated migration decides the column type of `tags`; run.py tells us which.
TAGS_TYPE = {"json": JSON(), "jsonb": JSONB(), "array": ARRAY(String())}[
    os.environ.get("BENCH_TAGS_KIND", "json")
]


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    bio: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class Book(Base):
    __tablename__ = "books"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    isbn: Mapped[str] = mapped_column(String(255), unique=True)
    price: Mapped[decimal.Decimal] = mapped_column(Numeric(10, 2))
    genre: Mapped[str] = mapped_column(String(11))
    published_year: Mapped[int] = mapped_column(Integer)
    tags: Mapped[list[str] | None] = mapped_column(TAGS_TYPE)
    in_stock: Mapped[bool] = mapped_column(Boolean, default=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"))
    summary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


engine = create_async_engine(DATABASE_URL)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def get_session() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


Genre = Literal["fiction", "science", "programming"]
SORTABLE = ("id", "created_at", "title", "price", "published_year")


class BookCreate(BaseModel):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    isbn: Annotated[str, Field(pattern=r"^\d{13}$")]
    price: Annotated[decimal.Decimal, Field(ge=0, max_digits=10, decimal_places=2)]
    genre: Genre
    published_year: Annotated[int, Field(ge=1450, le=2100)]
    tags: list[str] | None = None
    in_stock: bool = True
    author_id: Annotated[int, Field(ge=1)]
    summary: str


class BookPatch(BaseModel):
    title: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    isbn: Annotated[str, Field(pattern=r"^\d{13}$")] | None = None
    price: Annotated[decimal.Decimal, Field(ge=0, max_digits=10, decimal_places=2)] | None = None
    genre: Genre | None = None
    published_year: Annotated[int, Field(ge=1450, le=2100)] | None = None
    tags: list[str] | None = None
    in_stock: bool | None = None
    author_id: Annotated[int, Field(ge=1)] | None = None
    summary: str | None = None


class BookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    isbn: str
    price: decimal.Decimal
    genre: Genre
    published_year: int
    tags: list[str] | None
    in_stock: bool
    author_id: int
    summary: str
    created_at: datetime.datetime
    updated_at: datetime.datetime
