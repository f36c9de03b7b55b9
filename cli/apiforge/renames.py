"""Renames in the user's code: identifiers only, found by syntax, never strings or comments.

A resource or field renamed in the spec (`renamed_from`) renames what the generated
modules define; the user's code that uses those names must follow, or it breaks. That
code is the hooks modules, the user's edits merged into generated files, and modules of
their own under src/ and tests/. libcst parses it into a concrete syntax tree that keeps
every byte of formatting, so renaming a node changes that identifier and nothing else.
What is renamed, conservatively:

- every top-level name the generated modules defined under the resource's old name and
  now define under its new one (`Agent`, `AgentRead`, `AgentHooks`, `create_agent` in
  tests/factories.py), wherever it occurs as an identifier;
- dotted paths of the resource's modules (`desk.models.agent`) in imports and code;
- a renamed field as an attribute or keyword only where the object is certainly one of
  the resource's: `Agent.subject`, `AgentCreate(subject=…)`, `obj.subject` for a
  parameter or variable annotated with (or assigned once from) one of its classes, and
  `self.subject` inside one of its classes. `values["subject"]`, `other.subject` are not.

Everything else that still says an old name (strings such as `field_validator("subject")`,
comments, names that merely contain it such as `agent_limit`) is listed as a `Mention`
for the user to look at: only they know whether it means the renamed thing. A validator
decorator that names a renamed field is the one mention that certainly breaks (pydantic
refuses the class at import), so `check` fails on it (`stale_validators`).
"""

from __future__ import annotations

import ast
import functools
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import libcst as cst

    from .model import ResourceModel
    from .spec import Spec

# Calls that return an instance of the class they are called on.
CONSTRUCTORS = frozenset({"model_validate", "model_validate_json", "model_construct"})
# Decorators whose string arguments name fields of the class they are in.
VALIDATORS = frozenset({"field_validator", "field_serializer", "validator"})


@dataclass(frozen=True)
class FieldRename:
    resource_classes: frozenset[str]  # the resource's class names, old and new
    old: str  # Python attribute names
    new: str


@dataclass(frozen=True)
class OldName:
    """An old name to look for afterwards, and what would make a match the new name's."""

    pattern: re.Pattern[str]
    new_pattern: re.Pattern[str] | None = None
    # A field's name is common: only files of its resource, or that name it, can mean it.
    related: re.Pattern[str] | None = None
    paths: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CodeRenames:
    names: Mapping[str, str] = field(default_factory=dict)  # identifier → identifier
    modules: Mapping[str, str] = field(default_factory=dict)  # dotted module → dotted module
    fields: tuple[FieldRename, ...] = ()
    old_names: tuple[OldName, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.names or self.modules or self.fields)


Renamed = tuple[tuple[str, str, int], ...]  # (old, new, how many times), sorted


@dataclass(frozen=True)
class Rewritten:
    text: str
    renamed: Renamed = ()
    error: str | None = None  # the code did not parse: nothing was renamed


@dataclass(frozen=True)
class Mention:
    path: str
    line: int
    text: str


# ------------------------------------------------------------- what a spec change renames


