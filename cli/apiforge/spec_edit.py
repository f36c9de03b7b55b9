"""Edits of the spec text behind add-resource, remove-resource and the rename commands.

Each edit is a pure function from spec text to spec text. ruamel.yaml composes the
document into nodes that know where they start and end; an edit rewrites exactly the
characters it is about and copies every other byte. Comments, blank lines, quoting,
flow or block style and indentation of everything else therefore survive untouched
(dumping the whole round-trip document instead would re-indent it and normalise its
spacing). New YAML (a resource, a field mapping, a name) is written by ruamel's
emitter, which quotes whatever needs quoting. The result is loaded and validated
before it is returned: an edit never hands back a spec that `apiforge validate` rejects.
"""

from __future__ import annotations

import difflib
import io
import re
import textwrap
from collections.abc import Collection
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from .errors import SpecError, UserError
from .loader import load_spec_text
from .naming import pluralize
from .spec import FIELD_TYPES, RESERVED_RESOURCES, FieldSpec, NodeProblems, Spec, check_identifier

# ------------------------------------------------------------------ the field syntax

# Flags a field argument may carry after its type, and the option each one sets.
FLAGS: dict[str, tuple[str, bool | str]] = {
    "unique": ("unique", True),
    "optional": ("required", False),
    "required": ("required", True),
    "index": ("index", True),
    "search": ("search", True),
    "sort": ("sort", True),
    "filter": ("filter", True),
    "range": ("filter", "range"),
    "read_only": ("read_only", True),
    "write_only": ("write_only", True),
}
# How the value of `KEY=VALUE` is read, for every field option but `type`.
VALUE_KINDS: dict[str, str] = {
    "required": "bool",
    "default": "default",
    "unique": "bool",
    "index": "bool",
    "description": "text",
    "min_length": "int",
    "max_length": "int",
    "pattern": "text",
    "ge": "number",
    "gt": "number",
    "le": "number",
    "lt": "number",
    "max_digits": "int",
    "decimal_places": "int",
    "values": "list",
    "to": "text",
    "on_delete": "text",
    "filter": "filter",
    "search": "bool",
    "sort": "bool",
    "read_only": "bool",
    "write_only": "bool",
    "renamed_from": "text",
    "backfill": "default",
    "renamed_values": "mapping",
}
# Values that may themselves contain `:` run on to the next flag or KEY=VALUE.
COLON_VALUES = frozenset({"description", "pattern", "default"})
TYPE_HINTS = {
    "string": "str",
    "integer": "int",
    "boolean": "bool",
    "number": "float",
    "timestamp": "datetime",
    "reference": "ref",
    "foreign_key": "ref",
}
INTEGER = re.compile(r"[-+]?\d+")
NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def field_prompt_help() -> str:
    """What to type at the interactive field prompt."""
    wrap = textwrap.TextWrapper(width=88, subsequent_indent="  ")
    return "\n".join(
        [
            "Fields are NAME:TYPE[:OPTION...], for example:",
            "  title:str:search:sort  isbn:str:unique  price:decimal:range:ge=0",
            "  author:ref:author:on_delete=cascade  tags:list[str]:optional",
            wrap.fill(f"Types: {', '.join(FIELD_TYPES)}; a NAME alone is a str."),
            wrap.fill(
                f"Options: {', '.join(FLAGS)} (range means filter: range); after ref, "
                "the resource it points at (default: the field's name); KEY=VALUE for any "
                "other option, e.g. max_length=100, default=0, on_delete=cascade, "
                "values=draft,published (enum), description=..."
            ),
        ]
    )


