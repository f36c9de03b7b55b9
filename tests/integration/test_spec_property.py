"""The slow half of the spec property: accepted drawn specs make projects that work.

A few specs (seeded, so every run tries the same ones) are drawn from the spec's JSON
Schema with hostile names, as in tests/test_spec_property.py; each one apiforge
accepts is generated with `apiforge new-service`, installed into an overlay of the
shared venv, and must pass ruff, mypy --strict, `alembic upgrade head` and its own
generated tests on SQLite. APIFORGE_SLOW_PROPERTY_EXAMPLES sets how many are drawn
(default 4), besides the examples pinned below.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings

from apiforge.errors import SpecError
from apiforge.loader import load_spec_text

from .conftest import (
    TIMEOUT_CHECK,
    TIMEOUT_SUITE,
    CommandResult,
    SharedVenv,
    generate,
    install_project,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from spec_strategies import spec_texts  # noqa: E402

EXAMPLES = int(os.environ.get("APIFORGE_SLOW_PROPERTY_EXAMPLES", "4"))
SPEC = '{"apiforge": 1, "service": {"name": "svc"}, "resources": {%s}}'
PINNED = (
    SPEC % '"a": {"fields": {"d": {"type": "str", "read_only": true, "required": false}}}',
    SPEC % '"a": {"fields": {"a": {"type": "float", "write_only": true}}}',
)


def accepted(text: str) -> bool:
    try:
        load_spec_text(text, filename="apiforge.yaml")
    except SpecError:
        return False
    return True


def expect_success(result: CommandResult, what: str, spec: str) -> None:
    assert result.ok, f"{result.report(what)}\n--- the spec ---\n{spec}"


def test_accepted_drawn_specs_make_projects_that_pass_their_own_checks(
    shared_venv: SharedVenv, tmp_path_factory: pytest.TempPathFactory
) -> None:
    projects: list[str] = []  # the accepted specs, pinned ones first

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(text=spec_texts())
    # Specs this property found: a resource clients send nothing to (its test of the
    # update hooks expected hooks around an empty update, which is a no-op), and one
    # none of whose fields is both sent and returned (mypy: an untyped empty list).
    @example(text=PINNED[0])
    @example(text=PINNED[1])
    def check(text: str) -> None:
        assume(accepted(text))
        projects.append(text)
        work = tmp_path_factory.mktemp("drawn")
        (work / "apiforge.yaml").write_text(text, encoding="utf-8")
        generation = generate(work / "apiforge.yaml", work / "out")
        assert generation.problem is None, f"{generation.problem}\n--- the spec ---\n{text}"
        assert generation.root is not None
        project = install_project(
            generation.root, shared_venv, tmp_path_factory.mktemp("venv"), example="drawn"
        )
        database = f"sqlite+aiosqlite:///{work / 'dev.db'}"
        expect_success(project.run("ruff", "check", ".", timeout=TIMEOUT_CHECK), "ruff", text)
        expect_success(
            project.run("mypy", "--strict", "src", "tests", timeout=TIMEOUT_CHECK),
            "mypy --strict src tests", text,
        )  # fmt: skip
        expect_success(
            project.run("alembic", "upgrade", "head", database_url=database,
                        timeout=TIMEOUT_CHECK),
            "alembic upgrade head", text,
        )  # fmt: skip
        expect_success(
            project.run("python", "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                        database_url=database, timeout=TIMEOUT_SUITE),
            "the generated test suite", text,
        )  # fmt: skip

    check()
    # Hypothesis stops quietly when too few drawn specs are accepted: make sure some were.
    assert len(projects) > len(PINNED), f"only the pinned specs made projects: {projects}"
