"""Rendering: spec → {path: PlannedFile}, through copier and ruff, without a project on disk.

Each render takes about a second, so every spec is rendered once per module and the
tests read the same plan. Nothing here installs or runs a generated service (the
integration suite does); these tests read the generated files as text, AST and TOML.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from apiforge.escape import markdown_text
from apiforge.loader import load_spec_text
from apiforge.model import derive
from apiforge.plan import FilePlan
from apiforge.regenerate import plan_for_new_project
from apiforge.spec import ACTIONS, Spec

CREATED = datetime(2026, 11, 29, 14, 30, 5, tzinfo=UTC)  # stamps the first revision

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.yaml"))

EVIL = '"""; import os'
JINJA = "{{ 7*7 }}"
TITLE = f"Evil {EVIL} {JINJA} {{% raw %}} 'single' \\ \x00"
DESCRIPTION = (
    "{% endraw %} '''; import sys\n"
    f"{JINJA} <script>alert(1)</script> *bold* [link](x) a | b back\\slash\\"
)
NAME_DESCRIPTION = EVIL
CODE_DESCRIPTION = f'{JINJA} {{% raw %}} it\'s "quoted" \\'
KIND_DESCRIPTION = "{% endraw %}\n\t{% raw %}"
MOTTO_DEFAULT = f"'''{JINJA}\\"
ENUM_VALUES = [EVIL, JINJA, "it's", "back\\slash", "{% raw %}", "{% endraw %}"]
CODE_PATTERN = "^x\"'\\d{5}$"

# JSON is YAML: it spells every hostile string exactly, with no YAML quoting to get wrong.
INJECTION_SPEC = json.dumps(
    {
        "apiforge": 1,
        "service": {"name": "evil-shop", "title": TITLE, "description": DESCRIPTION},
        "resources": {
            "widget": {
                "description": f"{EVIL}  # {JINJA}",
                "fields": {
                    "name": {"type": "str", "description": NAME_DESCRIPTION, "search": True},
                    "code": {
                        "type": "str",
                        "pattern": CODE_PATTERN,
                        "unique": True,
                        "description": CODE_DESCRIPTION,
                    },
                    "kind": {
                        "type": "enum",
                        "values": ENUM_VALUES,
                        "default": JINJA,
                        "filter": True,
                        "description": KIND_DESCRIPTION,
                    },
                    "motto": {
                        "type": "str",
                        "required": False,
                        "default": MOTTO_DEFAULT,
                        "description": "ends with a backslash\\",
                    },
                },
            },
            # Only two actions: the router must offer nothing else.
            "tag": {
                "actions": ["list", "retrieve"],
                "fields": {"label": "str", "widget": {"type": "ref", "to": "widget"}},
            },
        },
    },
    indent=1,
)

KEYWORD_SPEC = """\
apiforge: 1
service: {name: keywords}
resources:
  group:
    fields:
      name: {type: str, unique: true}
      class: {type: str, required: false, description: a Python keyword}
      from: {type: date, required: false, filter: range, sort: true}
      order: {type: int, sort: true, filter: range}
  user:
    fields:
      email: {type: email, unique: true}
      group: {type: ref, to: group, required: false, on_delete: set_null, filter: true}
      match: {type: enum, values: [admin, member], filter: true}
  order:
    fields:
      user: {type: ref, to: user, on_delete: cascade}
      class: {type: enum, values: [a, b], filter: true}
      select: str
  import:
    fields:
      def: str
      order: {type: ref, to: order}
"""


@cache
def load(text: str) -> Spec:
    return load_spec_text(text, filename="apiforge.yaml")


@cache
def rendered(text: str) -> FilePlan:
    """A new project's files: the rendered service and its first migration."""
    return plan_for_new_project(load(text), created=CREATED)


def first_migration(plan: FilePlan) -> str:
    return next(path for path in plan if path.startswith("migrations/versions/"))


@pytest.fixture(scope="module")
def injection() -> FilePlan:
    return rendered(INJECTION_SPEC)


@pytest.fixture(scope="module")
def keywords() -> FilePlan:
    return rendered(KEYWORD_SPEC)