def code_renames(
    previous: Spec, spec: Spec, baseline: Mapping[str, str], generated: Mapping[str, str]
) -> CodeRenames:
    """The renames of identifiers that going from `previous` to `spec` implies, given what
    was generated last time (`baseline`) and what is generated now."""
    from .model import derive

    if not _renames_anything(previous, spec):
        return CodeRenames()  # the usual regenerate: no need to derive both specs
    old_service, new_service = derive(previous), derive(spec)
    pairs = [
        (old_service.resource(old), new_service.resource(name), resource)
        for name, resource in spec.resources.items()
        if (old := name if name in previous.resources else resource.renamed_from)
        in previous.resources
    ]
    moved = [(old, new) for old, new, _ in pairs if old.name != new.name]
    names = _renamed_definitions(baseline, generated, moved) if moved else {}
    modules: dict[str, str] = {}
    fields: list[FieldRename] = []
    old_names: list[OldName] = []
    for old_model, new_model, resource in pairs:
        old_paths = _paths(old_service.package, old_model)
        new_paths = _paths(new_service.package, new_model)
        if old_model.name != new_model.name:
            for old_path, new_path in zip(old_paths, new_paths, strict=True):
                if old_path.startswith("src/"):
                    modules[_module_of(old_path)] = _module_of(new_path)
            old_names.append(
                _resource_name(old_model.name, old_model.plural, new_model.name, new_model.plural)
            )
        old_fields = {f.name: f for f in old_model.fields}
        renamed_fields = [
            (old_fields[source].attr, f.attr)
            for f in new_model.fields
            if f.name not in old_fields
            and (source := resource.fields[f.name].renamed_from) in old_fields
        ]
        if not renamed_fields:
            continue
        own = {c for c in _defined_names(baseline, old_paths) if c.startswith(old_model.class_name)}
        classes = frozenset(own | {names.get(c, c) for c in own})
        # A field's name alone is common (`title`): a file can mean this field only if it
        # is one of the resource's, or names the resource, its classes or its modules.
        spellings = {old_model.name, old_model.plural, new_model.name, new_model.plural}
        hints = [*sorted(classes | spellings), *(_module_of(p) for p in new_paths)]
        related = re.compile(rf"\b(?:{'|'.join(map(re.escape, hints))})\b")
        for old_attr, new_attr in renamed_fields:
            fields.append(FieldRename(classes, old_attr, new_attr))
            word = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(old_attr)}(?![A-Za-z0-9_])")
            old_names.append(OldName(word, related=related, paths=frozenset(new_paths)))
    return CodeRenames(names, modules, tuple(fields), tuple(old_names))


def _renames_anything(previous: Spec, spec: Spec) -> bool:
    for name, resource in spec.resources.items():
        old = name if name in previous.resources else resource.renamed_from
        if old is None or old not in previous.resources:
            continue
        old_fields = previous.resources[old].fields
        if old != name or any(
            field_name not in old_fields and field.renamed_from in old_fields
            for field_name, field in resource.fields.items()
        ):
            return True
    return False


def _renamed_definitions(
    baseline: Mapping[str, str],
    generated: Mapping[str, str],
    moved: list[tuple[ResourceModel, ResourceModel]],
) -> dict[str, str]:
    """Names the generated modules defined under a resource's old name and now define
    under its new one, wherever they live: `create_agent` → `create_staff_member` (in
    tests/factories.py), `AgentRead` → `StaffMemberRead`."""
    before = set(_defined_names(baseline, [p for p in baseline if _is_module(p)]))
    after = set(_defined_names(generated, [p for p in generated if _is_module(p)]))
    names: dict[str, str] = {}
    for defined in sorted(before - after):
        for old, new in moved:
            spellings = [(old.class_name, new.class_name), (old.plural, new.plural)]
            for old_part, new_part in [*spellings, (old.name, new.name)]:
                word = (
                    rf"(?:(?<![A-Za-z0-9])|(?<=[a-z0-9])(?=[A-Z])){re.escape(old_part)}(?![a-z0-9])"
                )
                candidate = re.sub(word, new_part, defined)
                if candidate != defined and candidate in after:
                    names.setdefault(defined, candidate)
    return names


def _paths(package: str, model: ResourceModel) -> list[str]:
    """The paths of one resource's own files (as `render.resource_files`, derived once)."""
    from .render import RESOURCE_FILES

    return [
        pattern.format(package=package, module=model.module, name=model.name)
        for pattern in RESOURCE_FILES
    ]


def _is_module(path: str) -> bool:
    return path.endswith(".py") and not path.startswith("migrations/")


def _module_of(path: str) -> str:
    """`src/desk/models/agent.py` → `desk.models.agent`."""
    return path.removeprefix("src/").removesuffix(".py").replace("/", ".")


