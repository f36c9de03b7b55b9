"""Spec loading: YAML text → a validated `Spec`, or a `SpecError` naming every problem.

ruamel.yaml's round-trip loader keeps the line and column of every key and value, so
each problem — a YAML mistake, a pydantic error, a cross-resource rule — is reported
as `file:line:column: message` at the most precise node: the key for an unknown
option, a name or a whole mapping; the value for a bad scalar value.
"""

from __future__ import annotations

import datetime
import difflib
import types
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.composer import Composer, MaxDepthExceededError
from ruamel.yaml.error import MarkedYAMLError, StreamMark
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.scalarbool import ScalarBoolean

from .errors import SpecError, SpecProblem, UserError
from .spec import (
    FIELD_TYPES,
    KEY,
    MAX_FIELDS,
    MAX_RESOURCES,
    RESERVED_RESOURCES,
    FieldSpec,
    Located,
    NodeProblems,
    ResourceSpec,
    ServiceSpec,
    Spec,
    cross_check,
)
from .spec import Path as Location

# ---------------------------------------------------------------------------- public


def load_spec(path: Path) -> tuple[Spec, str]:
    """Read a spec file (UTF-8) and load it; returns the spec and the text it came from."""
    text = read_spec_text(path)
    return load_spec_text(text, filename=str(path)), text


def load_spec_text(text: str, *, filename: str, generation_checks: bool = True) -> Spec:
    """Parse, validate and cross-check a spec; raise `SpecError` listing every problem.

    This is the one validation every command runs. `generation_checks` adds what the
    later stages need (defaults that fit their field, derivable test values): whatever
    they could refuse is refused here, located. Only a snapshot of a spec generated
    before — which must keep loading as it was accepted then — goes without them.
    """
    document = check_yaml(text, filename=filename)
    try:
        spec = Spec.model_validate(_plain(document))
    except ValidationError as error:
        raise SpecError(_locate(filename, document, _validation_problems(error))) from None
    problems = cross_check(spec)
    if generation_checks:
        problems = problems or _generation_problems(spec)
    if problems:
        raise SpecError(_locate(filename, document, problems))
    return spec


def check_yaml(text: str, *, filename: str) -> CommentedMap:
    """The spec's YAML mapping, within the input limits; a `SpecError` otherwise.

    Commands that edit the YAML text run this first, so no parser meets unbounded input.
    """
    if len(text) > MAX_SPEC_BYTES or len(text.encode("utf-8", "replace")) > MAX_SPEC_BYTES:
        raise SpecError([_too_large(filename)])
    return _parse_yaml(text, filename)


# ------------------------------------------------------------------- reading, YAML

MERGE_TAG = "tag:yaml.org,2002:merge"

# Input limits. A real spec is a few kilobytes and a few levels deep; these bounds stop
# pathological YAML (a 5 MB file, 5,000 nested brackets, an alias bomb) within seconds,
# with a located message, instead of minutes, a RecursionError or all the memory.
MAX_SPEC_BYTES = 1024 * 1024
MAX_DEPTH = 64  # levels of nested collections, counting aliased ones where they are used
MAX_VALUES = 200_000  # scalars and collections, counting an alias as a copy of its node