@pytest.fixture(scope="module", params=EXAMPLES, ids=[p.stem for p in EXAMPLES])
def example(request: pytest.FixtureRequest) -> tuple[Spec, FilePlan]:
    text = request.param.read_text(encoding="utf-8")
    return load(text), rendered(text)


def python_files(plan: FilePlan) -> Iterator[tuple[str, ast.Module]]:
    for path, planned in plan.items():
        if path.endswith(".py"):
            yield path, ast.parse(planned.content, filename=path)


def module(plan: FilePlan, path: str) -> ast.Module:
    return ast.parse(plan[path].content, filename=path)


def keyword_constants(tree: ast.AST, name: str) -> list[object]:
    """Constant values of every `name=` keyword argument in the tree."""
    return [
        node.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.keyword)
        and node.arg == name
        and isinstance(node.value, ast.Constant)
    ]


def string_constants(tree: ast.AST) -> set[str]:
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def class_fields(tree: ast.Module, class_name: str) -> dict[str, ast.AnnAssign]:
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name)
    return {
        n.target.id: n
        for n in cls.body
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    }


def alias(node: ast.AnnAssign) -> object:
    """The `alias=` of a schema field, wherever the annotation or default spells it."""
    aliases = keyword_constants(node, "alias")
    assert len(set(aliases)) <= 1, ast.unparse(node)
    return aliases[0] if aliases else None


def column_name(node: ast.AnnAssign) -> str | None:
    """The explicit column name of `x: Mapped[...] = mapped_column("name", ...)`, if any."""
    call = node.value
    assert isinstance(call, ast.Call) and ast.unparse(call.func) == "mapped_column"
    names = [a.value for a in call.args if isinstance(a, ast.Constant)]
    names += keyword_constants(call, "name")
    assert len(names) <= 1, ast.unparse(node)
    return str(names[0]) if names else None


