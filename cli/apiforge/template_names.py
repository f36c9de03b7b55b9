"""Which spec names would clash with the names the generated code itself uses.

A list of the templates' names always misses one, so this module keeps none: it
renders the templates (with Jinja, then `ruff format` in a scratch folder) from the spec's
derived model with every name that comes from the spec replaced by a unique token,
and reads each generated module's scopes with Python's own `symtable`. The real
project is that code with the tokens replaced by the spec's names, so it means the
same thing exactly when, in every scope, no two symbols become one name, no name
becomes a keyword, no class attribute becomes an attribute the class inherits and
no two files land on one path. Whatever the templates add later is covered the day
it is added.
"""

from __future__ import annotations

import ast
import importlib
import keyword
import re
import subprocess
import symtable
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from .model import ChildLink, FieldModel, ResourceModel, ServiceModel
from .spec import KEY
from .spec import Path as Location

TOKEN = re.compile(r"zq\d{4}q")
YIELD = re.compile(r"\{% yield r from s\.resources %\}(.*?)\{% endyield %\}")
# Class attributes of bases apiforge cannot import to ask (SQLAlchemy is a dependency
# of the generated service, not of apiforge): DeclarativeBase's public attributes.
UNIMPORTABLE_BASE_MEMBERS = {
    "sqlalchemy.orm.DeclarativeBase": frozenset({"metadata", "registry", "type_annotation_map"}),
}


@dataclass(frozen=True)
class Origin:
    """Where a spec name comes from: what to call it and where it is in the spec."""

    what: str  # "resource name 'book'", "field 'title' of resource 'book'"
    where: Location
    resource: str
    field: str | None = None


@dataclass(frozen=True)
class Clash:
    origin: Origin
    name: str  # the name in the generated code
    file: str  # the generated file, as the project would have it
    reason: str  # what else `name` is there

    @property
    def message(self) -> str:
        return (
            f"{self.origin.what} cannot be used: in the generated {self.file} "
            f"`{self.name}` would also be {self.reason}; choose another name"
        )


class Tokens:
    """Unique tokens for the spec's names, and what each one stands for."""

    def __init__(self) -> None:
        self.meaning: dict[str, tuple[str, Origin]] = {}

    def token(self, real: str, origin: Origin, memo: dict[str, str]) -> str:
        """One token per distinct string of one resource or field (`memo`)."""
        if real not in memo:
            memo[real] = f"zq{len(self.meaning):04d}q"
            self.meaning[memo[real]] = (real, origin)
        return memo[real]

    def real(self, text: str) -> str:
        return TOKEN.sub(lambda match: self.meaning[match.group()][0], text)

    def origin(self, text: str) -> Origin | None:
        found = TOKEN.search(text)
        return self.meaning[found.group()][1] if found else None


# ------------------------------------------------------------------ tokenizing


def tokenized(service: ServiceModel) -> tuple[ServiceModel, Tokens]:
    """`service` with every identifier that comes from the spec replaced by a token."""
    tokens = Tokens()
    memos: dict[str, dict[str, str]] = {}
    names: dict[str, str] = {}
    for r in service.resources:
        memos[r.name] = {}
        origin = Origin(f"resource name {r.name!r}", ("resources", r.name, KEY), r.name)
        names[r.name] = tokens.token(r.name, origin, memos[r.name])
    tables = {r.name: r.table for r in service.resources}
    fields: dict[tuple[str, str], FieldModel] = {}
    resources: dict[str, ResourceModel] = {}
    for r in service.resources:
        memo = memos[r.name]
        origin = tokens.meaning[names[r.name]][1]
        for f in r.fields:
            fields[(r.name, f.name)] = _tokenized_field(tokens, r.name, f, names, tables, memos)
        renamed: dict[str, Any] = {
            part: tokens.token(getattr(r, part), origin, memo)
            for part in ("name", "module", "class_name", "var", "plural", "table", "path")
        }
        resources[r.name] = replace(
            r, **renamed, fields=tuple(fields[(r.name, f.name)] for f in r.fields)
        )
    children = {
        names[parent]: tuple(
            ChildLink(resources[link.resource.name], fields[(link.resource.name, link.field.name)])
            for link in links
        )
        for parent, links in service.children.items()
    }
    package = Origin(f"package {service.package!r}", ("service", "package"), "")
    return replace(
        service,
        package=tokens.token(service.package, package, {}),
        resources=tuple(resources[r.name] for r in service.resources),
        children=children,
    ), tokens


def _tokenized_field(
    tokens: Tokens,
    resource: str,
    field: FieldModel,
    names: dict[str, str],
    tables: dict[str, str],
    memos: dict[str, dict[str, str]],
) -> FieldModel:
    memo: dict[str, str] = {}
    origin = Origin(
        f"field name {field.name!r} of resource {resource!r}",
        ("resources", resource, "fields", field.name, KEY),
        resource,
        field.name,
    )
    target = field.ref_target
    foreign_key = None
    if target:
        target_origin = tokens.meaning[names[target]][1]
        foreign_key = f"{tokens.token(tables[target], target_origin, memos[target])}.id"
    renamed: dict[str, Any] = {
        part: tokens.token(getattr(field, part), origin, memo) for part in ("name", "key", "attr")
    }
    return replace(
        field,
        **renamed,
        ref_target=names[target] if target else None,
        foreign_key=foreign_key,
    )