def read_spec_text(path: Path) -> str:
    """The spec file's text; a missing, unreadable, too large or non-UTF-8 file is a clear
    error. Never more than the size limit is read."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_SPEC_BYTES + 1)
    except FileNotFoundError:
        raise UserError(f"{path}: no such spec file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, not a spec file") from None
    except OSError as error:
        raise UserError(f"{path}: cannot read the spec: {error.strerror or error}") from None
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError([_too_large(str(path))])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = data[: error.start].decode("utf-8", errors="replace")
        line, column = _line_and_column(before, len(before))
        message = f"the spec is not UTF-8 text (byte 0x{data[error.start]:02x})"
        raise SpecError([SpecProblem(str(path), line, column, message)]) from None


def _line_and_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def _too_large(filename: str) -> SpecProblem:
    return SpecProblem(
        filename,
        1,
        1,
        f"the spec is larger than {MAX_SPEC_BYTES // 1024 // 1024} "
        "MiB, the most apiforge reads; a spec describes "
        "resources and fields, not data",
    )


class _LimitExceeded(Exception):
    """A YAML input limit was crossed at `mark`."""

    def __init__(self, mark: StreamMark, message: str) -> None:
        super().__init__(message)
        self.mark, self.message = mark, message


class _BoundedComposer(Composer):
    """ruamel's composer, refusing an alias used inside the node it names: such a loop
    would make the document infinite."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.open_anchors: list[str | None] = []  # of the nodes being composed, outermost first

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            if event.anchor in self.open_anchors:
                raise _LimitExceeded(
                    event.start_mark,
                    f"the alias `*{event.anchor}` refers to a collection that contains it",
                )
            return super().compose_node(parent, index)
        self.open_anchors.append(event.anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self.open_anchors.pop()


def _bounded_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Composer = _BoundedComposer
    yaml.max_depth = MAX_DEPTH + 1  # ruamel counts the scalars at the bottom as a level
    return yaml


def _parse_yaml(text: str, filename: str) -> CommentedMap:
    yaml = _bounded_yaml()
    try:
        # Composing first finds every duplicate key (loading would stop at the first) and
        # measures what aliases expand to; the document is then built from the same nodes.
        root = yaml.compose(text)
        problems = _expansion_problems(root, filename) or _duplicate_key_problems(root, filename)
        if problems:
            raise SpecError(problems)
        document = yaml.constructor.construct_document(root) if root is not None else None
    except _LimitExceeded as error:
        raise SpecError([_marked(filename, error.mark, error.message)]) from None
    except MaxDepthExceededError as error:
        raise SpecError([_marked(filename, error.problem_mark, _too_deep())]) from None
    except MarkedYAMLError as error:
        raise SpecError([_syntax_problem(filename, text, error)]) from None
    except ReaderError as error:  # a character YAML forbids, such as a control character
        line, column = _line_and_column(text, error.position)
        message = f"invalid YAML: {error.reason}"
        raise SpecError([SpecProblem(filename, line, column, message)]) from None
    if document is None:
        raise SpecError(
            [
                SpecProblem(
                    filename,
                    1,
                    1,
                    "the spec is empty; it needs `apiforge: 1`, a `service` and `resources`",
                )
            ]
        )
    if not isinstance(document, CommentedMap):
        mark = root.start_mark
        raise SpecError(
            [
                SpecProblem(
                    filename,
                    mark.line + 1,
                    mark.column + 1,
                    "the spec must be a mapping with the keys `apiforge`, "
                    "`service` and `resources`",
                )
            ]
        )
    return document


def _marked(filename: str, mark: StreamMark | None, message: str) -> SpecProblem:
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return SpecProblem(filename, line, column, message)


def _too_deep() -> str:
    return (
        f"the spec is nested more than {MAX_DEPTH} levels deep, the most apiforge reads "
        "(a spec needs fewer than ten)"
    )


def _expansion_problems(root: Node | None, filename: str) -> list[SpecProblem]:
    """What the document becomes once every alias is replaced by a copy of its node:
    too many values, or nesting too deep (aliases nest without brackets), is refused
    at the first node that crosses the limit — before anything is expanded."""
    measured: dict[int, tuple[int, int]] = {}  # node id → (values, depth) expanded
    pending: list[tuple[Node, bool]] = [(root, False)] if root is not None else []
    while pending:  # post-order without recursion: aliased chains can be long
        node, children_done = pending.pop()
        children = _children(node)
        if not children_done:
            if id(node) not in measured:
                pending.append((node, True))
                pending.extend((child, False) for child in children)
            continue
        values = 1 + sum(measured[id(child)][0] for child in children)
        depth = 1 + max((measured[id(child)][1] for child in children), default=0)
        measured[id(node)] = (values, depth)
        if values > MAX_VALUES:
            return [
                _marked(
                    filename,
                    node.start_mark,
                    f"the spec holds more than {MAX_VALUES:,} values, counting what "
                    "YAML aliases repeat; that is the most apiforge reads",
                )
            ]
        if depth > MAX_DEPTH + 1:  # as ruamel counts: the scalars at the bottom are a level
            return [_marked(filename, node.start_mark, _too_deep())]
    return []


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [item for pair in node.value for item in pair]
    return list(node.value) if isinstance(node, SequenceNode) else []


def _duplicate_key_problems(root: Node | None, filename: str) -> list[SpecProblem]:
    problems = [
        SpecProblem(
            filename,
            key.start_mark.line + 1,
            key.start_mark.column + 1,
            f"duplicate key `{key.value}`: it is already defined on line "
            f"{first.start_mark.line + 1}",
        )
        for key, first in _duplicate_keys(root)
    ]
    return sorted(problems, key=lambda problem: (problem.line, problem.column))


def _duplicate_keys(root: Node | None) -> Iterator[tuple[ScalarNode, ScalarNode]]:
    """Each mapping key that repeats an earlier key of its mapping, with that earlier key."""
    pending = [root] if root is not None else []
    visited: set[int] = set()  # aliases share nodes, and may even loop back
    while pending:
        node = pending.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, MappingNode):
            first_keys: dict[tuple[str | None, str], ScalarNode] = {}
            for key, value in node.value:
                if isinstance(key, ScalarNode) and key.tag != MERGE_TAG:
                    first = first_keys.setdefault((key.tag, key.value), key)
                    if first is not key:
                        yield key, first
                pending.append(value)
        elif isinstance(node, SequenceNode):
            pending.extend(node.value)


