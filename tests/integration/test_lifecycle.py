"""Months of living with a spec, in one test per database: generate, edit like a user,
change the spec again and again through the CLI, and after every step upgrade a
database that holds earlier rows. User edits, rows, `alembic check`, ruff, mypy and
the generated tests must all survive."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apiforge import project as projects
from apiforge.cli import app

from .conftest import (
    TIMEOUT_CHECK,
    TIMEOUT_SUITE,
    Project,
    SharedVenv,
    install_project,
)

pytestmark = pytest.mark.integration
runner = CliRunner()

SPEC = """\
# A shop: its spec changes every few weeks.
apiforge: 1
service:
  name: shop
resources:
  product:
    fields:
      title: {type: str, max_length: 100, search: true, sort: true}
      price: {type: decimal, max_digits: 8, decimal_places: 2, ge: 0}
      note: {type: text, required: false}
"""

ROUTER_EDIT = '''

@router.get("/count", operation_id="count_product")
async def count_products(repository: Repository) -> int:
    """A custom endpoint the user wrote in a generated router."""
    _rows, total = await repository.read_page(ProductListQuery())
    return total
'''

SCHEMA_EDIT = '''
    @field_validator("price")
    @classmethod
    def not_absurd(cls, value: decimal.Decimal) -> decimal.Decimal:
        """A validator the user added to a generated schema."""
        if value > 100_000:
            raise ValueError("that is too expensive")
        return value
'''

REVIEW_HOOKS = (
    """\
from fastapi import APIRouter

from shop.lifecycle import Hooks
from shop.models.review import Review


class ReviewHooks(Hooks[Review]):
    pass
""",
    """\
import logging

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from shop.lifecycle import Hooks
from shop.models.review import Review
from shop.schemas.review import ReviewRead

log = logging.getLogger(__name__)


def summary(review: ReviewRead) -> str:
    return f"{review.stars} stars"


class ReviewHooks(Hooks[Review]):
    async def after_create(self, session: AsyncSession, obj: Review) -> None:
        # Reviews are logged with their stars.
        log.info("Reviews in: %s stars", obj.stars)
""",
)

SQL = """
import asyncio, json, sys
from sqlalchemy import text
from shop.database import create_engine