def parse_field(arg: str) -> tuple[str, dict[str, Any]]:
    """`NAME:TYPE[:OPTION...]` → (name, field options), e.g. `price:decimal:range`.

    The options are what the spec holds for the field: `{"type": "str"}` alone is
    written in the short form `title: str`, anything more as a flow mapping.
    """
    name, *tokens = arg.split(":")
    try:
        check_identifier(name, "field")
    except ValueError as error:
        raise UserError(f"{error} (in `{arg}`)") from None
    field_type = tokens.pop(0) if tokens else "str"
    if field_type not in FIELD_TYPES:
        raise UserError(_unknown_type(field_type, arg))
    options: dict[str, Any] = {"type": field_type}
    if field_type == "ref":  # the next token names the target; `author:ref` means `author`
        options["to"] = tokens.pop(0) if tokens and not _is_option(tokens[0]) else name
    while tokens:
        token = tokens.pop(0)
        if token in FLAGS:
            key, flag = FLAGS[token]
            options[key] = flag
            continue
        key, equals, raw = token.partition("=")
        if not equals:
            raise UserError(_unknown_option(token, arg))
        if key not in VALUE_KINDS:
            raise UserError(
                f"unknown option `{key}` in `{arg}`{_did_you_mean(key, VALUE_KINDS)}"
                f"; KEY=VALUE takes: {', '.join(VALUE_KINDS)}"
            )
        while key in COLON_VALUES and tokens and not _is_option(tokens[0]):
            raw += ":" + tokens.pop(0)
        options[key] = _option_value(key, raw, field_type, arg)
    try:
        FieldSpec.model_validate(options)
    except ValidationError as error:
        raise UserError(f"field `{arg}`: {'; '.join(_field_problems(error))}") from None
    return name, options


def _is_option(token: str) -> bool:
    return token in FLAGS or ("=" in token and token.partition("=")[0] in VALUE_KINDS)


def _unknown_type(field_type: str, arg: str) -> str:
    if not field_type:
        return f"field `{arg}` has an empty type; write NAME:TYPE, e.g. title:str"
    if field_type in FLAGS or field_type.partition("=")[0] in VALUE_KINDS:
        name = arg.partition(":")[0]
        return (
            f"`{field_type}` in `{arg}` is an option, not a type: the type comes first, "
            f"e.g. {name}:str:{field_type}"
        )
    guess = TYPE_HINTS.get(field_type.lower())
    hint = f" (did you mean `{guess}`?)" if guess else _did_you_mean(field_type, FIELD_TYPES)
    return f"unknown type `{field_type}` in `{arg}`{hint}; allowed: {', '.join(FIELD_TYPES)}"


def _unknown_option(token: str, arg: str) -> str:
    if not token:
        return f"empty option in `{arg}` (two `:` in a row?)"
    if token == "ref":
        return f"`ref` in `{arg}` is a type: write NAME:ref:TARGET, e.g. author:ref:author"
    return (
        f"unknown option `{token}` in `{arg}`{_did_you_mean(token, [*FLAGS, *VALUE_KINDS])}"
        f"; allowed: {', '.join(FLAGS)}, or KEY=VALUE such as max_length=100"
    )


def _option_value(key: str, raw: str, field_type: str, arg: str) -> Any:
    kind = VALUE_KINDS[key]
    if kind == "default":
        kind = {
            "bool": "bool",
            "int": "int",
            "bigint": "int",
            "float": "number",
            "json": "json",
            "list[str]": "list",
            "list[int]": "list",
        }.get(field_type, "text")
        if kind == "list":
            raise UserError(
                f"`{key}` of a {field_type} field cannot be given in `{arg}`; set it in the spec"
            )
    if kind == "text":
        return raw
    if kind == "mapping":  # renamed_values=old=new,old2=new2
        pairs = [item.partition("=") for item in raw.split(",")]
        if not all(sep and old and new for old, sep, new in pairs):
            raise UserError(f"`{key}` takes OLD=NEW pairs separated by commas (in `{arg}`)")
        return {old.strip(): new.strip() for old, _, new in pairs}
    if kind == "list":
        return [item.strip() for item in raw.split(",")]
    lowered = raw.lower()
    if lowered in ("true", "false") and kind in ("bool", "filter", "json"):
        return lowered == "true"
    if kind == "filter" and lowered == "range":
        return "range"
    if kind in ("int", "number", "json") and INTEGER.fullmatch(raw):
        return int(raw)
    if kind in ("number", "json") and NUMBER.fullmatch(raw):
        return float(raw)
    if kind == "json":
        return raw
    wanted = {
        "bool": "true or false",
        "filter": "true, false or range",
        "int": "an integer",
        "number": "a number",
    }[kind]
    raise UserError(f"`{key}` must be {wanted}, not `{raw}` (in `{arg}`)")


def _field_problems(error: ValidationError) -> list[str]:
    problems: list[str] = []
    for detail in error.errors():
        cause = detail.get("ctx", {}).get("error")
        if isinstance(cause, NodeProblems):
            problems += [message for _, message in cause.problems]
        elif isinstance(cause, ValueError):
            problems.append(str(cause))
        else:
            where = ".".join(str(part) for part in detail["loc"] if isinstance(part, str))
            problems.append(f"`{where}`: {detail['msg']}" if where else detail["msg"])
    return list(dict.fromkeys(problems))