def ruff_problems(plan: FilePlan, tmp_path: Path) -> str:
    """pyflakes-level problems (undefined names, redefinitions) in the generated Python."""
    for path, planned in plan.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(planned.content, encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--no-cache",
            "--select",
            "F,E9",
            "--output-format",
            "concise",
            ".",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    return "" if result.returncode == 0 else result.stdout + result.stderr


# --- (a) determinism -------------------------------------------------------------------------


def test_same_spec_renders_byte_identical_plans(injection: FilePlan) -> None:
    again = plan_for_new_project(
        load_spec_text(INJECTION_SPEC, filename="other-name.yaml"), created=CREATED
    )
    assert list(again) == list(injection)
    for path, planned in injection.items():
        assert again[path] == planned, f"{path} differs between two renders"
        assert again[path].content.encode() == planned.content.encode()


RENDER_IN_A_FRESH_PROCESS = """
import json, sys
from apiforge.loader import load_spec_text
from apiforge.regenerate import plan_for_new_project
from datetime import UTC, datetime
created = datetime(2026, 11, 29, 14, 30, 5, tzinfo=UTC)
spec = load_spec_text(sys.stdin.read(), filename="apiforge.yaml")
plan = plan_for_new_project(spec, created=created)
json.dump({path: [f.content, f.ownership] for path, f in plan.items()}, sys.stdout)
"""


def test_render_does_not_depend_on_hash_seed() -> None:
    """Another process (another PYTHONHASHSEED, so other set orders) renders the same bytes.

    The `everything` example has every field type and option, so the most templates paths.
    """
    text = (EXAMPLES[0].parent / "everything.yaml").read_text(encoding="utf-8")
    plan = rendered(text)
    cli = str(Path(__file__).resolve().parents[1] / "cli")
    result = subprocess.run(
        [sys.executable, "-c", RENDER_IN_A_FRESH_PROCESS],
        input=text,
        env={**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": cli},
        capture_output=True,
        text=True,
        check=True,
    )
    other = json.loads(result.stdout)
    assert list(other) == list(plan)
    for path, planned in plan.items():
        assert other[path] == [planned.content, planned.ownership], path


def test_plan_keys_are_the_planned_paths(injection: FilePlan) -> None:
    for path, planned in injection.items():
        assert planned.path == path
        assert not path.startswith("/") and ".." not in path.split("/")
    assert list(injection) == sorted(injection)


# --- (b) injection: spec strings land as literal data ----------------------------------------


def test_hostile_spec_renders_valid_python_everywhere(injection: FilePlan, tmp_path: Path) -> None:
    for path, tree in python_files(injection):
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                line = ast.get_source_segment(injection[path].content, node) or ""
                assert '"' not in line and "'" not in line, f"{path}: injected import {line!r}"
    assert ruff_problems(injection, tmp_path) == ""


def test_template_syntax_from_the_spec_is_never_evaluated(injection: FilePlan) -> None:
    for path, planned in injection.items():
        assert "49" not in planned.content, f"{{{{ 7*7 }}}} was evaluated in {path}"
    schemas = injection["src/evil_shop/schemas/widget.py"].content
    assert JINJA in schemas and "{% raw %}" in schemas and "{% endraw %}" in schemas


def test_field_descriptions_are_string_constants(injection: FilePlan) -> None:
    tree = module(injection, "src/evil_shop/schemas/widget.py")
    descriptions = keyword_constants(tree, "description")
    for text in (NAME_DESCRIPTION, CODE_DESCRIPTION, KIND_DESCRIPTION, "ends with a backslash\\"):
        # Create, Patch, Read and Fields (sparse lists) each describe the field.
        assert descriptions.count(text) == 4, text
    create = class_fields(tree, "WidgetCreate")
    assert keyword_constants(create["name"], "description") == [NAME_DESCRIPTION]
    assert MOTTO_DEFAULT in string_constants(create["motto"])  # the default
    assert JINJA in string_constants(create["kind"])


def test_enum_values_and_patterns_are_string_constants(injection: FilePlan) -> None:
    tree = module(injection, "src/evil_shop/schemas/widget.py")
    annotation = class_fields(tree, "WidgetRead")["kind"].annotation
    assert isinstance(annotation, ast.Subscript)
    assert ast.unparse(annotation.value) == "Literal"
    assert isinstance(annotation.slice, ast.Tuple)
    assert [ast.literal_eval(e) for e in annotation.slice.elts] == ENUM_VALUES
    assert keyword_constants(tree, "pattern") == [CODE_PATTERN, CODE_PATTERN]

    model = module(injection, "src/evil_shop/models/widget.py")
    assert JINJA in keyword_constants(model, "default")
    assert MOTTO_DEFAULT in keyword_constants(model, "default")
    longest = max(len(v) for v in ENUM_VALUES)
    assert f"String({longest})" in injection["src/evil_shop/models/widget.py"].content

    factories = module(injection, "tests/factories.py")
    assert set(ENUM_VALUES) <= string_constants(factories)


def test_service_title_and_description_are_constants(injection: FilePlan) -> None:
    main = module(injection, "src/evil_shop/main.py")
    assert keyword_constants(main, "title") == [TITLE]
    assert DESCRIPTION in keyword_constants(main, "description")

    one_line_title = " ".join(TITLE.split())
    init = module(injection, "src/evil_shop/__init__.py")
    assert ast.get_docstring(init, clean=False) == f"{one_line_title}."
    migration = module(injection, first_migration(injection))
    docstring = ast.get_docstring(migration, clean=False) or ""
    assert docstring.splitlines()[0] == f"Create the tables of {one_line_title}."


def test_pyproject_is_valid_toml_with_the_literal_title(injection: FilePlan) -> None:
    pyproject = tomllib.loads(injection["pyproject.toml"].content)
    assert pyproject["project"]["name"] == "evil-shop"
    assert pyproject["project"]["description"] == TITLE


def test_readme_holds_markdown_escaped_text(injection: FilePlan) -> None:
    readme = injection["README.md"].content
    assert readme.splitlines()[0] == f"# {markdown_text(TITLE)}"
    assert markdown_text(DESCRIPTION) in readme

    tokens = MarkdownIt("commonmark").enable("table").parse(readme)
    heading = tokens[1]
    assert tokens[0].type == "heading_open" and heading.children is not None
    assert {c.type for c in heading.children} <= {"text", "text_special"}
    visible = " ".join(TITLE.replace("\x00", "").split())
    assert "".join(c.content for c in heading.children) == visible
    html = MarkdownIt("commonmark").enable("table").render(readme)
    assert "<script>" not in html and "<strong>" not in html and "<em>" not in html


# --- (c) the plan: files per resource, ownership, declared actions ---------------------------


def test_plan_has_every_layer_per_resource(example: tuple[Spec, FilePlan]) -> None:
    spec, plan = example
    service = derive(spec)
    package = f"src/{service.package}"
    for resource in service.resources:
        for layer in ("models", "schemas", "repositories", "routers", "hooks"):
            assert f"{package}/{layer}/{resource.module}.py" in plan
        assert f"tests/test_{resource.name}.py" in plan
    for layer in ("models", "schemas", "repositories", "routers", "hooks"):
        assert f"{package}/{layer}/__init__.py" in plan
    for shared in (
        "main.py",
        "settings.py",
        "database.py",
        "errors.py",
        "pagination.py",
        "filtering.py",
        "__init__.py",
    ):
        assert f"{package}/{shared}" in plan
    for top in (
        "pyproject.toml",
        "README.md",
        "alembic.ini",
        "migrations/env.py",
        "tests/conftest.py",
    ):
        assert top in plan
    assert first_migration(plan)


def test_hooks_modules_and_revisions_alone_are_create_once(
    example: tuple[Spec, FilePlan],
) -> None:
    """Hooks are the user's after creation; a revision is never regenerated."""
    spec, plan = example
    service = derive(spec)
    hooks = {f"src/{service.package}/hooks/{r.module}.py" for r in service.resources}
    written_once = hooks | {first_migration(plan)}
    assert {path for path, f in plan.items() if f.ownership == "create_once"} == written_once
    assert {f.ownership for path, f in plan.items() if path not in written_once} == {"managed"}


def test_every_example_renders_clean_python(example: tuple[Spec, FilePlan], tmp_path: Path) -> None:
    _, plan = example
    assert dict(python_files(plan))  # all parse
    assert ruff_problems(plan, tmp_path) == ""


def route_decorators(tree: ast.Module) -> list[tuple[str, str | None]]:
    """(HTTP method, operation_id) of every `@router.<method>(...)` route."""
    routes = []
    for node in ast.walk(tree):
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef):
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and isinstance(decorator.func, ast.Attribute)
                    and ast.unparse(decorator.func.value) == "router"
                ):
                    ids = keyword_constants(decorator, "operation_id")
                    routes.append((decorator.func.attr, str(ids[0]) if ids else None))
    return routes


