"""Spec loading: YAML → validated `Spec`, and every rejection located at `file:line:column`.

Locations are asserted exactly: each case names the line and the text the problem must
point at (a key for unknown options and names, the value for bad values).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from apiforge.errors import SpecError, SpecProblem, UserError
from apiforge.loader import load_spec, load_spec_text, spec_json_schema
from apiforge.spec import FIELD_TYPES, STANDARD_ACTIONS, FieldSpec, Spec

# DESIGN §2's bookstore, plus resources that exercise plurals and keyword names. The
# design writes `{type: list[str], ...}` unquoted, which YAML rejects inside braces.
BOOKSTORE = r"""
apiforge: 1                      # spec format version (required)
service:
  name: bookstore
  title: Bookstore API
  version: 0.1.0
resources:
  author:
    plural: authors
    fields:
      name: {type: str, max_length: 100, search: true, sort: true}
      email: {type: email, unique: true}
      bio: {type: text, required: false}
  book:
    fields:
      title: {type: str, min_length: 1, max_length: 200, search: true, sort: true}
      isbn: {type: str, pattern: '^\d{13}$', unique: true}
      price: {type: decimal, max_digits: 10, decimal_places: 2, ge: 0, filter: range, sort: true}
      genre: {type: enum, values: [fiction, science, programming], filter: true}
      published_year: {type: int, ge: 1450, le: 2100, filter: range, sort: true}
      tags: {type: 'list[str]', required: false}
      in_stock: {type: bool, default: true, filter: true}
      author: {type: ref, to: author, on_delete: cascade, filter: true}
      summary: {type: text, required: false, renamed_from: blurb}   # rename keeps data
      released: {type: date, default: 2024-01-31}
    actions: [list, create, retrieve, update, partial_update, destroy, bulk_create, bulk_delete]
    pagination: page
  person:
    fields:
      name: str
  category:
    fields: {name: str}