def _did_you_mean(word: str, choices: Collection[str]) -> str:
    matches = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean `{matches[0]}`?)" if matches else ""


# ------------------------------------------------------------------------ the edits


def add_resource(text: str, name: str, fields: list[str], *, filename: str) -> str:
    """Append resource `name` with `fields` (field syntax) at the end of `resources:`."""
    _check_resource_name(name)
    if not fields:
        raise UserError(f"resource `{name}` needs at least one field, e.g. title:str")
    parsed = [parse_field(arg) for arg in fields]
    seen: dict[str, str] = {}
    for (field_name, _), arg in zip(parsed, fields, strict=True):
        if field_name in seen:
            raise UserError(
                f"field `{field_name}` is given twice (`{seen[field_name]}` and `{arg}`)"
            )
        seen[field_name] = arg
    doc = _Document(text, filename)
    resources = doc.resources()
    if name in doc.entries(resources):
        raise UserError(f"resource `{name}` already exists in {filename}")
    entries = [(field_name, _field_text(options)) for field_name, options in parsed]
    if resources.flow_style:
        body = ", ".join(f"{_flow(key)}: {value}" for key, value in entries)
        doc.insert_flow_entry(resources, f"{_flow(name)}: {{fields: {{{body}}}}}")
    else:
        doc.insert_block_resource(resources, name, entries)
    new_text = doc.result()
    try:
        load_spec_text(new_text, filename=filename)
    except SpecError as error:
        load_spec_text(text, filename=filename)  # the file's own problems come first
        raise UserError(f"cannot add resource `{name}`: {_messages(error)}") from None
    return new_text


def remove_resource(text: str, name: str, *, filename: str) -> str:
    """Remove resource `name`, with the comment lines directly above it."""
    spec = load_spec_text(text, filename=filename)
    _require_resource(spec, name)
    referrers = [
        f"{other}.{field_name}"
        for other, resource in spec.resources.items()
        if other != name
        for field_name, field in resource.fields.items()
        if field.type == "ref" and field.to == name
    ]
    if referrers:
        fields = ", ".join(f"`{referrer}`" for referrer in referrers)
        one = len(referrers) == 1
        raise UserError(
            f"cannot remove resource `{name}`: {fields} still "
            f"refer{'s' if one else ''} to it; remove or retarget "
            f"{'that field' if one else 'those fields'} first"
        )
    if len(spec.resources) == 1:
        raise UserError(
            f"cannot remove resource `{name}`: it is the only one, and a spec "
            "needs at least one resource"
        )
    doc = _Document(text, filename)
    doc.remove_resource(doc.resources(), name)
    return _validated(doc.result(), filename, f"cannot remove resource `{name}`")


def rename_resource(
    text: str, old: str, new: str, *, filename: str, snapshot: Spec | None = None
) -> str:
    """Rename resource `old` to `new` in place, record `renamed_from`, retarget refs.

    `renamed_from` names the table the database holds. `snapshot` is the spec last
    generated (from `.apiforge/`): a name in it is what the database has. Without it, a
    resource that is already `renamed_from` something keeps that oldest name (the
    rename has not reached the database yet). An explicit `plural` that only spelled
    out the old default plural is dropped, so the new name's plural applies.
    """
    spec = load_spec_text(text, filename=filename)
    _require_resource(spec, old)
    _check_new_name(new, old, spec.resources, f"there is already a resource `{new}`")
    _check_resource_name(new)
    resource = spec.resources[old]
    applied = None if snapshot is None else set(snapshot.resources)
    origin = _origin(resource.renamed_from, old, new, applied)
    doc = _Document(text, filename)
    resources = doc.resources()
    key, value = doc.entry(resources, old)
    mapping = _mapping(value, f"resource `{old}`")
    doc.replace(key, _flow(new))
    doc.set_option(mapping, "renamed_from", origin, after=key)
    if resource.plural is not None and resource.plural == pluralize(old):
        doc.remove_option(mapping, "plural")
    for other, other_resource in spec.resources.items():
        other_fields: MappingNode | None = None
        for field_name, field in other_resource.fields.items():
            if field.type == "ref" and field.to == old:
                if other_fields is None:
                    other_fields = doc.fields(resources, other)
                field_node = _mapping(
                    doc.entry(other_fields, field_name)[1], f"field `{other}.{field_name}`"
                )
                doc.replace(doc.entry(field_node, "to")[1], _flow(new))
    return _validated(doc.result(), filename, f"cannot rename resource `{old}` to `{new}`")


