"""Branches as the normal team workflow: two branches each change the spec, git merges them.

One project is committed on main. Branch A adds field `sku`, branch B adds field
`colour` (each: edit apiforge.yaml, `apiforge regenerate`, commit), and each branch
also carries a user edit (A in its hooks module, B in a generated router). A database
is upgraded to branch A's head and holds rows. Then `git merge B` conflicts; the user
resolves apiforge.yaml only, and `apiforge regenerate` must resolve the rest: exit 0,
no conflict markers anywhere, both user edits kept, a merge revision joining the two
heads, `alembic upgrade head` and `alembic check` clean on that database, rows kept,
and `apiforge check` clean. On SQLite, and PostgreSQL and MariaDB when reachable.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apiforge import project as projects
from apiforge.cli import app

from .conftest import TIMEOUT_CHECK, SharedVenv, clean_environ, make_overlay, run
from .test_migration_upgrades import SQL_RUNNER

pytestmark = pytest.mark.integration
runner = CliRunner()

SPEC = """\
# The shop's spec.
apiforge: 1
service:
  name: shop
resources:
  product:
    fields:
      title: {type: str, max_length: 100, search: true}
      price: {type: decimal, max_digits: 8, decimal_places: 2}
"""
PRICE = "      price: {type: decimal, max_digits: 8, decimal_places: 2}\n"
SKU = "      sku: {type: str, max_length: 20, required: false}\n"
COLOUR = "      colour: {type: str, max_length: 20, default: black}\n"

HOOKS_EDIT = '''

def shelf_label(title: str) -> str:
    """Branch A's own helper in its hooks module."""
    return title.upper()
'''
ROUTER_EDIT = '''

@router.get("/cheapest", operation_id="cheapest_product")
async def cheapest(repository: Repository) -> str:
    """Branch B's own endpoint in a generated router."""
    return "branch b was here"
'''
MARKER = re.compile(r"^(<{7}|={7}|>{7})( |$)", re.MULTILINE)
STAMP = "'2024-01-01 00:00:00'"


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_AUTHOR_NAME="Dev", GIT_AUTHOR_EMAIL="dev@example.org",
        GIT_COMMITTER_NAME="Dev", GIT_COMMITTER_EMAIL="dev@example.org",
        GIT_CONFIG_NOSYSTEM="1", HOME=str(repo.parent),
    )  # fmt: skip
    result = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        pytest.fail(f"git {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result


def apiforge(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, f"apiforge {' '.join(args)}:\n{result.output}"
    return result.output


def change_spec(project: Path, old: str, new: str) -> None:
    spec = project / "apiforge.yaml"
    text = spec.read_text()
    assert old in text
    spec.write_text(text.replace(old, new))


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def files_with_markers(root: Path) -> list[str]:
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts):
        text = path.read_bytes().decode("utf-8", errors="replace")
        if MARKER.search(text):
            found.append(str(path.relative_to(root)))
    return found


def alembic(project: Path, venv: Path, url: str, *args: str) -> str:
    env = clean_environ()
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["DATABASE_URL"] = url
    result = run(["alembic", *args], cwd=project, env=env, timeout=TIMEOUT_CHECK)
    if not result.ok:
        pytest.fail(result.report(f"alembic {' '.join(args)}"), pytrace=False)
    return result.stdout + result.stderr


def sql(project: Path, venv: Path, url: str, *statements: str) -> list[list[tuple[object, ...]]]:
    env = clean_environ()
    env["DATABASE_URL"] = url
    result = run(
        [str(venv / "bin" / "python"), "-c", SQL_RUNNER, json.dumps(statements)],
        cwd=project, env=env, timeout=TIMEOUT_CHECK,
    )  # fmt: skip
    if not result.ok:
        pytest.fail(result.report(f"running SQL {statements}"), pytrace=False)
    rows = json.loads(result.stdout.strip().splitlines()[-1])
    return [[tuple(row) for row in found] for found in rows]


@pytest.fixture(scope="module")
def overlay(shared_venv: SharedVenv, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("venv-branches")
    try:
        make_overlay(shared_venv, path)
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    return path


def test_two_branches_each_add_a_field_then_merge(
    tmp_path: Path, overlay: Path, database_url: str
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    (tmp_path / "shop.yaml").write_text(SPEC)
    projects.new_service("shop", spec_path=tmp_path / "shop.yaml", database=None, directory=repo)
    shop = repo / "shop"  # the project lives in a subfolder of the repository
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "shop")

    git(repo, "checkout", "--quiet", "-b", "a")
    change_spec(shop, PRICE, PRICE + SKU)
    apiforge("regenerate", "--project", str(shop))
    append(shop / "src/shop/hooks/product.py", HOOKS_EDIT)
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "sku")

    git(repo, "checkout", "--quiet", "-b", "b", "main")
    change_spec(shop, PRICE, PRICE + COLOUR)
    apiforge("regenerate", "--project", str(shop))
    append(shop / "src/shop/routers/product.py", ROUTER_EDIT)
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "colour")

    # The database follows branch A and holds rows.
    git(repo, "checkout", "--quiet", "a")
    alembic(shop, overlay, database_url, "upgrade", "head")
    sql(
        shop, overlay, database_url,
        "INSERT INTO products (title, price, sku, created_at, updated_at) VALUES "
        f"('Lamp', 12.50, 'L-1', {STAMP}, {STAMP}), ('Desk', 99.00, NULL, {STAMP}, {STAMP})",
    )  # fmt: skip

    merged = git(repo, "merge", "--no-edit", "b", check=False)
    assert merged.returncode != 0, "the spec edits should conflict"
    conflicted = git(repo, "diff", "--name-only", "--diff-filter=U").stdout.split()
    assert "shop/apiforge.yaml" in conflicted

    # The user resolves the spec only: both fields.
    (shop / "apiforge.yaml").write_text(SPEC.replace(PRICE, PRICE + SKU + COLOUR))
    output = apiforge("regenerate", "--project", str(shop))

    assert files_with_markers(shop) == [], output
    assert "both branches' edits kept" in output and "git add" in output
    print(output)
    assert "return title.upper()" in (shop / "src/shop/hooks/product.py").read_text()
    assert "branch b was here" in (shop / "src/shop/routers/product.py").read_text()
    model = (shop / "src/shop/models/product.py").read_text()
    assert "sku: Mapped[str | None]" in model and "colour: Mapped[str]" in model

    alembic(shop, overlay, database_url, "upgrade", "head")
    assert "No new upgrade operations detected" in alembic(shop, overlay, database_url, "check")
    heads = alembic(shop, overlay, database_url, "heads")
    assert len(heads.strip().splitlines()) == 1, heads
    rows = sql(shop, overlay, database_url, "SELECT title, sku, colour FROM products ORDER BY id")
    assert rows == [[("Lamp", "L-1", "black"), ("Desk", None, "black")]]

    checked = runner.invoke(app, ["check", "--project", str(shop)])
    assert checked.exit_code == 0, checked.output

    # The merge commits as it is, and the project stays clean afterwards.
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "--no-edit")
    assert runner.invoke(app, ["check", "--project", str(shop)]).exit_code == 0