# ------------------------------------------------------------------- rendering


@cache
def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader

    from .escape import EscapeFilters
    from .render import templates_root

    return Environment(
        loader=FileSystemLoader(str(templates_root() / "service" / "project")),
        extensions=[EscapeFilters],
        keep_trailing_newline=True,
    )


@cache
def _template_paths() -> tuple[str, ...]:
    from .render import templates_root

    root = templates_root() / "service" / "project"
    return tuple(sorted(p.relative_to(root).as_posix() for p in root.rglob("*.jinja")))


def rendered(service: ServiceModel) -> dict[str, str]:
    """Every generated file's path → its text, Python formatted by the project's ruff
    (which also rewrites syntax that only newer Pythons than this one can parse)."""
    environment = _environment()
    files: dict[str, str] = {}
    for template in _template_paths():
        per_resource = YIELD.search(template)
        for r in service.resources if per_resource else (None,):
            path_template = YIELD.sub(r"\1", template).removesuffix(".jinja")
            path = environment.from_string(path_template).render(s=service, r=r)
            files[path] = environment.get_template(template).render(s=service, r=r)
    return _formatted(files)


def _formatted(files: dict[str, str]) -> dict[str, str]:
    with tempfile.TemporaryDirectory(prefix="apiforge-names-") as scratch:
        root = Path(scratch)
        for path, text in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
        subprocess.run(
            [sys.executable, "-m", "ruff", "format", "--no-cache", "--quiet", "."],
            cwd=root, capture_output=True, check=False,
        )  # fmt: skip
        return {path: (root / path).read_text(encoding="utf-8") for path in files}


# ------------------------------------------------------------------- the clashes


@dataclass(frozen=True)
class Analysis:
    clashes: tuple[Clash, ...]  # every way a spec name clashes, once per name and place
    imported_modules: frozenset[str]  # top-level modules the generated code imports
    project_packages: frozenset[str]  # top-level packages of the project (`tests`)
    routes: frozenset[str]  # paths the shared modules route themselves (`/health`)

    def shadowing_fields(self, service: ServiceModel) -> frozenset[tuple[str, str]]:
        """(resource, field) whose Python attribute clashes: an alias would cure them."""
        attrs = {(r.name, f.name): f.attr for r in service.resources for f in r.fields}
        return frozenset(
            (clash.origin.resource, clash.origin.field)
            for clash in self.clashes
            if clash.origin.field is not None
            and attrs.get((clash.origin.resource, clash.origin.field)) == clash.name
        )


_ANALYSES: dict[str, Analysis] = {}  # by the service's repr: derive and validate share them


def analyse(service: ServiceModel) -> Analysis:
    """The clashes of `service`'s names with the generated code's (cached per service)."""
    key = repr(service)
    if key not in _ANALYSES:
        if len(_ANALYSES) >= 16:
            _ANALYSES.pop(next(iter(_ANALYSES)))
        _ANALYSES[key] = _analyse(service)
    return _ANALYSES[key]


def _analyse(service: ServiceModel) -> Analysis:
    from .render import check_syntax

    token_service, tokens = tokenized(service)
    files = rendered(token_service)
    for path, text in files.items():
        if path.endswith(".py"):
            check_syntax(path, text)
    found: dict[tuple[Origin, str], Clash] = {}
    for clash in _all_clashes(files, tokens):
        found.setdefault((clash.origin, clash.name), clash)
    modules: set[str] = set()
    for path, text in files.items():
        if path.endswith(".py"):
            modules |= _imported_modules(ast.parse(text, filename=path))
    packages = {
        Path(path).parts[0]
        for path in files
        if len(Path(path).parts) == 2 and Path(path).name == "__init__.py"
    }
    routes = {
        route
        for path, text in files.items()
        if path.endswith(".py") and not TOKEN.search(path)
        for route in _routes(ast.parse(text, filename=path))
    }
    return Analysis(
        tuple(found.values()),
        frozenset(m for m in modules if not TOKEN.search(m)),
        frozenset(packages),
        frozenset(routes),
    )


HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "api_route"})


