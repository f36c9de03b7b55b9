"""List behaviour of the generated bookstore: copied into the generated project and run by
its own pytest, against its own `client` fixture (tests/conftest.py of the project).

Every filter, range, search, sort, pagination and fieldset rule of DESIGN §4, on rows
whose values are chosen so each assertion can only pass for the right reason.
"""

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

API = "/api/v1"
PROBLEM = "application/problem+json"

BOOKS = [
    # title, price, genre, year, in stock
    ("100% Pure_Python", "10.00", "programming", 2001, True),
    ("Pure Python", "10.00", "programming", 2002, True),
    ("A Brief History", "25.50", "science", 1988, False),
    ("Cosmos", "19.99", "science", 1980, True),
    ("Dune", "9.99", "fiction", 1965, True),
    ("Emma", "5.00", "fiction", 1815, False),
    ("Fluent Python", "49.90", "programming", 2015, True),
    ("Gödel, Escher, Bach", "30.00", "science", 1979, True),
]


@pytest.fixture(scope="module")
def books(client: TestClient) -> list[dict[str, Any]]:
    author = client.post(f"{API}/authors", json={"name": "Author", "email": "a@example.com"})
    other = client.post(f"{API}/authors", json={"name": "Other", "email": "o@example.com"})
    created = []
    for index, (title, price, genre, year, in_stock) in enumerate(BOOKS):
        response = client.post(
            f"{API}/books",
            json={
                "title": title,
                "isbn": f"{9780000000000 + index}",
                "price": price,
                "genre": genre,
                "published_year": year,
                "in_stock": in_stock,
                "summary": f"Summary of {title}",
                "author_id": (author if index % 2 else other).json()["id"],
            },
        )
        assert response.status_code == 201, response.text
        created.append(response.json())
    return created


def titles(client: TestClient, **params: Any) -> list[str]:
    response = client.get(f"{API}/books", params={"page_size": 100, **params})
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


def ours(found: list[str]) -> list[str]:
    """Only this module's books (the generated suite may have added others)."""
    return [title for title in found if title in {book[0] for book in BOOKS}]


def problem(client: TestClient, **params: Any) -> int:
    response = client.get(f"{API}/books", params=params)
    assert response.headers["content-type"] == PROBLEM, response.text
    return response.status_code


def test_exact_filters_repeat_as_any_of(client: TestClient, books: list[dict[str, Any]]) -> None:
    assert set(ours(titles(client, genre="fiction"))) == {"Dune", "Emma"}
    both = ours(titles(client, genre=["fiction", "science"]))
    assert set(both) == {"Dune", "Emma", "A Brief History", "Cosmos", "Gödel, Escher, Bach"}
    assert problem(client, genre="poetry") == 422  # not an enum value


def test_boolean_and_ref_filters(client: TestClient, books: list[dict[str, Any]]) -> None:
    assert set(ours(titles(client, in_stock="false"))) == {"A Brief History", "Emma"}
    author_id = books[1]["author_id"]
    expected = {book["title"] for book in books if book["author_id"] == author_id}
    assert set(ours(titles(client, author_id=author_id))) == expected
    assert problem(client, author_id="abc") == 422


def test_range_filters(client: TestClient, books: list[dict[str, Any]]) -> None:
    found = ours(titles(client, price__gte="10", price__lte="25.50"))
    assert set(found) == {"100% Pure_Python", "Pure Python", "A Brief History", "Cosmos"}
    assert set(ours(titles(client, price__gt="10", price__lt="25.50"))) == {"Cosmos"}
    assert set(ours(titles(client, published_year__lt=1900))) == {"Emma"}
    assert problem(client, price__gte="cheap") == 422


def test_search_is_case_insensitive_and_wildcards_are_literal(
    client: TestClient, books: list[dict[str, Any]]
) -> None:
    assert set(ours(titles(client, search="PYTHON"))) == {
        "100% Pure_Python", "Pure Python", "Fluent Python",
    }  # fmt: skip
    assert ours(titles(client, search="%")) == ["100% Pure_Python"]
    assert ours(titles(client, search="e_P")) == ["100% Pure_Python"]  # `_` is not "any char"
    assert ours(titles(client, search="gödel")) == ["Gödel, Escher, Bach"]


def test_sorting_is_whitelisted_and_stable(client: TestClient, books: list[dict[str, Any]]) -> None:
    by_price = ours(titles(client, sort="-price,title"))
    prices = {title: Decimal(price) for title, price, *_ in BOOKS}
    assert [prices[t] for t in by_price] == sorted(prices.values(), reverse=True)
    # Equal prices fall back to title here, and to id when nothing else decides.
    assert by_price.index("100% Pure_Python") < by_price.index("Pure Python")
    tied = ours(titles(client, sort="price"))
    assert tied.index("100% Pure_Python") < tied.index("Pure Python")  # created first
    assert ours(titles(client, sort="-published_year"))[0] == "Fluent Python"
    for bad in ("isbn", "summary", "title;drop table books", "-", "price,price"):
        assert problem(client, sort=bad) == 400, bad


def test_page_pagination(client: TestClient, books: list[dict[str, Any]]) -> None:
    first = client.get(f"{API}/books", params={"genre": "science", "page_size": 2}).json()
    assert first["total"] == 3 and first["pages"] == 2 and first["page"] == 1
    second = client.get(
        f"{API}/books", params={"genre": "science", "page_size": 2, "page": 2}
    ).json()
    assert len(first["items"]) == 2 and len(second["items"]) == 1
    assert second["total"] == 3 and second["pages"] == 2  # told by the short last page
    single = client.get(f"{API}/books", params={"genre": "science", "page_size": 10}).json()
    assert single["total"] == 3 and single["pages"] == 1  # one short page: no count query
    seen = {item["id"] for item in first["items"]} | {item["id"] for item in second["items"]}
    assert len(seen) == 3
    beyond = client.get(f"{API}/books", params={"genre": "science", "page": 9}).json()
    assert beyond["items"] == [] and beyond["total"] == 3
    for bad in ({"page_size": 101}, {"page_size": 0}, {"page": 0}, {"page": -1}):
        assert problem(client, **bad) == 422, bad


def test_sparse_fieldsets(client: TestClient, books: list[dict[str, Any]]) -> None:
    response = client.get(f"{API}/books", params={"fields": "id,title", "genre": "fiction"})
    assert response.status_code == 200, response.text
    assert all(set(item) == {"id", "title"} for item in response.json()["items"])
    assert problem(client, fields="id,secret") == 400
