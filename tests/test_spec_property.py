"""Every spec apiforge accepts renders a clean project; every other one is told why.

Specs are drawn from the spec's own JSON Schema with hostile names (see
`spec_strategies`). Each is either rejected with problems that are all located
(`file:line:col: message`), or accepted, rendered (in memory) and the result passes
`ruff check` with the project's own configuration and compiles file by file. The
slow half — install, mypy --strict, alembic and the generated tests — is in
tests/integration/test_spec_property.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, event, example, given, settings
from spec_strategies import spec_texts

from apiforge.errors import SpecError
from apiforge.loader import load_spec_text
from apiforge.render import render_project

EXAMPLES = int(os.environ.get("APIFORGE_PROPERTY_EXAMPLES", "300"))
SPEC = '{"apiforge": 1, "service": {"name": "svc"}, "resources": {%s}}'
LOCATED = re.compile(r"apiforge\.yaml:\d+:\d+: \S")


def accepted_or_located(text: str) -> object:
    """The spec, or None after checking that every problem is located."""
    try:
        return load_spec_text(text, filename="apiforge.yaml")
    except SpecError as error:
        assert error.problems, "a SpecError without problems"
        for problem in error.problems:
            assert LOCATED.match(str(problem)), f"not a located problem: {problem}"
        return None


def check_rendered(spec: object, scratch: Path) -> None:
    plan = render_project(spec)  # type: ignore[arg-type]
    for path, planned in plan.items():
        (scratch / path).parent.mkdir(parents=True, exist_ok=True)
        (scratch / path).write_text(planned.content, encoding="utf-8")
        if path.endswith(".py"):
            compile(planned.content, path, "exec")
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--quiet", "."],
        cwd=scratch, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=spec_texts())
# Specs the property found (each was an internal error or a project failing ruff):
# a decimal bound beyond the 28 digits of Python's default decimal context,
@example(text=SPEC % '"a": {"fields": {"p": {"type": "decimal", "le": 1e19, "unique": true}}}')
# a resource whose clients send nothing (its factories assigned an unused counter),
@example(
    text=SPEC % '"a": {"fields": {"t": {"type": "datetime", "read_only": true, "required": false}}}'
)
# a resource none of whose fields is both sent and returned (mypy: an untyped `[]`),
@example(text=SPEC % '"a": {"fields": {"a": {"type": "float", "write_only": true}}}')
# a resource that can be listed and created but not retrieved (an unused `created`),
@example(text=SPEC % '"a": {"actions": ["list", "create"], "fields": {"a": "str"}}')
# fields named like what the schema and model modules use,
@example(
    text=SPEC % '"a": {"fields": {"classmethod": "str", "field_validator": "str", '
    '"schema": "str", "offset": {"type": "int", "filter": true}}}'
)
# a resource that returns nothing but its id (a `{"id", "id"}` set literal: ruff B033),
@example(
    text=SPEC % '"a": {"timestamps": false, "fields": {"s": {"type": "str", "write_only": true}}}'
)
# and a field named `l` (ruff E741: it reads like `1`).
@example(text=SPEC % '"a": {"fields": {"l": "str"}}')
def test_a_drawn_spec_is_rejected_with_located_problems_or_renders_clean_code(
    text: str, tmp_path_factory: object
) -> None:
    spec = accepted_or_located(text)
    event("accepted" if spec is not None else "rejected")
    if spec is None:
        return
    scratch = tmp_path_factory.mktemp("rendered")  # type: ignore[attr-defined]
    check_rendered(spec, scratch)
