"""Cursor pagination of the generated bookstore with `pagination: cursor` on books:
copied into the generated project and run by its own pytest (see list_behaviour.py)."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

API = "/api/v1"
PRICES = ["5.00", "9.99", "10.00", "10.00", "19.99", "25.50", "30.00", "49.90", "10.00"]


@pytest.fixture(scope="module")
def books(client: TestClient) -> list[dict[str, Any]]:
    author = client.post(f"{API}/authors", json={"name": "A", "email": "a@example.com"}).json()
    created = []
    for index, price in enumerate(PRICES):
        body = {
            "title": f"Cursor book {index}", "isbn": f"{9781000000000 + index}", "price": price,
            "genre": "fiction", "published_year": 2000 + index, "summary": "-",
            "author_id": author["id"],
        }  # fmt: skip
        response = client.post(f"{API}/books", json=body)
        assert response.status_code == 201, response.text
        created.append(response.json())
    return created


def walk(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    """Follow next_cursor (and the Link header) to the end."""
    items: list[dict[str, Any]] = []
    query: dict[str, Any] = {"limit": 2, **params}
    while True:
        response = client.get(f"{API}/books", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"items", "next_cursor"}
        items.extend(page["items"])
        if page["next_cursor"] is None:
            assert "link" not in response.headers
            return items
        assert f"cursor={page['next_cursor']}" in response.headers["link"]
        assert response.headers["link"].endswith('>; rel="next"')
        query = {**query, "cursor": page["next_cursor"]}


def test_walking_the_cursor_visits_every_row_once_in_order(
    client: TestClient, books: list[dict[str, Any]]
) -> None:
    mine = {book["id"] for book in books}
    by_id = [item["id"] for item in walk(client) if item["id"] in mine]
    assert by_id == sorted(mine)
    by_price = [item for item in walk(client, sort="-price") if item["id"] in mine]
    keys = [(-float(item["price"]), -item["id"]) for item in by_price]
    assert keys == sorted(keys)  # ties (three 10.00) by id, the same way: none lost or repeated
    assert len(by_price) == len(PRICES)


def test_filters_apply_across_cursor_pages(client: TestClient, books: list[dict[str, Any]]) -> None:
    cheap = walk(client, price__lte="10.00", sort="price")
    assert sorted(float(item["price"]) for item in cheap if item["title"].startswith("Cursor")) == [
        5.0, 9.99, 10.0, 10.0, 10.0,
    ]  # fmt: skip


@pytest.mark.parametrize(
    "cursor", ["not-base64!", "e30", "eyJzb3J0IjoiIiwiYWZ0ZXIiOlsieCJdfQ", "A" * 3000]
)
def test_a_tampered_cursor_is_a_400_problem(client: TestClient, cursor: str) -> None:
    response = client.get(f"{API}/books", params={"cursor": cursor})
    assert response.status_code in {400, 422}, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_a_cursor_belongs_to_its_sort(client: TestClient, books: list[dict[str, Any]]) -> None:
    first = client.get(f"{API}/books", params={"limit": 1, "sort": "-price"}).json()
    response = client.get(f"{API}/books", params={"cursor": first["next_cursor"], "sort": "title"})
    assert response.status_code == 400