def rename_field(
    text: str,
    resource: str,
    old: str,
    new: str,
    *,
    filename: str,
    snapshot: Spec | None = None,
) -> str:
    """Rename field `old` of `resource` to `new` in place and record `renamed_from`.

    A short-form field (`title: str`) becomes `{type: str, renamed_from: title}`;
    `snapshot` works as for `rename_resource`.
    """
    spec = load_spec_text(text, filename=filename)
    _require_resource(spec, resource)
    fields = spec.resources[resource].fields
    if old not in fields:
        raise UserError(
            f"resource `{resource}` has no field `{old}`"
            f"{_did_you_mean(old, fields)}; its fields are: {', '.join(fields)}"
        )
    _check_new_name(new, old, fields, f"resource `{resource}` already has a field `{new}`")
    try:
        check_identifier(new, "field")
    except ValueError as error:
        raise UserError(str(error)) from None
    applied: set[str] | None = None
    if snapshot is not None:
        known = snapshot.resources.get(resource) or snapshot.resources.get(
            spec.resources[resource].renamed_from or ""
        )
        applied = set(known.fields) if known else set()
    origin = _origin(fields[old].renamed_from, old, new, applied)
    doc = _Document(text, filename)
    key, value = doc.entry(doc.fields(doc.resources(), resource), old)
    doc.replace(key, _flow(new))
    if isinstance(value, ScalarNode):  # the short form `title: str`
        if origin is not None:
            doc.replace(value, _flow({"type": fields[old].type, "renamed_from": origin}))
    else:
        doc.set_option(_mapping(value, f"field `{resource}.{old}`"), "renamed_from", origin)
    return _validated(doc.result(), filename, f"cannot rename field `{resource}.{old}` to `{new}`")


# ------------------------------------------------------------------- edit helpers


def _origin(
    renamed_from: str | None, old: str, new: str, applied: Collection[str] | None
) -> str | None:
    """The name the database knows a resource or field by: what `renamed_from` holds."""
    if applied is None:
        origin: str | None = renamed_from or old
    elif old in applied:
        origin = old
    else:  # a pending rename keeps its origin; a name never generated needs none
        origin = renamed_from if renamed_from in applied else None
    return None if origin == new else origin  # renamed back: nothing to rename


def _check_resource_name(name: str) -> None:
    try:
        check_identifier(name, "resource")
    except ValueError as error:
        raise UserError(str(error)) from None
    if name in RESERVED_RESOURCES:
        raise UserError(f"resource name {name!r} is reserved for a generated module or route")


def _check_new_name(new: str, old: str, existing: Collection[str], clash: str) -> None:
    if new == old:
        raise UserError(f"`{old}` is already called `{new}`; nothing to rename")
    if new in existing:
        raise UserError(clash)


def _require_resource(spec: Spec, name: str) -> None:
    if name not in spec.resources:
        raise UserError(
            f"unknown resource `{name}`{_did_you_mean(name, spec.resources)}; "
            f"resources are: {', '.join(spec.resources)}"
        )


def _field_text(options: dict[str, Any]) -> str:
    return _flow(options["type"]) if len(options) == 1 else _flow(options)


def _flow(value: Any) -> str:
    """`value` as YAML on one line, quoted where a flow context (`{...}`) needs it."""
    yaml = YAML(typ="rt")
    yaml.default_flow_style = True
    yaml.width = 1 << 20  # never fold
    stream = io.StringIO()
    yaml.dump([value], stream)
    return stream.getvalue().strip()[1:-1]  # the item of a one-item list


def _mapping(node: Node, what: str) -> MappingNode:
    if not isinstance(node, MappingNode):
        raise UserError(f"{what} is not a mapping; edit it by hand")
    return node


def _messages(error: SpecError) -> str:
    return "; ".join(problem.message for problem in error.problems)


def _validated(new_text: str, filename: str, action: str) -> str:
    try:
        load_spec_text(new_text, filename=filename)
    except SpecError as error:
        raise UserError(f"{action}: {_messages(error)}") from None
    return new_text


# ----------------------------------------------------------- text and its nodes