def _syntax_problem(filename: str, text: str, error: MarkedYAMLError) -> SpecProblem:
    mark = error.problem_mark or error.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    what = error.problem or error.context or "the text cannot be parsed"
    context = f" ({error.context})" if error.problem and error.context else ""
    message = f"invalid YAML: {what}{context}"
    # `{type: list[str]}` is the likeliest cause: brackets end a value inside braces.
    source_line = text.splitlines()[line - 1] if line <= len(text.splitlines()) else ""
    if "list[" in source_line and "{" in source_line:
        message += "; inside `{...}` quote the type: type: 'list[str]'"
    return SpecProblem(filename, line, column, message)


def _plain(value: Any) -> Any:
    """The YAML tree as plain Python values, which is what the spec model validates.

    Round-trip scalars are subclasses (ScalarFloat, ScalarBoolean is even an int) that
    strict validation must not see; unquoted dates become the ISO strings the model takes.
    """
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, TaggedScalar):
        return _plain(value.value)
    if isinstance(value, bool | ScalarBoolean):
        return bool(value)
    for builtin in (int, float, str):
        if isinstance(value, builtin):
            return builtin(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


# ------------------------------------------------------------------------ locating


def _locate(filename: str, document: CommentedMap, problems: list[Located]) -> list[SpecProblem]:
    located = [
        SpecProblem(filename, *_position(document, location), message)
        for location, message in problems
    ]
    unique = dict.fromkeys(located)  # unions may yield the same problem twice
    return sorted(unique, key=lambda problem: (problem.line, problem.column))


def _position(document: CommentedMap, location: Location) -> tuple[int, int]:
    """1-based line and column of the deepest YAML node a location reaches.

    Location items the YAML lacks are skipped: pydantic's union-branch tags (`int`,
    `literal['range']`, ...) and keys that are missing or implied by the short form.
    """
    parent: CommentedMap | CommentedSeq | None = None
    step: Any = None
    node: Any = document
    for item in location:
        if item == KEY:
            break
        if _has_child(node, item):
            parent, step, node = node, item, node[item]
    if parent is None:
        return document.lc.line + 1, document.lc.col + 1
    if isinstance(parent, CommentedSeq):
        line, column = parent.lc.item(step)
    elif KEY in location or node is None or isinstance(node, dict | list):
        # A whole mapping or list is named by its key; an empty value has no position.
        line, column = parent.lc.key(step)
    else:
        line, column = parent.lc.value(step)
    return line + 1, column + 1


def _has_child(node: Any, item: str | int) -> bool:
    if isinstance(node, CommentedMap):
        return item in node
    return isinstance(node, CommentedSeq) and isinstance(item, int) and 0 <= item < len(node)


# ------------------------------------------------------------------------ messages

OPTION_NOUNS: dict[type[BaseModel], str] = {
    Spec: "top-level key",
    ServiceSpec: "service setting",
    ResourceSpec: "resource option",
    FieldSpec: "field option",
}
MODEL_SHAPES: dict[type[BaseModel], str] = {
    ServiceSpec: "a mapping of service settings such as `name`",
    ResourceSpec: "a mapping with the resource's `fields` and options",
    FieldSpec: "a field type such as `str`, or a mapping of field options",
}
ATOM_NAMES: dict[Any, list[str]] = {
    bool: ["true", "false"],
    int: ["an integer"],
    float: ["a number"],
    Decimal: ["a number"],
    str: ["a string"],
    type(None): [],  # an option may be null, but saying so never helps
}
MISSING_HINTS = {
    "apiforge": "the spec format version; start the file with `apiforge: 1`",
    "service": "a mapping with at least the service `name`",
    "resources": "a mapping of resources, each with its `fields`",
    "name": "the service name, e.g. `name: bookstore`",
    "fields": "a mapping of field names to types, e.g. `title: str`",
    "type": "the field type, one of: " + ", ".join(FIELD_TYPES),
}
LITERAL_NOUNS = {"type": "type", "actions": "action"}
NAMED_ENTRIES = {"fields": ("field", "title"), "resources": ("resource", "book")}
BOUND_PHRASES = {
    "greater_than_equal": ("ge", "at least {}"),
    "greater_than": ("gt", "greater than {}"),
    "less_than_equal": ("le", "at most {}"),
    "less_than": ("lt", "less than {}"),
    "string_too_long": ("max_length", "at most {} characters long"),
    "string_too_short": ("min_length", "at least {} characters long"),
    "too_long": ("max_length", "at most {} items long"),
    "too_short": ("min_length", "at least {} items long"),
}


def _validation_problems(error: ValidationError) -> list[Located]:
    problems: list[Located] = []
    # A value that fails every branch of a union gets one error per branch: group them.
    bad_values: dict[Location, list[ErrorDetails]] = {}
    for detail in error.errors():
        location, kind = detail["loc"], detail["type"]
        if kind == "value_error":
            problems.extend(_value_error_problems(detail))
        elif kind == "missing":
            problems.append((location, _missing_message(location)))
        elif kind == "extra_forbidden":
            problems.append(((*location, KEY), _unknown_option_message(location)))
        else:
            bad_values.setdefault(_without_tags(location), []).append(detail)
    problems.extend(
        (location, _bad_value_message(details)) for location, details in bad_values.items()
    )
    return problems


def _split(location: Location) -> tuple[type[BaseModel], Location]:
    """The spec model a location is inside, and the location relative to that model."""
    match location:
        case ("resources", _, "fields", _, option, *rest) if option != KEY:
            return FieldSpec, (option, *rest)
        case ("resources", _, option, *rest) if option != KEY:
            return ResourceSpec, (option, *rest)
        case ("service", option, *rest):
            return ServiceSpec, (option, *rest)
    return Spec, location


def _without_tags(location: Location) -> Location:
    """The location without union-branch tags, which pydantic appends after the option."""
    model, relative = _split(location)
    if not relative:
        return location
    option, *rest = relative
    kept: list[str | int] = [option]
    if rest and rest[0] != KEY and _item_annotation(_annotation(model, option)) is not None:
        kept.append(rest[0])  # the entry of a list or mapping option
    if KEY in rest:
        kept.append(KEY)
    return (*location[: len(location) - len(relative)], *kept)


def _value_error_problems(detail: ErrorDetails) -> list[Located]:
    error = detail.get("ctx", {}).get("error")
    if isinstance(error, NodeProblems):
        return [((*detail["loc"], *where), message) for where, message in error.problems]
    message = str(error) if error is not None else detail["msg"]
    return [(detail["loc"], message.removeprefix("Value error, "))]


def _missing_message(location: Location) -> str:
    key = str(location[-1])
    hint = MISSING_HINTS.get(key)
    return f"missing `{key}`: {hint}" if hint else f"missing `{key}`"


def _unknown_option_message(location: Location) -> str:
    model, relative = _split(location)
    key = str(relative[0])
    allowed = list(model.model_fields)
    return (
        f"unknown {OPTION_NOUNS[model]} `{key}`{_did_you_mean(key, allowed)}; "
        f"allowed: {', '.join(allowed)}"
    )


def _bad_value_message(details: list[ErrorDetails]) -> str:
    detail = min(details, key=_usefulness)
    model, relative = _split(detail["loc"])
    if not relative:  # the document itself, which is always a mapping by now
        return detail["msg"]
    value = detail["input"]
    subject = _subject(relative)
    annotation = _annotation_at(model, relative)
    if detail["type"] in BOUND_PHRASES:
        bound_name, phrase = BOUND_PHRASES[detail["type"]]
        bound = detail.get("ctx", {}).get(bound_name)
        if detail["type"] == "string_too_short" and bound == 1:
            return f"{subject} must not be empty"
        shown = f", not {_shown(value)}" if isinstance(value, int | float) else ""
        return f"{subject} must be {phrase.format(bound)}{shown}"
    if KEY in relative:
        example = NAMED_ENTRIES[str(relative[0])][1]
        return f"{subject} must be a snake_case name such as `{example}`"
    choices = _literal_values(annotation)
    if isinstance(value, str) and choices:
        noun = LITERAL_NOUNS.get(str(relative[0]), f"`{relative[0]}` value")
        return (
            f"unknown {noun} `{value}`{_did_you_mean(value, choices)}; "
            f"allowed: {_expected(annotation)}"
        )
    return f"{subject} must be {_expected(annotation)}, not {_shown(value)}"


def _usefulness(detail: ErrorDetails) -> int:
    """Rank union-branch errors: a violated bound, then a near-miss literal, then a type."""
    if detail["type"] in BOUND_PHRASES:
        return 0
    return 1 if detail["type"] == "literal_error" and isinstance(detail["input"], str) else 2


def _subject(relative: Location) -> str:
    option, *rest = relative
    if rest and option in NAMED_ENTRIES:
        noun = NAMED_ENTRIES[str(option)][0]
        return f"{noun} name `{rest[0]}`" if KEY in rest else f"{noun} `{rest[0]}`"
    if rest and isinstance(rest[0], int):
        return f"item {rest[0] + 1} of `{option}`"
    return f"`{option}`"


def _did_you_mean(word: str, choices: list[str]) -> str:
    matches = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean `{matches[0]}`?)" if matches else ""


