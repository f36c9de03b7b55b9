"""Issue 4's proof in our suite: generate the bookstore (page and cursor variants), seed
it, and check every list rule over HTTP on SQLite, PostgreSQL and MariaDB.

The checks live in list_behaviour.py / cursor_behaviour.py and run inside the generated
project (its venv, its `client` fixture), copied next to its own tests.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from apiforge import project as projects

from .conftest import (
    EXAMPLES_DIR,
    Project,
    SharedVenv,
    install_project,
    run_generated_suite,
)

pytestmark = pytest.mark.integration
HERE = Path(__file__).parent


def bookstore(tmp: Path, shared_venv: SharedVenv, *, cursor: bool) -> Project:
    spec_text = (EXAMPLES_DIR / "bookstore.yaml").read_text()
    if cursor:  # the same bookstore, with keyset pages for books (the last resource)
        spec_text = spec_text.rstrip("\n") + "\n    pagination: cursor\n"
    spec = tmp / "bookstore.yaml"
    spec.write_text(spec_text)
    projects.new_service("bookstore", spec_path=spec, database=None, directory=tmp)
    root = tmp / "bookstore"
    return install_project(root, shared_venv, tmp / "venv", example="bookstore")


@pytest.fixture(scope="module")
def page_store(shared_venv: SharedVenv, tmp_path_factory: pytest.TempPathFactory) -> Project:
    return bookstore(tmp_path_factory.mktemp("page-store"), shared_venv, cursor=False)


@pytest.fixture(scope="module")
def cursor_store(shared_venv: SharedVenv, tmp_path_factory: pytest.TempPathFactory) -> Project:
    return bookstore(tmp_path_factory.mktemp("cursor-store"), shared_venv, cursor=True)


def run_checks(project: Project, module: str, database_url: str, tmp: Path) -> None:
    shutil.copy(HERE / module, project.root / "tests" / f"test_zz_{module}")
    result, left = run_generated_suite(project, database_url, tmp, f"tests/test_zz_{module}")
    if not result.ok:
        pytest.fail(result.report(f"{module} (DATABASE_URL={database_url})"), pytrace=False)
    assert not left, f"{module} left behind {left}"


def test_filters_search_sort_pages_and_fields(
    page_store: Project, database_url: str, tmp_path: Path
) -> None:
    run_checks(page_store, "list_behaviour.py", database_url, tmp_path)


def test_cursor_pagination(cursor_store: Project, database_url: str, tmp_path: Path) -> None:
    run_checks(cursor_store, "cursor_behaviour.py", database_url, tmp_path)
