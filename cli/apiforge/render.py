"""Rendering: spec → {path: content}, through copier, without touching the project.

Copier renders the service template into a scratch folder; the files are then
normalised (ruff fixes imports and formats, as sqlc runs gofmt), checked with
`ast.parse`, read back and the scratch folder is removed. Same spec and same
templates give byte-identical output.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from .errors import ApiforgeError
from .model import ServiceModel, derive
from .plan import FilePlan, Ownership, PlannedFile
from .spec import Spec

MIGRATIONS_DIR = "migrations/versions"
# The files each resource gets, so a renamed resource's files can move with it.
RESOURCE_FILES = (
    "src/{package}/models/{module}.py",
    "src/{package}/schemas/{module}.py",
    "src/{package}/repositories/{module}.py",
    "src/{package}/routers/{module}.py",
    "src/{package}/hooks/{module}.py",
    "tests/test_{name}.py",
)


class TemplateError(ApiforgeError):
    """A template produced invalid code: a bug in apiforge, not in the spec."""

    exit_code = 70


def templates_root() -> Path:
    """`templates/` shipped inside the wheel, or the repository's during development."""
    shipped = Path(str(resources.files("apiforge"))) / "templates"
    if shipped.is_dir():
        return shipped
    return Path(__file__).resolve().parents[2] / "templates"


def render_project(spec: Spec, *, migrations: Mapping[str, str] | None = None) -> FilePlan:
    """Every generated file. `migrations` (path → text) are normalised with the rest
    and planned as written-once files: a revision is never regenerated."""
    service = derive(spec)
    with tempfile.TemporaryDirectory(prefix="apiforge-render-") as scratch:
        output = Path(scratch) / "project"
        _run_copier(service, output)
        for path, text in (migrations or {}).items():
            (output / path).parent.mkdir(parents=True, exist_ok=True)
            (output / path).write_text(text, encoding="utf-8")
        _normalise_python(output)
        return _collect(output, service)


def resource_files(spec: Spec, name: str) -> list[str]:
    """The paths of one resource's own files."""
    service = derive(spec)
    resource = service.resource(name)
    return [
        pattern.format(package=service.package, module=resource.module, name=resource.name)
        for pattern in RESOURCE_FILES
    ]


def _run_copier(service: ServiceModel, output: Path) -> None:
    import copier  # heavy: imported only when rendering

    copier.run_copy(
        str(templates_root() / "service"),
        str(output),
        data={"s": service},
        defaults=True,
        unsafe=True,  # our own template loads our Jinja extension
        quiet=True,
        overwrite=True,
    )


def _normalise_python(output: Path) -> None:
    """Sort and prune imports, then format, with the generated project's own ruff config."""
    ruff = [sys.executable, "-m", "ruff"]
    steps = (
        [*ruff, "check", "--no-cache", "--fix-only", "--select", "I,F401,RUF022", "--quiet", "."],
        [*ruff, "format", "--no-cache", "--quiet", "."],
    )
    for step in steps:
        result = subprocess.run(step, cwd=output, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise TemplateError(f"ruff failed on generated code:\n{result.stdout}{result.stderr}")


def _collect(output: Path, service: ServiceModel) -> FilePlan:
    plan: FilePlan = {}
    for file in sorted(p for p in output.rglob("*") if p.is_file()):
        relative = file.relative_to(output).as_posix()
        if "__pycache__" in relative or relative.startswith(".ruff_cache"):
            continue
        content = file.read_text(encoding="utf-8")
        if relative.endswith(".py"):
            check_syntax(relative, content)
        plan[relative] = PlannedFile(relative, content, _ownership(relative, service))
    return plan


def _ownership(relative: str, service: ServiceModel) -> Ownership:
    parts = relative.split("/")
    is_hook = parts[:3] == ["src", service.package, "hooks"] and parts[-1] != "__init__.py"
    is_revision = relative.startswith(f"{MIGRATIONS_DIR}/")
    return "create_once" if is_hook or is_revision else "managed"


def check_syntax(relative: str, content: str) -> None:
    """A template bug fails here, naming the generated file, not later in the user's tools."""
    try:
        ast.parse(content, filename=relative)
    except SyntaxError as error:
        raise TemplateError(f"generated {relative} is not valid Python: {error}") from None
