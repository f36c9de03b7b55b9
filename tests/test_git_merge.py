"""`apiforge regenerate` during a git merge, with real git and no database.

Main holds a project; branch `a` adds field `sku` and edits the hooks module, branch
`b` adds field `colour` and edits a generated router; `git merge b` on `a` conflicts.
The user resolves apiforge.yaml only. (tests/integration/test_branches.py then runs
alembic on a database that followed branch a.)
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apiforge import project as projects
from apiforge.cli import app
from apiforge.update import FileChange

runner = CliRunner()

SPEC = """\
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
RESOLVED_SPEC = SPEC.replace(PRICE, PRICE + SKU + COLOUR)
HOOKS = "src/shop/hooks/product.py"
ROUTER = "src/shop/routers/product.py"
MARKER = re.compile(r"^(<{7}|={7}|>{7})( |$)", re.MULTILINE)


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
    if check:
        assert result.returncode == 0, f"git {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result


def regenerate(shop: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["regenerate", "--project", str(shop), *args])
    return result.exit_code, result.output


def change(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.fixture(scope="module")
def merging(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository in the middle of a conflicting `git merge b` (built once, copied per test)."""
    root = tmp_path_factory.mktemp("merging")
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    (root / "shop.yaml").write_text(SPEC)
    projects.new_service("shop", spec_path=root / "shop.yaml", database=None, directory=repo)
    shop = repo / "shop"
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "shop")
    for branch, field, path, edit in (
        ("a", SKU, HOOKS, "\n\ndef shelf_label(title: str) -> str:\n    return title.upper()\n"),
        ("b", COLOUR, ROUTER, "\n\n# branch b was here\n"),
    ):
        git(repo, "checkout", "--quiet", "-b", branch, "main")
        change(shop / "apiforge.yaml", PRICE, PRICE + field)
        assert regenerate(shop)[0] == 0
        (shop / path).write_text((shop / path).read_text() + edit)
        git(repo, "add", "-A")
        git(repo, "commit", "--quiet", "-m", branch)
    git(repo, "checkout", "--quiet", "a")
    assert git(repo, "merge", "--no-edit", "b", check=False).returncode != 0
    return repo


@pytest.fixture
def repo(merging: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(merging, copy, symlinks=True)
    return copy


def digest(root: Path) -> str:
    hashed = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts):
        hashed.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return hashed.hexdigest()


def markers(root: Path) -> list[str]:
    return [
        str(path.relative_to(root))
        for path in sorted(p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts)
        if MARKER.search(path.read_bytes().decode("utf-8", "replace"))
    ]


def test_regenerate_resolves_everything_but_the_spec(repo: Path) -> None:
    shop = repo / "shop"
    assert markers(shop)  # git left its markers in the record and the generated files
    (shop / "apiforge.yaml").write_text(RESOLVED_SPEC)

    code, output = regenerate(shop)

    assert code == 0, output
    assert markers(shop) == []
    assert "return title.upper()" in (shop / HOOKS).read_text()
    assert "# branch b was here" in (shop / ROUTER).read_text()
    model = (shop / "src/shop/models/product.py").read_text()
    assert "sku: Mapped[str | None]" in model and "colour: Mapped[str]" in model
    merge = [p for p in (shop / "migrations/versions").glob("*_merge_heads.py")]
    assert len(merge) == 1, output
    assert "down_revision: str | Sequence[str] | None = (" in merge[0].read_text()
    assert "git add" in output
    assert projects.check(shop).clean
    assert regenerate(shop) == (0, regenerate(shop)[1])  # idempotent
    assert [p.name for p in (shop / "migrations/versions").glob("*_merge_heads.py")] == [
        merge[0].name
    ]
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "--no-edit")
    assert projects.check(shop).clean


def test_files_the_user_staged_with_markers_are_resolved_too(repo: Path) -> None:
    shop = repo / "shop"
    (shop / "apiforge.yaml").write_text(RESOLVED_SPEC)
    git(repo, "add", "-A")  # a habit: everything staged, markers and all
    code, output = regenerate(shop)
    assert code == 0, output
    assert markers(shop) == []
    assert projects.check(shop).clean


def test_a_spec_still_in_conflict_is_refused_naming_it(repo: Path) -> None:
    shop = repo / "shop"
    before = digest(shop)
    code, output = regenerate(shop)
    assert code == 1, output
    assert "apiforge.yaml still holds conflict markers" in output
    assert digest(shop) == before


@pytest.mark.parametrize("staged", [False, True])
def test_edits_made_after_git_merge_are_kept(repo: Path, staged: bool) -> None:
    """A generated file git merged cleanly, edited again before regenerate ran."""
    shop = repo / "shop"
    (shop / "apiforge.yaml").write_text(RESOLVED_SPEC)
    change(shop / ROUTER, "# branch b was here", "# branch b was here, and me during the merge")
    if staged:
        git(repo, "add", f"shop/{ROUTER}")
    code, output = regenerate(shop)
    assert code == 0, output
    assert "and me during the merge" in (shop / ROUTER).read_text()
    assert markers(shop) == []


@pytest.mark.parametrize("folder", ["", "services/shop"])
def test_a_merge_in_progress_is_found_at_the_root_and_in_a_subfolder(
    tmp_path: Path, folder: str
) -> None:
    from apiforge.gitmerge import THEIRS, merge_in_progress

    repo = tmp_path / "repo"
    project = repo / folder
    project.mkdir(parents=True)
    git(repo, "init", "--quiet", "--initial-branch=main")
    (project / "f.txt").write_text("base\n")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "base")
    assert merge_in_progress(project) is None
    for branch in ("a", "b"):
        git(repo, "checkout", "--quiet", "-b", branch, "main")
        (project / "f.txt").write_text(f"{branch}\n")
        git(repo, "commit", "--quiet", "-am", branch)
    git(repo, "checkout", "--quiet", "a")
    assert git(repo, "merge", "b", check=False).returncode != 0

    merge = merge_in_progress(project)
    assert merge is not None and merge.base is not None
    assert merge.prefix == (f"{folder}/" if folder else "")
    assert merge.read_many(THEIRS, ["f.txt", "absent.txt"]) == {"f.txt": "b\n", "absent.txt": None}
    assert merge_in_progress(tmp_path) is None  # not a git work tree at all


# --- the merge of the two sides, as pure functions ---------------------------------------


def branch_merge(
    new: str, ours: tuple[str, str], theirs: tuple[str, str], on_disk: str = "x\n"
) -> FileChange:
    from apiforge.branches import Side, plan_branch_merge
    from apiforge.plan import PlannedFile

    plan = plan_branch_merge(
        generated={"f.py": PlannedFile("f.py", new)},
        ours=Side({"f.py": ours[0]}, {"f.py": ours[1]}),
        theirs=Side({"f.py": theirs[0]}, {"f.py": theirs[1]}),
        disk={"f.py": on_disk},
        merge_base={},
    )
    (change,) = plan.changes
    return change


BASE_A = "a\nb\nc\nd\ne\n"  # what branch a generated
BASE_B = "a\nb\nc\nd\ne\nf\n"  # what branch b generated (its spec added f)
NEW = "a\nb\nc\nd\ne\nf\ng\n"  # the merged spec renders both


def test_each_sides_edits_are_merged_into_the_merged_render() -> None:
    change = branch_merge(
        NEW, (BASE_A, "a (edited on a)\n" + BASE_A[2:]), (BASE_B, BASE_B.replace("c\n", "c (b)\n"))
    )
    assert change.action == "merge" and change.conflicts == 0
    assert change.content == "a (edited on a)\nb\nc (b)\nd\ne\nf\ng\n"


def test_both_sides_editing_the_same_line_conflict_naming_the_branches() -> None:
    change = branch_merge(
        NEW, (BASE_A, BASE_A.replace("c\n", "c (a)\n")), (BASE_B, BASE_B.replace("c\n", "c (b)\n"))
    )
    assert change.action == "conflict"
    assert change.content is not None
    assert "<<<<<<< theirs (MERGE_HEAD)" in change.content and "c (b)\n" in change.content
    assert ">>>>>>> ours (HEAD) and the merged spec" in change.content
    assert "c (a)\n" in change.content


def test_the_data_model_after_both_branches_merges_their_snapshots() -> None:
    from apiforge.regenerate import _merged_snapshot

    ours = SPEC.replace(PRICE, PRICE + SKU).replace("name: shop", "name: shop\n  version: 1.1.0")
    theirs = SPEC.replace(PRICE, PRICE + COLOUR).replace(
        "name: shop", "name: shop\n  version: 2.0.0"
    )
    resolved = RESOLVED_SPEC.replace("name: shop", "name: shop\n  version: 2.1.0")
    merged = _merged_snapshot(SPEC, ours, theirs, resolved)
    assert list(merged.resources["product"].fields) == ["title", "price", "sku", "colour"]
    assert merged.service.version == "2.1.0"  # both changed it: the resolved spec decides


def test_both_branches_changing_one_field_differently_is_refused() -> None:
    from apiforge.errors import RefusedChange
    from apiforge.regenerate import _merged_snapshot

    ours = SPEC.replace("max_length: 100", "max_length: 150")
    theirs = SPEC.replace("max_length: 100", "max_length: 200")
    with pytest.raises(RefusedChange, match=r"resources\.product\.fields\.title\.max_length"):
        _merged_snapshot(SPEC, ours, theirs, theirs)