def own_operation_ids(plan: FilePlan, package: str, module_name: str, resource: str) -> set[str]:
    tree = module(plan, f"src/{package}/routers/{module_name}.py")
    return {
        op
        for _, op in route_decorators(tree)
        if op and any(op == f"{action}_{resource}" for action in ACTIONS)
    }


def test_operation_ids_match_declared_actions(example: tuple[Spec, FilePlan]) -> None:
    spec, plan = example
    service = derive(spec)
    for resource in service.resources:
        expected = {f"{action}_{resource.name}" for action in resource.actions}
        ids = own_operation_ids(plan, service.package, resource.module, resource.name)
        assert ids == expected, resource.name


def test_undeclared_actions_have_no_routes(injection: FilePlan) -> None:
    tree = module(injection, "src/evil_shop/routers/tag.py")
    routes = route_decorators(tree)
    assert routes == [("get", "list_tag"), ("get", "retrieve_tag")]
    source = injection["src/evil_shop/routers/tag.py"].content
    for absent in (
        "create_tag",
        "update_tag",
        "partial_update_tag",
        "destroy_tag",
        "TagCreate",
        "TagUpdate",
        "TagPatch",
    ):
        assert absent not in source
    widget = own_operation_ids(injection, "evil_shop", "widget", "widget")
    assert widget == {
        f"{a}_widget" for a in ("list", "create", "retrieve", "update", "partial_update", "destroy")
    }