def _defined_names(baseline: Mapping[str, str], paths: Iterable[str]) -> list[str]:
    """Classes, functions and names assigned at the top level of the modules `paths`."""
    defined: list[str] = []
    for path in paths:
        text = baseline.get(path)
        if text is None:
            continue
        for node in ast.parse(text).body:
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                defined.append(node.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                defined += [t.id for t in targets if isinstance(t, ast.Name)]
    return defined


def _resource_name(old: str, old_plural: str, new: str, new_plural: str) -> OldName:
    """`agent` as any spelling of the name: agent, agents, Agent, AGENT, staff_member,
    StaffMember, "staff members"; not inside another word (reagent) or a longer one (agentic)."""

    def spelled(*names: str) -> str:
        words = ["[ _-]?".join(map(re.escape, n.split("_"))) for n in names]
        return rf"(?:(?<![A-Za-z0-9])|(?<=[a-z0-9_])(?=[A-Z]))(?i:{'|'.join(words)})(?![a-z])"

    both = sorted({old_plural, old}, key=len, reverse=True)
    new_both = sorted({new_plural, new}, key=len, reverse=True)
    return OldName(re.compile(spelled(*both)), new_pattern=re.compile(spelled(*new_both)))


def stale_validators(
    spec: Spec, files: Mapping[str, str], generated: Mapping[str, str]
) -> list[Mention]:
    """Validator decorators in `files` that still name a field the spec renamed away.

    `@field_validator("subject")` in one of the resource's classes, once `subject` is
    `topic` (`renamed_from: subject`): pydantic refuses such a class when it is
    imported, so this is not a matter of taste like a string or a comment.
    """
    from .model import derive

    gone = {
        name: {
            field_name: field.renamed_from
            for field_name, field in resource.fields.items()
            if field.renamed_from is not None and field.renamed_from not in resource.fields
        }
        for name, resource in spec.resources.items()
    }
    if not files or not any(gone.values()):
        return []  # the usual case: no need to derive the spec
    service = derive(spec)
    renamed: dict[str, dict[str, str]] = {}  # a resource's class → old attr → new attr
    for name, olds in gone.items():
        model = service.resource(name)
        attrs = {
            _attr_of(olds[f.name], is_ref=f.type == "ref"): f.attr
            for f in model.fields
            if f.name in olds
        }
        for class_name in (
            _defined_names(generated, _paths(service.package, model)) if attrs else ()
        ):
            if class_name.startswith(model.class_name):
                renamed.setdefault(class_name, {}).update(attrs)
    found: list[Mention] = []
    for path, text in sorted(files.items()) if renamed else ():
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        lines = text.splitlines()
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                found += _stale_in_class(path, node, lines, renamed)
    return found


def _attr_of(field_name: str, *, is_ref: bool) -> str:
    """The attribute a field had (a ref `author` was `author_id`) is what the code names."""
    from .naming import python_name

    return python_name(f"{field_name}_id" if is_ref else field_name)


def _stale_in_class(
    path: str, node: ast.ClassDef, lines: list[str], renamed: Mapping[str, Mapping[str, str]]
) -> list[Mention]:
    """The validators of `node` that name a renamed field of the resource it belongs to
    (it is one of the resource's classes, or derives from one)."""
    names = [node.name] + [b.id for b in node.bases if isinstance(b, ast.Name)]
    fields: dict[str, str] = {}
    for name in names:
        fields.update(renamed.get(name, {}))
    own = {
        t.target.id
        for t in node.body
        if isinstance(t, ast.AnnAssign) and isinstance(t.target, ast.Name)
    }
    found: list[Mention] = []
    for method in node.body:
        if not isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in method.decorator_list:
            if not isinstance(decorator, ast.Call) or _called(decorator) not in VALIDATORS:
                continue
            for arg in decorator.args:
                if isinstance(arg, ast.Constant) and arg.value in fields and arg.value not in own:
                    line = lines[decorator.lineno - 1].strip()
                    why = f"`{arg.value}` is now `{fields[arg.value]}`; pydantic refuses this"
                    found.append(Mention(path, decorator.lineno, f"{line} ({why})"))
    return found


def _called(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else None


# ----------------------------------------------------------------------------- renaming


def rename_code(text: str, renames: CodeRenames) -> Rewritten:
    """`text` with the identifiers of `renames` renamed; formatting, strings, comments kept."""
    if not renames:
        return Rewritten(text)
    import libcst as cst  # imported only when a rename needs it

    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        stopped = f"the parser stopped at line {error.raw_line}"
        return Rewritten(text, error=f"not valid Python ({stopped}): nothing renamed in it")
    renamer = _Renamer(renames)
    new_text = module.visit(renamer).code
    return Rewritten(new_text, tuple(sorted((o, n, c) for (o, n), c in renamer.counts.items())))


def users_renames(yours: Rewritten, base: Rewritten | None) -> Renamed:
    """What was renamed in the user's lines: in `yours`, beyond what the generated `base` had."""
    counts = Counter({(o, n): c for o, n, c in yours.renamed})
    if base is not None:
        counts.subtract({(o, n): c for o, n, c in base.renamed})
    return tuple(sorted((o, n, c) for (o, n), c in counts.items() if c > 0))


def describe(renamed: Renamed, *, counts_only: bool = False) -> str:
    """`9 identifiers renamed (Agent → StaffMember ×3, desk.models.agent → …)`."""
    total = sum(count for _, _, count in renamed)
    noun = "identifier" if total == 1 else "identifiers"
    if counts_only:
        return f"{total} {noun} renamed"
    parts = [f"{o} → {n}" + (f" ×{c}" if c > 1 else "") for o, n, c in renamed]
    return f"{total} {noun} renamed ({', '.join(parts)})"


def mentions_in(path: str, text: str, generated: str | None, renames: CodeRenames) -> list[Mention]:
    """Lines of `text` (but not the generator's own) that still say an old name."""
    own_lines = set((generated or "").splitlines())
    found: list[Mention] = []
    for old in renames.old_names:
        if old.related and path not in old.paths and not old.related.search(text):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if line not in own_lines and _says(line, old):
                found.append(Mention(path, number, line.strip()))
    return sorted(set(found), key=lambda m: m.line)


def _says(line: str, old: OldName) -> bool:
    for match in old.pattern.finditer(line):
        if old.new_pattern is None or not old.new_pattern.match(line, match.start()):
            return True
    return False


def _dotted(node: cst.BaseExpression) -> str | None:
    import libcst as cst

    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr.value}"
    return None


def _dotted_node(dotted: str) -> Any:
    import libcst as cst

    head, *rest = dotted.split(".")
    node: cst.BaseExpression = cst.Name(head)
    for part in rest:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


@functools.cache
def _make_renamer_class() -> type:
    """The transformer, defined on first use so that libcst loads only when needed."""
    import libcst as cst

    class Renamer(cst.CSTTransformer):
        def __init__(self, renames: CodeRenames) -> None:
            super().__init__()
            self.renames = renames
            self.counts: Counter[tuple[str, str]] = Counter()
            # Per function: local name → the field renames that apply to its attributes.
            self.typed: list[dict[str, list[FieldRename]]] = [{}]
            self.classes: list[str | None] = []  # enclosing classes (None: a function)

        # -- which objects are certainly the resource's

        def _of_class(self, node: cst.BaseExpression | None) -> list[FieldRename]:
            if isinstance(node, cst.BinaryOperation):  # `Agent | None`
                return self._of_class(node.left) + self._of_class(node.right)
            name = node.value if isinstance(node, cst.Name) else None
            return [f for f in self.renames.fields if name in f.resource_classes]

        def _constructed(self, node: cst.BaseExpression) -> list[FieldRename]:
            if not isinstance(node, cst.Call):
                return []
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value in CONSTRUCTORS:
                func = func.value
            return self._of_class(func)

        def visit_ClassDef(self, node: cst.ClassDef) -> None:
            self.classes.append(node.name.value)

        def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> Any:
            self.classes.pop()
            return updated

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            typed = dict(self.typed[-1])
            enclosing = self.classes[-1] if self.classes else None
            params = [*node.params.posonly_params, *node.params.params]
            for index, param in enumerate([*params, *node.params.kwonly_params]):
                annotation = param.annotation.annotation if param.annotation else None
                applies = self._of_class(annotation)
                if index == 0 and param.name.value == "self" and enclosing is not None:
                    applies = self._of_class(cst.Name(enclosing))
                typed.pop(param.name.value, None)
                if applies:
                    typed[param.name.value] = applies
            typed.update(self._locals(node.body))
            self.typed.append(typed)
            self.classes.append(None)

        def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> Any:
            self.typed.pop()
            self.classes.pop()
            return updated

        def _locals(self, body: cst.CSTNode) -> dict[str, list[FieldRename]]:
            """Locals assigned once, from a resource class's constructor or annotated with it."""
            assigned: Counter[str] = Counter()
            kinds: dict[str, list[FieldRename]] = {}
            for node in _walk(body):
                if isinstance(node, cst.AnnAssign) and isinstance(node.target, cst.Name):
                    assigned[node.target.value] += 1
                    kinds[node.target.value] = self._of_class(node.annotation.annotation)
                elif isinstance(node, cst.Assign):
                    for target in node.targets:
                        if isinstance(target.target, cst.Name):
                            assigned[target.target.value] += 1
                            kinds[target.target.value] = self._constructed(node.value)
                elif isinstance(node, cst.For | cst.AugAssign) and isinstance(
                    node.target, cst.Name
                ):
                    assigned[node.target.value] += 1  # rebound: no longer certain
                elif isinstance(node, cst.AsName) and isinstance(node.name, cst.Name):
                    assigned[node.name.value] += 1
            return {name: kind for name, kind in kinds.items() if kind and assigned[name] == 1}

        # -- the renames

        def leave_Name(self, original: cst.Name, updated: cst.Name) -> Any:
            new = self.renames.names.get(original.value)
            if new is None:
                return updated
            self.counts[(original.value, new)] += 1
            return updated.with_changes(value=new)

        def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> Any:
            dotted = _dotted(original)
            if dotted is not None and dotted in self.renames.modules:
                new = self.renames.modules[dotted]
                self.counts[(dotted, new)] += 1
                return _dotted_node(new)
            receiver = original.value
            applies: list[FieldRename] = []
            if isinstance(receiver, cst.Name):
                applies = self._of_class(receiver) + self.typed[-1].get(receiver.value, [])
            return self._field(updated, "attr", original.attr.value, applies)

        def leave_Call(self, original: cst.Call, updated: cst.Call) -> Any:
            applies = self._of_class(original.func)
            if not applies:
                return updated
            args = []
            for arg in updated.args:
                if arg.keyword is not None:
                    arg = self._field(arg, "keyword", arg.keyword.value, applies)
                args.append(arg)
            return updated.with_changes(args=args)

        def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom) -> Any:
            if original.module is None or not original.relative:
                return updated
            dotted = _dotted(original.module)
            for old, new in self.renames.modules.items():  # `from ..models.agent import`
                inner, new_inner = old.partition(".")[2], new.partition(".")[2]
                if dotted == inner:
                    self.counts[(inner, new_inner)] += 1
                    return updated.with_changes(module=_dotted_node(new_inner))
            return updated

        def _field(self, node: Any, part: str, name: str, applies: list[FieldRename]) -> Any:
            for rename in applies:
                if rename.old == name:
                    self.counts[(rename.old, rename.new)] += 1
                    return node.with_changes(**{part: cst.Name(rename.new)})
            return node

    return Renamer


def _walk(node: Any) -> Iterable[Any]:
    yield node
    for child in node.children:
        yield from _walk(child)


def _Renamer(renames: CodeRenames) -> Any:  # noqa: N802 - builds the lazily defined class
    return _make_renamer_class()(renames)