async def main(url: str, statement: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as connection:
        result = await connection.execute(text(statement))
        rows = [list(map(str, row)) for row in result] if result.returns_rows else []
    await engine.dispose()
    print(json.dumps(rows))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


# A conflict block resolved by keeping both sides, the generated one first.
KEEP_BOTH = re.compile(r"<<<<<<< .*?\n(.*?)=======\n(.*?)>>>>>>> .*?\n", re.DOTALL)


def cli(*args: str) -> None:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output


class Lifecycle:
    def __init__(self, project: Project, database_url: str) -> None:
        self.project = project
        self.url = database_url

    def run(self, *argv: str, timeout: float = TIMEOUT_CHECK) -> str:
        result = self.project.run(*argv, database_url=self.url, timeout=timeout)
        if not result.ok:
            pytest.fail(result.report(" ".join(argv)), pytrace=False)
        return result.stdout + result.stderr

    def sql(self, statement: str) -> list[list[str]]:
        output = self.run("python", "-c", SQL, self.url, statement)
        return json.loads(output.strip().splitlines()[-1])

    def upgrade_and_check(self) -> None:
        self.run("alembic", "upgrade", "head")
        assert "No new upgrade operations detected" in self.run("alembic", "check")


@pytest.fixture
def shop(tmp_path: Path, shared_venv: SharedVenv) -> Project:
    spec = tmp_path / "shop.yaml"
    spec.write_text(SPEC)
    projects.new_service("shop", spec_path=spec, database=None, directory=tmp_path)
    root = tmp_path / "shop"
    return install_project(root, shared_venv, tmp_path / "venv", example="shop")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_a_year_of_spec_changes_keeps_edits_and_rows(shop: Project, database_url: str) -> None:
    root = shop.root
    life = Lifecycle(shop, database_url)
    life.upgrade_and_check()
    life.sql("INSERT INTO products (title, price, created_at, updated_at) "
             "VALUES ('Kettle', 19.99, '2024-01-01 10:00:00', '2024-01-01 10:00:00')")  # fmt: skip

    # The user edits generated code: a custom endpoint, a validator, a comment.
    router, schema = root / "src/shop/routers/product.py", root / "src/shop/schemas/product.py"
    model = root / "src/shop/models/product.py"
    router.write_text(router.read_text() + ROUTER_EDIT)
    edit(schema, "\n\nclass ProductUpdate(", SCHEMA_EDIT + "\n\nclass ProductUpdate(")
    edit(model, "class Product(", "# Prices are in euros.\nclass Product(")

    # v2: a field with a default, a renamed field, a changed constraint.
    spec = root / "apiforge.yaml"
    edit(spec, "      note:", "      stock: {type: int, default: 0, filter: range}\n      note:")
    edit(spec, "max_length: 100", "max_length: 150")
    cli("regenerate", "--project", str(root))
    cli("rename-field", "product", "title", "name", "--project", str(root))
    life.upgrade_and_check()
    assert life.sql("SELECT name, stock FROM products") == [["Kettle", "0"]]

    # v3: a new resource that refers to the first, with rows of its own. Its children route
    # lands where the user appended theirs, at the end of the router: which goes first is
    # the user's call (a conflict, as git merge-file has it); they keep both.
    added = runner.invoke(app, ["add-resource", "review", "body:text", "stars:int:filter",
                                "product:ref:product", "--project", str(root)])  # fmt: skip
    assert added.exit_code == 1 and "conflict  src/shop/routers/product.py" in added.output
    router.write_text(KEEP_BOTH.sub(r"\2\1", router.read_text()))
    cli("regenerate", "--project", str(root))
    life.upgrade_and_check()
    life.sql(
        "INSERT INTO reviews (body, stars, product_id, created_at, updated_at) "
        "VALUES ('Boils fast', 5, 1, '2024-02-01 10:00:00', '2024-02-01 10:00:00')"
    )

    edit(root / "src/shop/hooks/review.py", *REVIEW_HOOKS)

    # v4: the resource is renamed; its rows move with the table, the user's hooks module
    # follows (identifiers only: the comment and the log message keep saying "Reviews").
    cli("rename-resource", "review", "opinion", "--project", str(root))
    life.upgrade_and_check()
    assert life.sql("SELECT body, stars FROM opinions") == [["Boils fast", "5"]]
    hooks = (root / "src/shop/hooks/opinion.py").read_text()
    assert "class OpinionHooks(Hooks[Opinion]):" in hooks
    assert "def summary(review: OpinionRead) -> str:" in hooks
    assert '# Reviews are logged with their stars.\n        log.info("Reviews in:' in hooks
    life.run("ruff", "check", ".")
    life.run("mypy", "--strict", "src")

    # v5: it goes away again (explicitly allowed), the products stay. apiforge keeps the
    # hooks module the user edited; they delete it.
    cli("remove-resource", "opinion", "--project", str(root), "--allow-destructive")
    (root / "src/shop/hooks/opinion.py").unlink()
    life.upgrade_and_check()
    assert life.sql("SELECT name FROM products") == [["Kettle"]]

    assert "A custom endpoint the user wrote" in router.read_text()
    assert "that is too expensive" in schema.read_text()
    assert "# Prices are in euros." in model.read_text()
    assert projects.check(root).clean
    life.run("ruff", "check", ".")
    life.run("ruff", "format", "--check", ".")
    life.run("mypy", "--strict", "src", "tests")
    life.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", timeout=TIMEOUT_SUITE)
    assert life.sql("SELECT name FROM products") == [["Kettle"]]  # pytest used its own database