def _routes(tree: ast.Module) -> Iterator[str]:
    """The paths of `@app.get("/health")` and the like."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in HTTP_METHODS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and node.args[0].value.startswith("/")
        ):
            yield node.args[0].value


def _all_clashes(files: dict[str, str], tokens: Tokens) -> Iterator[Clash]:
    yield from _path_clashes(files, tokens)
    classes = _classes(files)
    for path, text in files.items():
        if not path.endswith(".py") or not TOKEN.search(text):
            continue
        real_path = tokens.real(path)
        for scope in _scopes(symtable.symtable(text, path, "exec")):
            yield from _scope_clashes(scope, tokens, real_path)
        yield from _inheritance_clashes(path, classes, tokens, real_path)


def _imported_modules(tree: ast.Module) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module.split(".")[0])
    return modules


def _path_clashes(files: dict[str, str], tokens: Tokens) -> Iterator[Clash]:
    seen: dict[str, str] = {}
    for path in files:
        real = tokens.real(path)
        origin = tokens.origin(path)
        if real in seen and origin is not None:
            yield Clash(origin, real.rsplit("/", 1)[-1], real, "another generated file")
        seen.setdefault(real, path)


def _scopes(table: symtable.SymbolTable) -> Iterator[list[symtable.Symbol]]:
    """The symbols of each scope; annotation scopes (Python 3.12+) count as their owner's."""
    symbols = list(table.get_symbols())
    for child in table.get_children():
        if child.get_type() in ("function", "class", "module"):
            yield from _scopes(child)
        else:
            symbols.extend(child.get_symbols())
    yield symbols


def _scope_clashes(symbols: list[symtable.Symbol], tokens: Tokens, path: str) -> Iterator[Clash]:
    by_real: dict[str, set[str]] = {}
    for symbol in symbols:
        by_real.setdefault(tokens.real(symbol.get_name()), set()).add(symbol.get_name())
    for real, spellings in by_real.items():
        spelled_by_spec = sorted(s for s in spellings if TOKEN.search(s))
        if not spelled_by_spec:
            continue
        first = tokens.origin(spelled_by_spec[0])
        assert first is not None
        if keyword.iskeyword(real):
            yield Clash(first, real, path, "a Python keyword")
        elif len(spellings) > 1:
            others = [tokens.origin(s) for s in sorted(spellings) if s != spelled_by_spec[0]]
            other = others[0]
            reason = (
                other.what
                if other is not None and other != first
                else ("a name the generated code uses there")
            )
            yield Clash(first, real, path, reason)


# A class's own attributes and bases, as read from the generated source.
@dataclass(frozen=True)
class ClassInfo:
    path: str
    members: frozenset[str]
    bases: tuple[tuple[str, str], ...]  # (module or "", name): "" for this module


def _classes(files: dict[str, str]) -> dict[tuple[str, str], ClassInfo]:
    """Classes of every generated module by (module path, name)."""
    classes: dict[tuple[str, str], ClassInfo] = {}
    for path, text in files.items():
        if not path.endswith(".py"):
            continue
        tree = ast.parse(text, filename=path)
        imported = _imported_names(tree)
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                bases = tuple(_base(base, imported) for base in node.bases)
                classes[(path, node.name)] = ClassInfo(
                    path, frozenset(_class_members(node)), tuple(b for b in bases if b)
                )
    return classes


def _imported_names(tree: ast.Module) -> dict[str, str]:
    """Name → the module it is imported from, for `from module import name`."""
    return {
        (alias.asname or alias.name): node.module
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }


def _base(node: ast.expr, imported: dict[str, str]) -> tuple[str, str] | None:
    if isinstance(node, ast.Subscript):  # Generic[...], SqlRepository[Book]
        node = node.value
    if isinstance(node, ast.Name):
        return imported.get(node.id, ""), node.id
    return None


def _class_members(node: ast.ClassDef) -> Iterator[str]:
    for statement in node.body:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            yield statement.target.id
        elif isinstance(statement, ast.Assign):
            yield from (t.id for t in statement.targets if isinstance(t, ast.Name))
        elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield statement.name


def _inheritance_clashes(
    path: str, classes: dict[tuple[str, str], ClassInfo], tokens: Tokens, real_path: str
) -> Iterator[Clash]:
    for (class_path, _), info in classes.items():
        if class_path != path:
            continue
        inherited = _inherited(info, classes)
        for member in sorted(info.members):
            origin = tokens.origin(member)
            if origin is not None and tokens.real(member) in inherited:
                yield Clash(
                    origin, tokens.real(member), real_path, "an attribute the class inherits"
                )


def _inherited(info: ClassInfo, classes: dict[tuple[str, str], ClassInfo]) -> frozenset[str]:
    names: set[str] = set()
    for module, name in info.bases:
        generated = _generated_class(info.path, module, name, classes)
        if generated is not None:
            names |= {m for m in generated.members if not TOKEN.search(m)}
            names |= _inherited(generated, classes)
        else:
            names |= _external_members(module or "builtins", name)
    return frozenset(names)


def _generated_class(
    path: str, module: str, name: str, classes: dict[tuple[str, str], ClassInfo]
) -> ClassInfo | None:
    if not module:
        return classes.get((path, name))
    tail = module.split(".", 1)[-1].replace(".", "/") + ".py"
    return next(
        (
            info
            for (p, n), info in classes.items()
            if n == name and p.endswith(tail) and p.startswith("src/")
        ),
        None,
    )


@cache
def _external_members(module: str, name: str) -> frozenset[str]:
    """The attributes of a class from a library, asked of the library itself."""
    try:
        value = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return UNIMPORTABLE_BASE_MEMBERS.get(f"{module}.{name}", frozenset())
    return frozenset(dir(value))