def test_children_of_a_ref_are_listed_under_the_parent(injection: FilePlan) -> None:
    tree = module(injection, "src/evil_shop/routers/widget.py")
    assert ("get", "list_widget_tags") in route_decorators(tree)
    paths = [
        c.args[0].value
        for c in ast.walk(tree)
        if isinstance(c, ast.Call)
        and isinstance(c.func, ast.Attribute)
        and c.func.attr == "get"
        and c.args
        and isinstance(c.args[0], ast.Constant)
    ]
    assert "/{widget_id}/tags" in paths


# --- (d) keyword and SQL-reserved names ------------------------------------------------------


def test_keyword_spec_renders_clean_python(keywords: FilePlan, tmp_path: Path) -> None:
    service = derive(load(KEYWORD_SPEC))
    assert [r.name for r in service.resources] == ["group", "user", "order", "import"]
    assert "src/keywords/routers/import_.py" in keywords
    assert "tests/test_import.py" in keywords
    assert ruff_problems(keywords, tmp_path) == ""


def test_keyword_fields_are_aliased_in_schemas(keywords: FilePlan) -> None:
    tree = module(keywords, "src/keywords/schemas/group.py")
    for schema in ("GroupCreate", "GroupPatch", "GroupRead"):
        fields = class_fields(tree, schema)
        assert "class" not in fields and "from" not in fields
        assert alias(fields["class_"]) == "class"
        assert alias(fields["from_"]) == "from"
        assert "order" in fields  # SQL-reserved only: a fine Python name
        assert alias(fields["order"]) is None
    # The filter parameters keep the JSON names too.
    query = class_fields(tree, "GroupListQuery")
    assert alias(query["from_"]) == "from"
    assert {"from__gte", "from__lte", "order__gte", "order__lt"} <= set(query)

    user = class_fields(module(keywords, "src/keywords/schemas/user.py"), "UserCreate")
    assert alias(user["match_"]) == "match"  # a soft keyword
    assert "group_id" in user


def test_keyword_fields_keep_their_column_names(keywords: FilePlan) -> None:
    fields = class_fields(module(keywords, "src/keywords/models/group.py"), "Group")
    assert column_name(fields["class_"]) == "class"
    assert column_name(fields["from_"]) == "from"
    assert column_name(fields["order"]) is None  # the attribute is already the column name
    migration = module(keywords, first_migration(keywords))
    columns = [
        c.args[0].value
        for c in ast.walk(migration)
        if isinstance(c, ast.Call)
        and ast.unparse(c.func) == "sa.Column"
        and isinstance(c.args[0], ast.Constant)
    ]
    for column in (
        "class",
        "from",
        "order",
        "match",
        "group_id",
        "user_id",
        "select",
        "def",
        "order_id",
    ):
        assert column in columns
    tables = [
        c.args[0].value
        for c in ast.walk(migration)
        if isinstance(c, ast.Call) and ast.unparse(c.func) == "op.create_table"
    ]
    assert tables == ["groups", "users", "orders", "imports"]


def test_keyword_resources_get_safe_module_names(keywords: FilePlan) -> None:
    routers = keywords["src/keywords/routers/__init__.py"].content
    assert re.search(r"\bimport_\b", routers)
    ids = own_operation_ids(keywords, "keywords", "import_", "import")
    assert "create_import" in ids and "list_import" in ids
    for path, planned in keywords.items():
        assert re.search(r"^\s*import\s*=", planned.content, re.M) is None, path


# --- (e) examples ----------------------------------------------------------------------------


def test_examples_exist() -> None:
    assert {p.stem for p in EXAMPLES} >= {"bookstore", "everything", "minimal"}


def test_every_example_loads_and_renders(example: tuple[Spec, FilePlan]) -> None:
    spec, plan = example
    assert f"src/{spec.service.package_name}/main.py" in plan
    assert tomllib.loads(plan["pyproject.toml"].content)["project"]["name"] == spec.service.name
    for path, planned in plan.items():
        assert planned.content == "" or planned.content.endswith("\n"), path
        assert "\r" not in planned.content, path