class _Document:
    """The spec text, its composed nodes, and the edits to make: (start, end, new text)."""

    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self.edits: list[tuple[int, int, str]] = []
        try:
            root = YAML(typ="rt").compose(text)
        except (MarkedYAMLError, ReaderError):
            root = None
        if not isinstance(root, MappingNode):
            load_spec_text(text, filename=filename)  # raises the located problem
            raise UserError(f"{filename}: the spec is not a mapping")
        self.root = root
        self.filename = filename

    # -- reading

    def entries(self, node: MappingNode) -> dict[str, tuple[ScalarNode, Node]]:
        return {
            key.value: (key, value)
            for key, value in node.value
            if isinstance(key, ScalarNode) and key.tag != "tag:yaml.org,2002:merge"
        }

    def entry(self, node: MappingNode, name: str) -> tuple[ScalarNode, Node]:
        found = self.entries(node).get(name)
        if found is None or found[1].start_mark.index < found[0].end_mark.index:
            raise UserError(
                f"`{name}` comes from a YAML alias or merge key in {self.filename}; edit it by hand"
            )
        return found

    def resources(self) -> MappingNode:
        found = self.entries(self.root).get("resources")
        if found is None or not isinstance(found[1], MappingNode):
            load_spec_text(self.text, filename=self.filename)
            raise UserError(f"{self.filename}: `resources` is not a mapping")
        return found[1]

    def fields(self, resources: MappingNode, name: str) -> MappingNode:
        resource = _mapping(self.entry(resources, name)[1], f"resource `{name}`")
        return _mapping(self.entry(resource, "fields")[1], f"the fields of `{name}`")

    def end(self, node: Node) -> int:
        """Where a node's own text ends (block collections' marks run on to the next token)."""
        if isinstance(node, MappingNode | SequenceNode) and not node.flow_style:
            children = (
                node.value
                if isinstance(node, SequenceNode)
                else [part for pair in node.value for part in pair]
            )
            return max((self.end(child) for child in children), default=-1)
        start, end = int(node.start_mark.index), int(node.end_mark.index)
        if start == end:
            return -1  # an empty (null) value, whose mark is the next token's
        return start + len(self.text[start:end].rstrip())

    def line_start(self, index: int) -> int:
        return self.text.rfind("\n", 0, index) + 1

    def next_line(self, index: int) -> int:
        """Where the line after the one holding `index` starts (or the end of the text)."""
        found = self.text.find("\n", index)
        return len(self.text) if found < 0 else found + 1

    def line_at(self, index: int) -> str:
        return self.text[index : self.next_line(index)]

    def entry_end(self, key: Node, value: Node) -> int:
        return max(self.end(key), self.end(value))

    # -- editing

    def editable(self, node: Node) -> None:
        """Refuse to change an anchored node: its aliases elsewhere would change too."""
        if getattr(node, "anchor", None):
            line = node.start_mark.line + 1
            raise UserError(
                f"{self.filename}:{line}: the value to change carries the YAML "
                f"anchor `&{node.anchor}`, so its aliases would change too; "
                "edit it by hand"
            )

    def replace(self, node: Node, new: str) -> None:
        self.editable(node)
        self.edits.append((node.start_mark.index, self.end(node), new))

    def result(self) -> str:
        text = self.text
        done = len(text) + 1
        # Last first, so earlier offsets stay valid; at one offset, removals before inserts.
        for start, end, new in sorted(self.edits, reverse=True):
            assert end <= done, "overlapping edits"
            text = text[:start] + new + text[end:]
            done = start
        return text

    def set_option(
        self, node: MappingNode, key: str, value: str | None, after: Node | None = None
    ) -> None:
        """Set `key: value` in a mapping (None removes it); new entries go last, or on
        the line after `after` (the mapping's own key) in a block mapping."""
        self.editable(node)
        found = self.entries(node).get(key)
        if value is None:
            if found is not None:
                self.remove_option(node, key)
        elif found is not None:
            if not (isinstance(found[1], ScalarNode) and found[1].value == value):
                self.replace(found[1], _flow(value))
        elif node.flow_style:
            self.insert_flow_entry(node, f"{key}: {_flow(value)}")
        else:
            first_key = node.value[0][0]
            indent = " " * first_key.start_mark.column
            anchor = self.end(after) if after is not None else self.end(node)
            self.insert_line(self.next_line(anchor), f"{indent}{key}: {_flow(value)}")

    def insert_line(self, at: int, line: str) -> None:
        before = self.newline if at == len(self.text) and not self.text.endswith("\n") else ""
        self.edits.append((at, at, before + line + self.newline))

    def insert_flow_entry(self, node: MappingNode, entry: str) -> None:
        if node.value:
            at = self.entry_end(*node.value[-1])
            self.edits.append((at, at, ", " + entry))
        else:
            closing = node.end_mark.index - 1  # `}`
            self.edits.append((closing, closing, entry))

    def remove_option(self, node: MappingNode, key: str) -> None:
        pairs = node.value
        index = next(i for i, (k, _) in enumerate(pairs) if getattr(k, "value", None) == key)
        if not node.flow_style:
            start = self.line_start(pairs[index][0].start_mark.index)
            self.edits.append((start, self.next_line(self.entry_end(*pairs[index])), ""))
        elif index + 1 < len(pairs):  # up to the next key
            self.edits.append(
                (pairs[index][0].start_mark.index, pairs[index + 1][0].start_mark.index, "")
            )
        else:  # from the end of the previous entry, taking its comma
            start = self.entry_end(*pairs[index - 1]) if index else pairs[index][0].start_mark.index
            self.edits.append((start, self.entry_end(*pairs[index]), ""))

    # -- resources, which carry their comments and blank lines with them

    def _indent(self, line: str) -> int:
        return len(line) - len(line.lstrip(" "))

    def _is_comment(self, line: str) -> bool:
        return line.lstrip(" ").startswith("#")

    def block_span(self, resources: MappingNode, index: int) -> tuple[int, int]:
        """The lines of the `index`th resource: from the comment lines right above its key
        (unless it is the first, whose comments are about `resources:`) to its last line
        and the deeper-indented comment lines that follow it."""
        key, value = resources.value[index]
        column = key.start_mark.column
        start = self.line_start(key.start_mark.index)
        while index > 0 and start > 0:
            above = self.line_start(start - 1)
            line = self.text[above:start]
            if not (self._is_comment(line) and self._indent(line) == column):
                break
            start = above
        end = scan = self.next_line(self.entry_end(key, value))
        while scan < len(self.text):
            line = self.line_at(scan)
            if line.strip() and not (self._is_comment(line) and self._indent(line) > column):
                break
            scan = self.next_line(scan)
            if line.strip():
                end = scan
        return start, end

    def remove_resource(self, resources: MappingNode, name: str) -> None:
        index = next(
            i for i, (key, _) in enumerate(resources.value) if getattr(key, "value", None) == name
        )
        if resources.flow_style:
            self.remove_option(resources, name)
            return
        start, end = self.block_span(resources, index)
        blank_before = start > 0 and not self.text[self.line_start(start - 1) : start].strip()
        after = end
        while after < len(self.text) and not self.line_at(after).strip():
            after = self.next_line(after)
        column = resources.value[index][0].start_mark.column
        mapping_ends = after == len(self.text) or self._indent(self.line_at(after)) < column
        if after > end and (blank_before or index == 0):
            end = after  # keep one separator: the blank line above
        elif blank_before and mapping_ends:
            while start > 0 and not self.text[self.line_start(start - 1) : start].strip():
                start = self.line_start(start - 1)
        self.edits.append((start, end, ""))

    def insert_block_resource(
        self, resources: MappingNode, name: str, fields: list[tuple[str, str]]
    ) -> None:
        column = resources.value[0][0].start_mark.column
        parent = next(key for key, value in self.root.value if value is resources)
        step = field_step = column - parent.start_mark.column
        # Indent like the resources already there (the first block-style ones found).
        blocks = [
            (key, value)
            for key, value in resources.value
            if isinstance(value, MappingNode) and not value.flow_style
        ]
        if blocks:
            step = blocks[0][1].value[0][0].start_mark.column - blocks[0][0].start_mark.column
        for _, value in blocks:
            found = self.entries(value).get("fields")
            if found and isinstance(found[1], MappingNode) and not found[1].flow_style:
                field_step = found[1].value[0][0].start_mark.column - found[0].start_mark.column
                break
        indent, nl = " " * column, self.newline
        lines = [f"{indent}{_flow(name)}:", f"{indent}{' ' * step}fields:"]
        lines += [
            f"{indent}{' ' * (step + field_step)}{_flow(key)}: {value}" for key, value in fields
        ]
        last = len(resources.value) - 1
        start, end = self.block_span(resources, last)
        spaced = (
            last > 0 and start > 0 and not self.text[self.line_start(start - 1) : start].strip()
        )
        before = nl if end == len(self.text) and not self.text.endswith("\n") else ""
        self.edits.append((end, end, before + (nl if spaced else "") + nl.join(lines) + nl))
