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
from importlib import resources
from pathlib import Path

from .errors import ApiforgeError
from .model import ServiceModel, derive
from .plan import FilePlan, PlannedFile
from .spec import Spec

# Files under these folders are written once and then belong to the user.
CREATE_ONCE_PARTS = ("hooks",)


class TemplateError(ApiforgeError):
    """A template produced invalid code: a bug in apiforge, not in the spec."""

    exit_code = 70


def templates_root() -> Path:
    """`templates/` shipped inside the wheel, or the repository's during development."""
    shipped = Path(str(resources.files("apiforge"))) / "templates"
    if shipped.is_dir():
        return shipped
    return Path(__file__).resolve().parents[2] / "templates"


def render_project(spec: Spec) -> FilePlan:
    service = derive(spec)
    with tempfile.TemporaryDirectory(prefix="apiforge-render-") as scratch:
        output = Path(scratch) / "project"
        _run_copier(service, output)
        _normalise_python(output)
        return _collect(output, service)


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
        [*ruff, "check", "--fix-only", "--select", "I,F401,RUF022", "--quiet", "."],
        [*ruff, "format", "--quiet", "."],
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
            _check_syntax(relative, content)
        plan[relative] = PlannedFile(relative, content, _ownership(relative, service))
    return plan


def _ownership(relative: str, service: ServiceModel) -> str:  # type: ignore[return]
    parts = relative.split("/")
    is_hook = parts[:3] == ["src", service.package, "hooks"] and parts[-1] != "__init__.py"
    return "create_once" if is_hook else "managed"


def _check_syntax(relative: str, content: str) -> None:
    try:
        ast.parse(content, filename=relative)
    except SyntaxError as error:
        raise TemplateError(f"generated {relative} is not valid Python: {error}") from None