def _shown(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"`{value}`"


# The expected value is read from the model's annotations, so messages follow the model.


def _annotation(model: type[BaseModel], option: str | int) -> Any:
    field = model.model_fields.get(str(option))
    return field.annotation if field is not None else None


def _annotation_at(model: type[BaseModel], relative: Location) -> Any:
    option, *rest = relative
    annotation = _annotation(model, option)
    item = _item_annotation(annotation)
    return item if rest and rest[0] != KEY and item is not None else annotation


def _item_annotation(annotation: Any) -> Any:
    """What a list or mapping annotation holds (None if it is neither)."""
    for member in _members(annotation):
        origin, args = get_origin(member), get_args(member)
        if origin in (tuple, list):
            return args[0]
        if origin is dict:
            return args[1]
    return None


def _members(annotation: Any) -> list[Any]:
    """The alternatives of an annotation, without `Annotated` wrappers or unions."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _members(args[0])
    if origin is Union or origin is types.UnionType:
        return [member for arg in args for member in _members(arg)]
    return [annotation]


def _literal_values(annotation: Any) -> list[str]:
    return [
        str(value)
        for member in _members(annotation)
        if get_origin(member) is Literal
        for value in get_args(member)
    ]


def _expected(annotation: Any) -> str:
    alternatives: list[str] = []
    for member in _members(annotation):
        origin = get_origin(member)
        if origin is Literal:
            alternatives += [str(value) for value in get_args(member)]
        elif origin in (tuple, list):
            strings = _members(get_args(member)[0]) == [str]
            alternatives.append("a list of strings" if strings else "a list")
        elif origin is dict:
            alternatives.append("a mapping")
        elif member in MODEL_SHAPES:
            alternatives.append(MODEL_SHAPES[member])
        else:
            alternatives += ATOM_NAMES.get(member, ["a valid value"])
    if "a number" in alternatives:
        alternatives = [text for text in alternatives if text != "an integer"]
    unique = list(dict.fromkeys(alternatives))
    return " or ".join(unique) if len(unique) < 3 else f"{', '.join(unique[:-1])} or {unique[-1]}"


# --------------------------------------------------------------------- JSON Schema

# Names that pass `check_identifier`: snake_case words, no double or trailing underscore.
NAME_PATTERN = "^[a-z][a-z0-9]*(_[a-z0-9]+)*$"
SCHEMA_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "Spec": {
        "apiforge": "Spec format version; always 1.",
        "service": "The generated service: its name, package, title and database.",
        "resources": "Resources by singular snake_case name (e.g. `book`), each a table "
        "and a set of routes.",
    },
    "ServiceSpec": {
        "name": "Project and distribution name; also the folder `new-service` creates.",
        "package": "Python import package (default: snake_case of `name`).",
        "title": "OpenAPI title (default: derived from `name`).",
        "version": "Version of the generated service.",
        "api_prefix": "Prefix of every resource route, e.g. /api/v1; empty for none.",
        "database": "Database the service targets (sqlite is embedded).",
    },
    "ResourceSpec": {
        "plural": "Plural used in routes and table names (default: English plural).",
        "id": "Type of the primary key.",
        "timestamps": "Add `created_at` and `updated_at` columns.",
        "actions": "Routes to generate; bulk_create and bulk_delete are opt-in.",
        "pagination": "page: ?page=&page_size=; cursor: keyset ?limit=&cursor=.",
        "renamed_from": "Former name of this resource; its table is renamed, rows kept.",
        "fields": "Fields by snake_case name: a type (`title: str`) or a mapping of options.",
    },
    "FieldSpec": {
        "type": "Field type.",
        "required": "Clients must send the field (default true).",
        "default": "Value used when the field is not sent; must fit the type.",
        "unique": "Reject duplicates (409).",
        "index": "Add a database index.",
        "pattern": "Regular expression a str or text value must match.",
        "values": "The allowed values of an enum field.",
        "to": "The resource a ref field points at; the column is `<field>_id`.",
        "on_delete": "What deleting the referenced row does (set_null needs required: false).",
        "filter": "true: exact filter (?field=); range: also __gte, __gt, __lte, __lt.",
        "search": "Include in ?search= (case-insensitive).",
        "sort": "Allow ?sort=field and ?sort=-field.",
        "read_only": "Returned but never accepted from clients.",
        "write_only": "Accepted but never returned (e.g. secrets).",
        "renamed_from": "Former name of this field; the column is renamed, data kept.",
        "backfill": "Value rows already in the table get when a migration adds this field, "
        "makes it required or narrows it; used by that migration only, never by "
        "the API (unlike `default`).",
        "renamed_values": "Former enum values mapped to current ones ({old: new}); the "
        "migration rewrites the rows that hold them.",
    },
}


def spec_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the spec file, for editors and `apiforge schema`."""
    schema = Spec.model_json_schema()
    definitions = schema.pop("$defs")
    for model_name, descriptions in SCHEMA_DESCRIPTIONS.items():
        properties = (schema if model_name == "Spec" else definitions[model_name])["properties"]
        for name, description in descriptions.items():
            properties[name]["description"] = description
    resources = schema["properties"]["resources"]
    resources.setdefault("propertyNames", {}).update(
        pattern=NAME_PATTERN, **{"not": {"enum": sorted(RESERVED_RESOURCES)}}
    )
    resources["minProperties"] = 1
    resources["maxProperties"] = MAX_RESOURCES
    fields = definitions["ResourceSpec"]["properties"]["fields"]
    fields.setdefault("propertyNames", {}).update(pattern=NAME_PATTERN)
    fields["minProperties"] = 1
    fields["maxProperties"] = MAX_FIELDS
    # The short form `title: str` is a field written as its type alone.
    fields["additionalProperties"] = {
        "anyOf": [fields["additionalProperties"], {"type": "string", "enum": list(FIELD_TYPES)}]
    }
    del schema["title"]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "apiforge spec",
        "description": "A resource spec (apiforge.yaml) from which apiforge generates a "
        "FastAPI CRUD service.",
        **schema,
        "$defs": definitions,  # last, so the top-level keys read first
    }


def _generation_problems(spec: Spec) -> list[Located]:
    """What the generated project needs of a spec the model accepts: values that meet the
    constraints, test values that fit, names that do not clash (later steps need earlier)."""
    from .feasibility import generation_problems
    from .spec_rules import project_problems, value_problems  # renders templates: lazily

    for check in (value_problems, generation_problems, project_problems):
        problems = check(spec)
        if problems:
            return problems
    return []