"""

# A minimal spec whose `book` fields start on line 6; `extra` adds more resources.
HEADER = "apiforge: 1\nservice: {name: shop}\nresources:\n  book:\n    fields:\n"
FIELDS_LINE = 6


def book(*fields: str, extra: str = "") -> str:
    return HEADER + "".join(f"      {field}\n" for field in fields) + extra


def problems_of(text: str) -> list[SpecProblem]:
    with pytest.raises(SpecError) as caught:
        load_spec_text(text, filename="spec.yaml")
    return caught.value.problems


def expect(text: str, *, line: int, at: str, says: str, nth: int = 1) -> None:
    """The spec is rejected with a problem at the `nth` `at` of `line` whose message has `says`."""
    source = text.splitlines()[line - 1]
    column = -1
    for _ in range(nth):
        column = source.index(at, column + 1)
    problems = problems_of(text)
    found = [p.message for p in problems if (p.line, p.column) == (line, column + 1)]
    assert any(says in message for message in found), (
        f"wanted {line}:{column + 1} {says!r}, got:\n" + "\n".join(map(str, problems))
    )


# ------------------------------------------------------------------------- accepted


def test_bookstore_loads_with_derived_values() -> None:
    spec = load_spec_text(BOOKSTORE, filename="apiforge.yaml")

    assert spec.apiforge == 1
    assert spec.service.package_name == "bookstore"
    assert spec.service.display_title == "Bookstore API"
    assert (spec.service.api_prefix, spec.service.database) == ("/api/v1", "sqlite")
    assert [spec.plural_of(name) for name in spec.resources] == [
        "authors",
        "books",
        "people",
        "categories",
    ]
    book = spec.resources["book"]
    assert book.actions[-2:] == ("bulk_create", "bulk_delete")
    assert (book.id, book.timestamps, book.pagination) == ("int", True, "page")
    assert spec.resources["author"].actions == STANDARD_ACTIONS
    fields = book.fields
    assert fields["isbn"].pattern == r"^\d{13}$"
    assert fields["genre"].values == ("fiction", "science", "programming")
    assert (fields["price"].filter, fields["price"].ge) == ("range", 0)
    assert fields["tags"].type == "list[str]"
    assert fields["in_stock"].has_default and fields["in_stock"].default is True
    assert not fields["title"].has_default
    assert fields["summary"].renamed_from == "blurb"
    # An unquoted YAML date reaches the model as the ISO string it validates.
    assert fields["released"].default == "2024-01-31"


def test_short_form_is_a_field_with_default_options() -> None:
    spec = load_spec_text(BOOKSTORE, filename="apiforge.yaml")
    name = spec.resources["person"].fields["name"]
    assert name == FieldSpec(type="str")
    assert (name.required, name.unique, name.filter, name.default) == (True, False, False, None)


def test_default_service_values() -> None:
    spec = load_spec_text(book("title: str"), filename="spec.yaml")
    assert spec.service.package_name == "shop"
    assert spec.service.display_title == "Shop API"
    assert spec.service.version == "0.1.0"


def test_keywords_and_sql_reserved_words_are_accepted_as_names() -> None:
    text = book(
        "class: str",
        "from: date",
        "order: int",
        "user: str",
        "group: str",
        extra="  order:\n    fields: {total: float}\n"
        "  user:\n    fields: {name: str}\n"
        "  group:\n    fields: {name: str}\n",
    )
    spec = load_spec_text(text, filename="spec.yaml")
    assert list(spec.resources["book"].fields) == ["class", "from", "order", "user", "group"]
    assert [spec.plural_of(name) for name in ("order", "user", "group")] == [
        "orders",
        "users",
        "groups",
    ]


def test_self_reference_is_not_a_cycle() -> None:
    text = book("title: str", "parent: {type: ref, to: book, required: false, on_delete: set_null}")
    spec = load_spec_text(text, filename="spec.yaml")
    assert spec.resources["book"].fields["parent"].to == "book"


def test_load_spec_reads_the_file_and_returns_its_text(tmp_path: Path) -> None:
    path = tmp_path / "apiforge.yaml"
    path.write_text(BOOKSTORE, encoding="utf-8")
    spec, text = load_spec(path)
    assert isinstance(spec, Spec) and text == BOOKSTORE


# ------------------------------------------------------------------------- rejected

FIELD_CASES = [
    # (field line, point at, message says)
    ("title: {type: strng}", "strng", "unknown type `strng` (did you mean `str`?)"),
    ("title: {type: strng}", "strng", "allowed: str, text, int"),
    ("title: strng", "strng", "did you mean `str`?"),
    (
        "title: {type: str, uniqe: true}",
        "uniqe",
        "unknown field option `uniqe` (did you mean `unique`?); allowed: type, required",
    ),
    (
        "count: {type: int, pattern: '^a$'}",
        "pattern",
        "option `pattern` does not apply to type int; it is for: str, text",
    ),
    ("genre: enum", "genre", "an enum field needs `values`"),
    ("genre: {type: enum, values: []}", "values", "an enum field needs `values`"),
    ("writer: ref", "writer", "a ref field needs `to`"),
    (
        "writer: {type: ref, to: book, on_delete: set_null}",
        "set_null",
        "on_delete: set_null needs `required: false`",
    ),
    (r"isbn: {type: str, pattern: '^(\d'}", "'^(", "pattern is not a valid regular expression"),
    (
        "name: {type: str, min_length: 5, max_length: 2}",
        "5",
        "min_length is greater than max_length",
    ),
    ("year: {type: int, ge: 2100, le: 1450}", "2100", "the lower bound (ge/gt) is greater"),
    ("count: {type: int, default: many}", "many", "default 'many' is not a valid int"),
    ("flag: {type: bool, default: 'yes'}", "'yes'", "default 'yes' is not a valid bool"),
    (
        "secret: {type: str, read_only: true, write_only: true}",
        "true}",
        "cannot be both read_only and write_only",
    ),
    ("1abc: str", "1abc", "field name '1abc' is not allowed: it starts with a digit"),
    ("a/b: str", "a/b", "it contains a path separator"),
    ("Title: str", "Title", "it is not snake_case"),
    ("a__b: str", "a__b", "double or trailing underscores are reserved"),
    ("id: str", "id", "field name 'id' clashes with the generated column 'id'"),
    ("created_at: datetime", "created_at", "clashes with the generated column 'created_at'"),
    ("page: {type: int, filter: true}", "true", "`page` is already a list query parameter"),
    ("model_name: str", "model_name", "the `model_` prefix is reserved by Pydantic"),
    ("done: {type: bool, required: yes}", "yes", "`required` must be true or false, not `yes`"),
    ("name: {type: str, max_length: ten}", "ten", "`max_length` must be an integer, not `ten`"),
    ("price: {type: float, ge: cheap}", "cheap", "`ge` must be a number, not `cheap`"),
    (
        "price: {type: float, filter: rnge}",
        "rnge",
        "unknown `filter` value `rnge` (did you mean `range`?); allowed: true, false or range",
    ),
    ("price: {type: decimal, max_digits: 50}", "50", "`max_digits` must be at most 38"),
    ("title: 5", "5", "field `title` must be a field type such as `str`, or a mapping"),
    (
        "title:",
        "title",
        "field `title` must be a field type such as `str`, or a mapping of "
        "field options, not empty",
    ),
    ("title: {required: true}", "title", "missing `type`: the field type, one of: str"),
]


@pytest.mark.parametrize(("field", "at", "says"), FIELD_CASES)
def test_field_problem_is_located_and_explained(field: str, at: str, says: str) -> None:
    expect(book(field), line=FIELDS_LINE, at=at, says=says)


def test_repeated_enum_value_is_located_at_the_repeat() -> None:
    text = book("genre: {type: enum, values: [fiction, science, fiction]}")
    expect(text, line=FIELDS_LINE, at="fiction", nth=2, says="'fiction' is repeated")


def test_ref_to_unknown_resource_suggests_the_closest() -> None:
    text = book("writer: {type: ref, to: athor}", extra="  author:\n    fields: {name: str}\n")
    expect(
        text,
        line=FIELDS_LINE,
        at="athor",
        says="ref to unknown resource 'athor' (did you mean 'author'?); resources are: "
        "author, book",
    )


def test_ref_and_its_column_name_clash() -> None:
    text = book("author: {type: ref, to: book}", "author_id: int")
    expect(
        text,
        line=FIELDS_LINE + 1,
        at="author_id",
        says="field 'author_id' becomes column 'author_id', which clashes with field 'author'",
    )


def test_unknown_action_suggests_the_closest() -> None:
    text = book("title: str", extra="    actions: [list, craete]\n")
    expect(
        text,
        line=FIELDS_LINE + 1,
        at="craete",
        says="unknown action `craete` (did you mean `create`?); allowed: list, create",
    )


def test_repeated_action_is_located_at_the_repeat() -> None:
    text = book("title: str", extra="    actions: [list, create, list]\n")
    expect(text, line=FIELDS_LINE + 1, at="list", nth=2, says="action `list` is listed more")


def test_unknown_resource_option_suggests_the_closest() -> None:
    text = book("title: str", extra="    paginaton: cursor\n")
    expect(text, line=FIELDS_LINE + 1, at="paginaton", says="did you mean `pagination`?")


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("health", "resource name 'health' is reserved"),
        ("Order", "resource name 'Order' is not allowed: it is not snake_case"),
    ],
)
def test_bad_resource_name_is_located_at_its_key(name: str, says: str) -> None:
    text = book("title: str", extra=f"  {name}:\n    fields: {{a: str}}\n")
    expect(text, line=FIELDS_LINE + 1, at=name, says=says)


def test_default_plural_clashing_with_a_resource() -> None:
    text = (
        "apiforge: 1\nservice: {name: x}\nresources:\n  person: {fields: {a: str}}\n"
        "  people: {fields: {a: str}}\n"
    )
    expect(
        text,
        line=4,
        at="person",
        says="the plural of 'person' is 'people', which is also a resource name",
    )


def test_explicit_plural_clashing_with_another_plural() -> None:
    text = (
        "apiforge: 1\nservice: {name: x}\nresources:\n"
        "  shelf: {plural: things, fields: {a: str}}\n"
        "  box: {plural: things, fields: {a: str}}\n"
    )
    expect(
        text,
        line=5,
        at="things",
        says="resource 'box' has the plural 'things', which clashes with resource 'shelf'",
    )


def test_reference_cycle() -> None:
    text = (
        "apiforge: 1\nservice: {name: x}\nresources:\n"
        "  egg: {fields: {hen: {type: ref, to: hen}}}\n"
        "  hen: {fields: {egg: {type: ref, to: egg}}}\n"
    )
    expect(text, line=4, at="hen", nth=2, says="references form a cycle (egg → hen → egg)")


@pytest.mark.parametrize(
    ("first_line", "says"),
    [
        ("apiforge: 2", "unsupported spec format version 2: this apiforge reads `apiforge: 1`"),
        ("apiforge: '1'", "unsupported spec format version '1'"),
        ("apiforge: true", "unsupported spec format version true"),
    ],
)
def test_wrong_format_version(first_line: str, says: str) -> None:
    text = book("title: str").replace("apiforge: 1", first_line)
    expect(text, line=1, at=first_line.split()[1], says=says)


def test_missing_format_version() -> None:
    text = book("title: str").replace("apiforge: 1\n", "")
    expect(
        text,
        line=1,
        at="service",
        says="missing `apiforge`: the spec format version; start the file with `apiforge: 1`",
    )


def test_missing_service_name() -> None:
    text = book("title: str").replace("{name: shop}", "{title: Shop}")
    expect(text, line=2, at="service", says="missing `name`")


def test_unknown_top_level_key() -> None:
    text = book("title: str") + "servce: {}\n"
    expect(
        text,
        line=FIELDS_LINE + 1,
        at="servce",
        says="unknown top-level key `servce` (did you mean `service`?)",
    )


@pytest.mark.parametrize(
    ("resources", "says"),
    [
        ("resources: {}", "the spec needs at least one resource"),
        ("resources:", "`resources` must be a mapping, not empty"),
    ],
)
def test_no_resources(resources: str, says: str) -> None:
    text = f"apiforge: 1\nservice: {{name: x}}\n{resources}\n"
    expect(text, line=3, at="resources", says=says)


def test_resource_without_fields() -> None:
    text = "apiforge: 1\nservice: {name: x}\nresources:\n  book: {fields: {}}\n"
    expect(text, line=4, at="fields", says="a resource needs at least one field")


# ------------------------------------------------------------------- YAML and files


def test_yaml_syntax_error() -> None:
    text = book("title: {type: str", "isbn: str")
    (problem,) = problems_of(text)
    assert problem.line == FIELDS_LINE + 1
    assert problem.message.startswith("invalid YAML: ")


def test_unquoted_list_type_in_braces_gets_a_hint() -> None:
    text = book("tags: {type: list[str], required: false}")
    (problem,) = problems_of(text)
    assert (problem.line, problem.column) == (FIELDS_LINE, 24)
    assert "quote the type: type: 'list[str]'" in problem.message


def test_tab_indentation_is_a_located_yaml_error() -> None:
    (problem,) = problems_of("apiforge: 1\nservice:\n\tname: x\n")
    assert (problem.line, problem.column) == (3, 1)
    assert "invalid YAML" in problem.message


def test_every_duplicate_key_is_reported() -> None:
    text = book("title: str", "isbn: {type: str, unique: true, unique: false}", "title: text")
    assert [str(problem) for problem in problems_of(text)] == [
        "spec.yaml:7:39: duplicate key `unique`: it is already defined on line 7",
        "spec.yaml:8:7: duplicate key `title`: it is already defined on line 6",
    ]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "the spec is empty"),
        ("# nothing yet\n", "the spec is empty"),
        ("- book\n- author\n", "the spec must be a mapping with the keys `apiforge`"),
        ("just words\n", "the spec must be a mapping"),
    ],
)
def test_empty_or_non_mapping_spec(text: str, says: str) -> None:
    (problem,) = problems_of(text)
    assert (problem.line, problem.column) == (1, 1)
    assert says in problem.message


def test_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"missing\.yaml: no such spec file"):
        load_spec(tmp_path / "missing.yaml")


def test_unreadable_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="is a folder, not a spec file"):
        load_spec(tmp_path)
    unreadable = tmp_path / "apiforge.yaml"
    unreadable.mkdir()
    (unreadable / "x").mkdir()
    with pytest.raises(UserError, match="no such spec file|is a folder"):
        load_spec(unreadable / "missing.yaml")


def test_non_utf8_file_is_located(tmp_path: Path) -> None:
    path = tmp_path / "apiforge.yaml"
    path.write_bytes(b"apiforge: 1\nservice: {name: caf\xe9}\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value) == f"{path}:2:20: the spec is not UTF-8 text (byte 0xe9)"


# ------------------------------------------------------------------ several at once


def test_all_problems_are_reported_in_file_order() -> None:
    text = book(
        "title: {type: strng}",
        "isbn: {type: str, uniqe: true}",
        "1abc: str",
        "count: {type: int, ge: many}",
        extra="    actions: [list, craete]\n  health:\n    fields: {a: str}\n",
    ).replace("apiforge: 1", "apiforge: 2")
    messages = [str(problem) for problem in problems_of(text)]
    assert [message.split(": ")[0] for message in messages] == [
        "spec.yaml:1:11",
        "spec.yaml:6:21",
        "spec.yaml:7:25",
        "spec.yaml:8:7",
        "spec.yaml:9:30",
        "spec.yaml:10:21",
        "spec.yaml:11:3",
    ]
    assert str(SpecError(problems_of(text))) == "\n".join(messages)


def test_every_problem_of_one_field_is_reported() -> None:
    text = book("name: {type: int, pattern: x, search: true, min_length: 1}")
    messages = [problem.message for problem in problems_of(text)]
    assert messages == [
        "option `pattern` does not apply to type int; it is for: str, text",
        "search: true is for text fields (str, text, email, url)",
        "option `min_length` does not apply to type int; it is for: email, list[int], "
        "list[str], str, text, url",
    ]


def test_union_branches_give_one_problem() -> None:
    (problem,) = problems_of(book("price: {type: float, le: lots}"))
    assert problem.message == "`le` must be a number, not `lots`"


def test_messages_never_carry_pydantic_prefixes() -> None:
    text = book("count: {type: int, default: many}", "genre: enum")
    assert all("Value error" not in str(problem) for problem in problems_of(text))


# --------------------------------------------------------------------- JSON Schema


def test_json_schema_is_editor_friendly() -> None:
    schema = spec_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "apiforge spec"
    assert schema["properties"]["resources"]["description"]
    field = schema["$defs"]["FieldSpec"]["properties"]
    assert field["type"]["description"] and field["filter"]["description"]
    fields = schema["$defs"]["ResourceSpec"]["properties"]["fields"]
    short_form = {"type": "string", "enum": list(FIELD_TYPES)}
    assert fields["additionalProperties"]["anyOf"] == [{"$ref": "#/$defs/FieldSpec"}, short_form]


def test_json_schema_validates_specs() -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is in the `test` extra")
    from ruamel.yaml import YAML

    validator = jsonschema.Draft202012Validator(spec_json_schema())
    validator.check_schema(validator.schema)
    document = YAML(typ="safe").load(BOOKSTORE)
    assert list(validator.iter_errors(document)) == []

    document["resources"]["book"]["fields"]["title"] = "strng"
    document["resources"]["health"] = {"fields": {"a": "str"}}
    document["resources"]["person"]["fields"]["Name"] = "str"
    assert len(list(validator.iter_errors(document))) == 3


# ------------------------------------------------- bounded input (issue 8, item 11)

SLOW = 10.0  # seconds: far above what a bounded check takes, far below a hang

ALIAS_BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 10 if previous else ['x'] * 10)}]\n"
    for previous, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)


@pytest.fixture(scope="module")
def warm() -> None:
    """Import and build once what every load needs, so timings measure the input alone."""
    load_spec_text(
        book("code: {type: str, pattern: '^[A-Z]{3}$'}", "mail: email"), filename="spec.yaml"
    )


def quickly_rejected(text: str) -> list[SpecProblem]:
    started = time.monotonic()
    problems = problems_of(text)
    assert time.monotonic() - started < SLOW
    return problems


@pytest.mark.usefixtures("warm")
def test_a_spec_over_the_size_limit_is_refused_before_parsing() -> None:
    text = book("title: str") + "#" + "x" * (5 * 1024 * 1024) + "\n"
    (problem,) = quickly_rejected(text)
    assert (problem.line, problem.column) == (1, 1)
    assert "larger than 1 MiB" in problem.message


def test_a_spec_file_over_the_size_limit_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(book("title: str") + "#" + "x" * (5 * 1024 * 1024) + "\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value).startswith(f"{path}:1:1: the spec is larger than 1 MiB")


@pytest.mark.usefixtures("warm")
def test_an_alias_bomb_is_refused_at_the_alias_that_explodes() -> None:
    text = ALIAS_BOMB + book("title: str")
    problems = quickly_rejected(text)
    assert any(
        "counting what YAML aliases repeat" in p.message and p.line <= ALIAS_BOMB.count("\n")
        for p in problems
    ), problems


@pytest.mark.usefixtures("warm")
def test_an_alias_inside_itself_is_refused() -> None:
    text = "loop: &loop [1, *loop]\n" + book("title: str")
    (problem,) = quickly_rejected(text)
    assert (problem.line, problem.column) == (1, 17)
    assert "refers to a collection that contains it" in problem.message


def test_ordinary_aliases_and_merge_keys_still_work() -> None:
    text = book(
        "title: &text {type: str, max_length: 80}",
        "headline: *text",
        "subtitle: {<<: *text, required: false}",
    )
    fields = load_spec_text(text, filename="spec.yaml").resources["book"].fields
    assert fields["headline"].max_length == fields["subtitle"].max_length == 80
    assert fields["subtitle"].required is False


@pytest.mark.usefixtures("warm")
@pytest.mark.parametrize("opening", ["[", "{a: "])
def test_deep_nesting_is_refused_at_the_level_too_deep(opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    text = book(
        "data: {type: json, required: false, default: " + opening * 5000 + closing * 5000 + "}"
    )
    (problem,) = quickly_rejected(text)
    assert problem.line == FIELDS_LINE
    assert "nested more than 64 levels deep" in problem.message


def test_nesting_within_the_limit_is_fine() -> None:
    text = book("data: {type: json, required: false, default: " + "[" * 40 + "]" * 40 + "}")
    load_spec_text(text, filename="spec.yaml")


def test_a_tag_directive_is_read_like_any_other_spec() -> None:
    text = "%TAG !e! tag:example.com,2000:\n---\n" + book("title: !e!x str")
    assert load_spec_text(text, filename="spec.yaml").resources["book"].fields["title"].type == (
        "str"
    )


# ------------------------------------ what later stages need, checked at load (item 10)


def test_a_pattern_without_derivable_test_values_is_refused_at_the_pattern() -> None:
    expect(
        book("code: {type: str, pattern: '^a$'}"),
        line=FIELDS_LINE,
        at="'^a$'",
        says="cannot derive distinct test values for pattern",
    )


@pytest.mark.usefixtures("warm")
def test_a_catastrophic_pattern_is_settled_quickly() -> None:
    # Every value must end in `a`, so no counter can vary: refused, at once, at the pattern.
    text = book("word: {type: str, pattern: '(a+)+$'}")
    (problem,) = quickly_rejected(text)
    assert (problem.line, problem.column) == (FIELDS_LINE, text.splitlines()[5].index("'(") + 1)
    assert "cannot derive distinct test values" in problem.message


@pytest.mark.usefixtures("warm")
def test_a_pattern_with_a_counter_is_derived_quickly() -> None:
    started = time.monotonic()
    spec = load_spec_text(
        book(r"isbn: {type: str, pattern: '^(\d+)+-\d{3}$'}"), filename="spec.yaml"
    )
    assert spec.resources["book"].fields["isbn"].pattern == r"^(\d+)+-\d{3}$"
    assert time.monotonic() - started < SLOW


@pytest.mark.usefixtures("warm")
@pytest.mark.parametrize(
    "pattern",
    [
        "(a+)+b$",
        "^(a|aa)+$",
        "^(a{1,30}){1,30}x{40}$",
        "^[a-z]{9000}$",
        "((a{50}){50}){50}",
        "((?:){10000}){10000}",
        "(((a?){30}){30}){30}",
    ],
)
def test_no_pattern_makes_loading_hang(pattern: str) -> None:
    started = time.monotonic()
    try:
        load_spec_text(book(f"word: {{type: str, pattern: '{pattern}'}}"), filename="spec.yaml")
    except SpecError as error:
        assert all(problem.line == FIELDS_LINE for problem in error.problems)
    assert time.monotonic() - started < SLOW


def test_a_decimal_no_value_fits_is_refused_at_its_bound() -> None:
    expect(
        book("price: {type: decimal, max_digits: 4, decimal_places: 2, ge: 100}"),
        line=FIELDS_LINE,
        at="100",
        says="no decimal with 2 places and 4 digits fits",
    )


def test_an_email_too_short_for_any_address_is_refused() -> None:
    expect(
        book("mail: {type: email, max_length: 5}"),
        line=FIELDS_LINE,
        at="5",
        says="no email fits in 5 characters",
    )


# ------------------------------------------ bounds and defaults (issue 8, item 13)

BOUND_CASES = [
    # (field line, point at, message says)
    (
        "count: {type: int, le: 2147483648}",
        "2147483648",
        "`le` 2147483648 is outside what an int column holds (-2147483648 to 2147483647)",
    ),
    ("count: {type: int, ge: -2147483649}", "-2147483649", "outside what an int column holds"),
    (
        "count: {type: bigint, lt: 9223372036854775808}",
        "9223372036854775808",
        "outside what a bigint column holds",
    ),
    ("price: {type: float, ge: 1" + "0" * 400 + "}", "1000", "`ge` is too large for a float"),
    (
        "price: {type: decimal, le: 1" + "0" * 400 + "}",
        "1000",
        "`le` has more digits than a decimal column holds (38)",
    ),
    ("price: {type: float, ge: '0'}", "'0'", "`ge` must be a number, not `0`"),
    ("price: {type: decimal, lt: '10'}", "'10'", "`lt` must be a number, not `10`"),
    (
        "name: {type: str, max_length: 9223372036854775808}",
        "9223372036854775808",
        "a str column holds at most",
    ),
    (
        "name: {type: text, max_length: 9223372036854775807}",
        "9223372036854775807",
        "`max_length` must be at most 2147483647",
    ),
    ("name: {type: str, min_length: 20000}", "20000", "a str column (VARCHAR) holds at most"),
    ("tags: {type: 'list[str]', min_length: 100000}", "100000", "at most 1,000 items"),
]


@pytest.mark.parametrize(("field", "at", "says"), BOUND_CASES)
def test_a_bound_beyond_the_column_is_refused(field: str, at: str, says: str) -> None:
    expect(book(field), line=FIELDS_LINE, at=at, says=says)


# One per type and constraint: the default the generated schema itself would reject.
BAD_DEFAULTS = [
    ("name: {type: str, max_length: 3, default: abcd}", "at most 3 characters"),
    ("name: {type: str, min_length: 3, default: ab}", "at least 3 characters"),
    ("name: {type: str, default: " + "x" * 300 + "}", "at most 255 characters"),
    ("code: {type: str, pattern: '^[a-z]{3}$', default: ABC}", "should match pattern"),
    ("body: {type: text, max_length: 5, default: abcdef}", "at most 5 characters"),
    ("count: {type: int, ge: 1, default: 0}", "greater than or equal to 1"),
    ("count: {type: int, gt: 1, default: 1}", "greater than 1"),
    ("count: {type: int, le: 10, default: 11}", "less than or equal to 10"),
    ("count: {type: int, lt: 10, default: 10}", "less than 10"),
    ("count: {type: int, default: 2147483648}", "less than or equal to 2147483647"),
    ("big: {type: bigint, default: 9223372036854775808}", "less than or equal to"),
    ("ratio: {type: float, le: 1, default: 1.5}", "less than or equal to 1"),
    (
        "price: {type: decimal, max_digits: 4, decimal_places: 2, default: 123.4}",
        "no more than 2 digits before the decimal point",
    ),
    ("price: {type: decimal, decimal_places: 2, default: 1.234}", "no more than 2 decimal places"),
    ("price: {type: decimal, ge: 0, default: '-1'}", "greater than or equal to 0"),
    ("mail: {type: email, default: not-an-email}", "not a valid email address"),
    ("mail: {type: email, max_length: 12, default: someone@example.com}", "at most 12 items"),
    ("site: {type: url, default: not a url}", "URL"),
    ("site: {type: url, max_length: 15, default: 'https://example.com/x'}", "at most 15"),
    ("tags: {type: 'list[str]', max_length: 1, default: [a, b]}", "at most 1 item"),
    ("tags: {type: 'list[str]', min_length: 2, default: [a]}", "at least 2 items"),
    ("numbers: {type: 'list[int]', default: [1, '2']}", "list of integers"),
    ("genre: {type: enum, values: [a, b], default: c}", "not one of the enum values"),
    ("day: {type: date, default: '2024-02-30'}", "not a valid date"),
    ("at: {type: datetime, default: 'yesterday'}", "not a valid datetime"),
    ("key: {type: uuid, default: 'not-a-uuid'}", "not a valid uuid"),
]


@pytest.mark.parametrize(("field", "says"), BAD_DEFAULTS)
def test_a_default_the_field_itself_rejects_is_refused(field: str, says: str) -> None:
    value = field[field.index("default: ") + len("default: ") :]
    # A scalar is pointed at itself; a list (which has no position) at its key.
    expect(book(field), line=FIELDS_LINE, at="default" if value[0] == "[" else value[:3], says=says)


@pytest.mark.parametrize(
    "field",
    [
        "name: {type: str, max_length: 3, default: abc}",
        "code: {type: str, pattern: '^[a-z]{3}$', default: abc}",
        "count: {type: int, ge: 1, le: 10, default: 10}",
        "price: {type: decimal, max_digits: 4, decimal_places: 2, default: 12.34}",
        "price: {type: decimal, default: '0.1'}",
        "ratio: {type: float, gt: 0, default: 1}",
        "mail: {type: email, default: someone@example.com}",
        "site: {type: url, default: 'https://example.com/'}",
        "tags: {type: 'list[str]', max_length: 2, default: [a, b]}",
        "data: {type: json, default: {a: [1, 2]}}",
        "day: {type: date, default: 2024-02-29}",
        "at: {type: datetime, default: '2024-01-01T10:00:00+02:00'}",
        "key: {type: uuid, default: 12345678-1234-5678-1234-567812345678}",
        "genre: {type: enum, values: [a, b], default: b}",
        "note: {type: str, required: false, default: null}",
    ],
)
def test_a_default_that_fits_is_kept(field: str) -> None:
    load_spec_text(book(field), filename="spec.yaml")


def many_resources(count: int) -> str:
    entries = "".join(f"  r{index}:\n    fields: {{a: str}}\n" for index in range(count))
    return "apiforge: 1\nservice: {name: shop}\nresources:\n" + entries


@pytest.mark.usefixtures("warm")
def test_a_spec_with_too_many_resources_is_refused_at_resources() -> None:
    (problem,) = quickly_rejected(many_resources(251))
    assert (problem.line, problem.column) == (3, 1)
    assert "a spec takes at most 250 resources, not 251" in problem.message


@pytest.mark.usefixtures("warm")
def test_a_resource_with_too_many_fields_is_refused_at_fields() -> None:
    fields = ", ".join(f"f{index}: str" for index in range(251))
    (problem,) = quickly_rejected(HEADER.replace("fields:\n", f"fields: {{{fields}}}\n"))
    assert (problem.line, problem.column) == (5, 5)
    assert "a resource takes at most 250 fields, not 251" in problem.message


def test_an_enum_with_too_many_values_is_refused() -> None:
    values = ", ".join(f"v{index}" for index in range(50_000))
    expect(
        book(f"genre: {{type: enum, values: [{values}]}}"),
        line=FIELDS_LINE,
        at="values",
        says="an enum field takes at most 1000 values, not 50,000",
    )


def test_a_decimal_bound_of_38_digits_is_no_internal_error() -> None:
    expect(
        book("price: {type: decimal, gt: " + "9" * 38 + "}"),
        line=FIELDS_LINE,
        at="999",
        says="no decimal with 6 places and 18 digits fits",
    )


def test_a_pattern_the_schema_engine_rejects_is_located_at_the_pattern() -> None:
    # Python's `re` takes a look-ahead; pydantic-core's engine, which the schema uses, does not.
    expect(
        book(r"code: {type: str, pattern: '(?=a)abc\d{3}'}"), line=FIELDS_LINE, at="'(?=", says=""
    )


@pytest.mark.usefixtures("warm")
def test_aliases_nesting_too_deep_without_brackets_are_refused() -> None:
    chain = "".join(f"l{index}: &l{index} [*l{index - 1}]\n" for index in range(1, 80))
    text = "l0: &l0 [x]\n" + chain + book("title: str")
    (problem,) = quickly_rejected(text)
    assert "nested more than 64 levels deep" in problem.message
    assert problem.line <= 80


@pytest.mark.usefixtures("warm")
@pytest.mark.parametrize(
    ("field", "at", "says"),
    [
        ("writer: {type: ref, to: " + "b" * 200_000 + "}", "bbb", "at most 63 characters long"),
        (
            "genre: {type: enum, values: [a, " + "b" * 20_000 + "]}",
            "bbb",
            "enum values must be at most 16383 characters long",
        ),
    ],
)
def test_long_strings_are_refused_quickly(field: str, at: str, says: str) -> None:
    started = time.monotonic()
    expect(book(field), line=FIELDS_LINE, at=at, says=says)
    assert time.monotonic() - started < SLOW


@pytest.mark.usefixtures("warm")
def test_a_long_version_is_refused_quickly() -> None:
    text = HEADER.replace("{name: shop}", "{name: shop, version: '" + "1" * 200_000 + "x'}")
    (problem,) = quickly_rejected(text + "      title: str\n")
    assert (problem.line, problem.message) == (2, "`version` must be at most 64 characters long")


# --------------------------------------------------- migration-only options (issue 8)

MIGRATION_OPTION_CASES = [
    ("stars: {type: int, ge: 1, le: 5, backfill: 7}", "7", "backfill 7 is outside the "
                                                           "field's range (le: 5)"),
    ("stars: {type: int, backfill: '3'}", "'3'", "backfill '3' is not a valid int"),
    ("code: {type: str, max_length: 3, backfill: abcd}", "abcd", "backfill 'abcd' is longer "
                                                                 "than max_length: 3"),
    ("code: {type: str, pattern: '^[a-z]{3}$', backfill: ABC}", "ABC", "does not match"),
    ("state: {type: enum, values: [a, b], backfill: c}", "c}", "backfill 'c' is not one of "
                                                               "the enum values"),
    ("price: {type: decimal, max_digits: 4, decimal_places: 2, backfill: 123.4}", "123.4",
     "backfill 123.4 does not fit 4 digits with 2 decimal places"),
    ("note: {type: str, backfill: null}", "backfill", "backfill: null fills nothing"),
    ("writer: {type: ref, to: book, backfill: 1}", "1}", "a ref field cannot have a backfill"),
    ("state: {type: enum, values: [a, b], renamed_values: {a: b}}", "b}}",
     "'a' is still one of the values; renamed_values maps former values only"),
    ("state: {type: enum, values: [a, b], renamed_values: {c: d}}", "d}}",
     "'c' is renamed to 'd', which is not one of the values: a, b"),
    ("code: {type: str, renamed_values: {c: d}}", "renamed_values",
     "option `renamed_values` does not apply to type str; it is for: enum"),
]  # fmt: skip


@pytest.mark.parametrize(("field", "at", "says"), MIGRATION_OPTION_CASES)
def test_backfill_and_renamed_values_are_checked_against_the_field(
    field: str, at: str, says: str
) -> None:
    expect(book(field), line=FIELDS_LINE, at=at, says=says)


# ---------------------------------------------- what the generated project needs (item 9)
# Found by the spec property (tests/test_spec_property.py) and a mutation run: specs
# that loaded, then generated projects failing ruff, mypy, alembic or their own tests.


def test_fields_named_like_template_names_get_an_alias_instead_of_shadowing() -> None:
    from apiforge.model import derive

    spec = load_spec_text(
        book(
            "classmethod: str",
            "field_validator: str",
            "schema: str",
            "offset: {type: int, filter: true}",
            "value: str",
        ),
        filename="spec.yaml",
    )
    attrs = {f.key: f.attr for f in derive(spec).resource("book").fields}
    assert attrs == {
        "classmethod": "classmethod_",
        "field_validator": "field_validator_",
        "schema": "schema_",
        "offset": "offset_",
        "value": "value",
    }


@pytest.mark.parametrize(
    "name",
    [
        "string",
        "base",
        "mapped",
        "app",
        "generated",
        "resources",
        "mount_routers",
        "sql_repository",
    ],
)
def test_a_resource_named_like_a_template_name_is_rejected_at_its_key(name: str) -> None:
    text = book("title: str", extra=f"  {name}:\n    fields:\n      note: str\n")
    expect(text, line=7, at=name, says=f"resource name {name!r} cannot be used: in the generated")


def test_a_field_named_l_gets_an_alias_ruff_accepts() -> None:
    """Found by the spec property: `l` reads like `1`, and ruff refuses it as a name (E741)."""
    from apiforge.model import derive

    spec = load_spec_text(book("l: str"), filename="spec.yaml")
    assert [f.attr for f in derive(spec).resource("book").fields] == ["l_"]


@pytest.mark.parametrize("name", ["i", "o"])
def test_a_resource_whose_class_name_is_ambiguous_is_rejected(name: str) -> None:
    text = book("title: str", extra=f"  {name}:\n    fields:\n      note: str\n")
    expect(text, line=7, at=name, says="ambiguous (E742)")


@pytest.mark.parametrize(
    ("service", "at", "says"),
    [
        ("{name: shop, package: fastapi}", "fastapi", "imports the library `fastapi`"),
        ("{name: tests}", "tests", "has its own `tests` package"),
        ("{name: shop, package: json}", "json", "Python's own `json` module"),
    ],
)
def test_a_package_that_would_shadow_a_module_is_rejected(service: str, at: str, says: str) -> None:
    text = book("title: str").replace("{name: shop}", service)
    expect(text, line=2, at=at, says=says)


@pytest.mark.parametrize(
    ("resource", "line", "at", "says"),
    [
        (
            "  thing:\n    plural: alembic_version\n    fields: {t: str}\n",
            8,
            "alembic_version",
            "table 'alembic_version', which Alembic uses itself",
        ),
        ("  doc:\n    fields: {t: str}\n", 7, "doc", "would take the route /docs"),
    ],
)
def test_taken_tables_and_routes_are_rejected(resource: str, line: int, at: str, says: str) -> None:
    text = book("title: str", extra=resource)
    text = text.replace("{name: shop}", "{name: shop, api_prefix: ''}")
    expect(text, line=line, at=at, says=says)


UNSATISFIABLE = [
    ("t: {type: int, gt: 5, lt: 6}", "5", "no integer is greater than 5 and less than 6"),
    ("t: {type: float, ge: 5, lt: 5}", "5", "no number is at least 5 and less than 5"),
    ("t: {type: bool, unique: true}", "true", "only 2 possible values"),
    ("t: {type: enum, values: [a, b], unique: true}", "true", "only 2 possible values"),
    ("t: {type: str, max_length: 1, unique: true}", "t", "leave the generated tests repeating"),
    ("t: {type: email, max_length: 5}", "5", "no email fits in 5 characters"),
    ("t: {type: email, max_length: 6, unique: true}", "t", "leave the generated tests repeating"),
    (
        "t: {type: str, max_length: 10000000000000000000000}",
        "1000",
        "holds at most 10,485,760 characters",
    ),
    (r"t: {type: str, pattern: '^\d{3}\Z'}", "'", "not for the regex engine"),
    ('t: {type: enum, values: ["\\ud800"]}', '"', "lone surrogate"),
    ("t: {type: ref, to: book}", "book}", "a required reference to its own resource"),
    ('t: {type: enum, values: [a, "b\\0"]}', '"', "a NUL character cannot be stored"),
    ("t: {type: 'list[int]', min_length: 10000000000}", "1000", "at most 1,000 items"),
    ("t: {type: text, min_length: 10000000000}", "1000", "at most 100,000 characters"),
]


@pytest.mark.parametrize(("field", "at", "says"), UNSATISFIABLE)
def test_constraints_no_value_or_no_two_rows_can_meet_are_rejected(
    field: str, at: str, says: str
) -> None:
    expect(book(field), line=FIELDS_LINE, at=at, says=says)


def test_backfill_and_renamed_values_are_accepted_and_in_the_json_schema() -> None:
    spec = load_spec_text(
        book(
            "stars: {type: int, ge: 1, le: 5, backfill: 3}",
            "state: {type: enum, values: [draft, live], renamed_values: {published: live}}",
        ),
        filename="spec.yaml",
    )
    fields = spec.resources["book"].fields
    assert fields["stars"].has_backfill and fields["stars"].backfill == 3
    assert not fields["state"].has_backfill
    assert fields["state"].renamed_values == {"published": "live"}
    properties = spec_json_schema()["$defs"]["FieldSpec"]["properties"]
    assert "used by that migration only" in properties["backfill"]["description"]
    assert properties["renamed_values"]["anyOf"][0]["additionalProperties"] == {"type": "string"}


def test_a_decimal_sqlite_cannot_keep_is_rejected() -> None:
    text = book("t: {type: decimal, max_digits: 38, decimal_places: 37}")
    expect(text, line=FIELDS_LINE, at="t", says="SQLite stores decimals as 64-bit floats")


def test_database_limits_of_decimals_are_rejected_on_mysql() -> None:
    text = book("t: {type: decimal, max_digits: 38, decimal_places: 37}").replace(
        "{name: shop}", "{name: shop, database: mysql}"
    )
    expect(text, line=FIELDS_LINE, at="37", says="mysql keeps at most 30 decimal places")


def test_short_emails_and_urls_get_sample_values_that_fit() -> None:
    from apiforge.model import derive

    spec = load_spec_text(
        book("e: {type: email, max_length: 10, unique: true}", "u: {type: url, max_length: 16}"),
        filename="spec.yaml",
    )
    samples = {f.key: f.sample for f in derive(spec).resource("book").fields}
    assert samples["e"].endswith("+ '@x.io'")
    assert samples["u"].startswith("'http://x.io/' + encode(n, 4,")
