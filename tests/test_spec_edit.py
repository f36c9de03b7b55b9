"""Spec edits: the field syntax, and add/remove/rename keeping every untouched byte.

Edits are asserted against the exact expected text, so a stray change anywhere in the
file — a re-indented line, a lost comment or blank line, a re-quoted value — fails.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import pytest

from apiforge.errors import SpecError, UserError
from apiforge.loader import load_spec_text
from apiforge.naming import pluralize
from apiforge.project import STARTER_SPEC
from apiforge.spec import FIELD_TYPES, FieldSpec, ResourceSpec, Spec
from apiforge.spec_edit import (
    FLAGS,
    VALUE_KINDS,
    add_resource,
    field_prompt_help,
    parse_field,
    remove_resource,
    rename_field,
    rename_resource,
)

ROOT = Path(__file__).resolve().parents[1]
BOOKSTORE = (ROOT / "examples" / "bookstore.yaml").read_text()

# Four-space indentation, blank lines between resources, comments everywhere, flow and
# block mappings (one flow mapping over several lines), odd spacing and quoting.
SHOP = """\
# Shop spec: comments, blank lines, both mapping styles.
apiforge: 1
service: {name: shop, title: 'Shop  API'}   # flow service

resources:
    # Customers of the shop.
    customer:
        plural: customers          # the default, spelled out
        fields:
            name:   {type: str, max_length: 100, search: true}
            email: {type: email, unique: true}   # one account per address
            nickname:
                type: str
                required: false
            # a commented-out field:
            # phone: str

    # What customers buy.
    product:
        fields: {title: "str", price: {type: decimal, ge: 0}}
        actions: [list, retrieve]

    # Discount codes, soon gone.
    coupon:
        fields:
            code: {type: str, unique: true}
        # a comment inside coupon, after its last line

    order:
        renamed_from: purchase
        fields:
            customer: {type: ref, to: customer, on_delete: cascade}
            product: {
                type: ref,
                to: product,
            }
            parent: {type: ref, to: order, required: false}
            note: text    # short form
"""

FILE = "apiforge.yaml"
EXAMPLES = {
    **{path.stem: path.read_text() for path in sorted((ROOT / "examples").glob("*.yaml"))},
    "shop": SHOP,
    "starter": STARTER_SPEC,
}


def load(text: str) -> Spec:
    return load_spec_text(text, filename=FILE)


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """The lines an edit removed and the lines it added."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    removed: list[str] = []
    added: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new).get_opcodes():
        if tag != "equal":
            removed += old[i1:i2]
            added += new[j1:j2]
    return removed, added


def replaced(text: str, *pairs: tuple[str, str]) -> str:
    """`text` with each (old, new) replaced, where `old` occurs exactly once."""
    for old, new in pairs:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def test_fixtures_are_valid_specs() -> None:
    assert list(load(SHOP).resources) == ["customer", "product", "coupon", "order"]
    assert list(load(BOOKSTORE).resources) == ["author", "book"]


# ------------------------------------------------------------------ field syntax


@pytest.mark.parametrize(
    ("arg", "name", "options"),
    [
        ("title:str", "title", {"type": "str"}),
        ("title", "title", {"type": "str"}),  # a name alone is a str, as in Rails
        ("title:str:search", "title", {"type": "str", "search": True}),
        ("isbn:str:unique", "isbn", {"type": "str", "unique": True}),
        ("price:decimal", "price", {"type": "decimal"}),
        ("author:ref:author", "author", {"type": "ref", "to": "author"}),
        ("author:ref", "author", {"type": "ref", "to": "author"}),
        (
            "writer:ref:author:optional:on_delete=set_null",
            "writer",
            {"type": "ref", "to": "author", "required": False, "on_delete": "set_null"},
        ),
        (
            "owner:ref:on_delete=cascade",
            "owner",
            {"type": "ref", "to": "owner", "on_delete": "cascade"},
        ),
        ("tags:list[str]:optional", "tags", {"type": "list[str]", "required": False}),
        (
            "price:decimal:range:ge=0:max_digits=10:decimal_places=2",
            "price",
            {"type": "decimal", "filter": "range", "ge": 0, "max_digits": 10, "decimal_places": 2},
        ),
        ("ratio:float:gt=0.5:lt=1e3", "ratio", {"type": "float", "gt": 0.5, "lt": 1000.0}),
        (
            "name:str:max_length=100:min_length=1",
            "name",
            {"type": "str", "max_length": 100, "min_length": 1},
        ),
        ("count:int:default=0", "count", {"type": "int", "default": 0}),
        ("code:str:default=0", "code", {"type": "str", "default": "0"}),  # kept a string
        ("balance:decimal:default=0.00", "balance", {"type": "decimal", "default": "0.00"}),
        ("score:float:default=1", "score", {"type": "float", "default": 1}),
        (
            "active:bool:default=false:filter",
            "active",
            {"type": "bool", "default": False, "filter": True},
        ),
        (
            "status:enum:values=draft,published:default=draft:filter=true",
            "status",
            {"type": "enum", "values": ["draft", "published"], "default": "draft", "filter": True},
        ),
        (
            "at:datetime:default=2024-01-01T10:00:00:sort",
            "at",
            {"type": "datetime", "default": "2024-01-01T10:00:00", "sort": True},
        ),
        (
            "about:text:description=Who: what, and why:optional",
            "about",
            {"type": "text", "description": "Who: what, and why", "required": False},
        ),
        ("code:str:pattern=^[A-Z]{3}:\\d+$", "code", {"type": "str", "pattern": "^[A-Z]{3}:\\d+$"}),
        (
            "slug:str:index:sort:filter",
            "slug",
            {"type": "str", "index": True, "sort": True, "filter": True},
        ),
        ("year:int:filter=range", "year", {"type": "int", "filter": "range"}),
        ("rank:int:read_only:default=1", "rank", {"type": "int", "read_only": True, "default": 1}),
        (
            "secret:str:write_only:required=true",
            "secret",
            {"type": "str", "write_only": True, "required": True},
        ),
        ("title:str:renamed_from=name", "title", {"type": "str", "renamed_from": "name"}),
        ("data:json:default=3", "data", {"type": "json", "default": 3}),
    ],
)
def test_parse_field(arg: str, name: str, options: dict[str, Any]) -> None:
    assert parse_field(arg) == (name, options)


@pytest.mark.parametrize("flag", list(FLAGS))
def test_every_flag_sets_its_option(flag: str) -> None:
    key, value = FLAGS[flag]
    field_type = "int" if flag == "range" else "str"
    extra = [":default=1"] if flag == "read_only" else []
    name, options = parse_field(f"x:{field_type}:{flag}{''.join(extra)}")
    assert options[key] == value


def test_key_value_options_are_every_field_option() -> None:
    assert set(VALUE_KINDS) == set(FieldSpec.model_fields) - {"type"}


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("x:strng", "unknown type `strng` in `x:strng` (did you mean `str`?); allowed: str, "),
        ("x:string", "(did you mean `str`?)"),
        ("x:integer", "(did you mean `int`?)"),
        ("x:blob", "unknown type `blob` in `x:blob`; allowed: " + ", ".join(FIELD_TYPES)),
        ("x:", "field `x:` has an empty type"),
        (
            "x:search",
            "`search` in `x:search` is an option, not a type: the type comes first, "
            "e.g. x:str:search",
        ),
        (
            "x:str:uniq",
            "unknown option `uniq` in `x:str:uniq` (did you mean `unique`?); "
            "allowed: unique, optional, required, index, search, sort, filter, "
            "range, read_only, write_only, or KEY=VALUE such as max_length=100",
        ),
        (
            "x:str:max_lenght=3",
            "unknown option `max_lenght` in `x:str:max_lenght=3` "
            "(did you mean `max_length`?); KEY=VALUE takes: required, ",
        ),
        ("x:str::unique", "empty option in `x:str::unique` (two `:` in a row?)"),
        ("x:int:ref", "`ref` in `x:int:ref` is a type: write NAME:ref:TARGET"),
        ("x:str:unique=maybe", "`unique` must be true or false, not `maybe` (in "),
        ("x:str:max_length=ten", "`max_length` must be an integer, not `ten`"),
        ("x:int:ge=low", "`ge` must be a number, not `low`"),
        ("x:int:filter=yes", "`filter` must be true, false or range, not `yes`"),
        ("x:int:default=one", "`default` must be an integer, not `one`"),
        ("x:list[str]:default=a", "`default` of a list[str] field cannot be given"),
        ("1st:str", "field name '1st' is not allowed: it starts with a digit"),
        ("Title:str", "field name 'Title' is not allowed: it is not snake_case"),
        ("x__y:str", "double or trailing underscores are reserved"),
        ("n:int:search", "field `n:int:search`: search: true is for text fields"),
        ("n:int:max_length=3", "option `max_length` does not apply to type int"),
        ("s:enum", "an enum field needs `values`"),
        ("a:ref:author:on_delete=drop", "field `a:ref:author:on_delete=drop`: `on_delete`: "),
        ("s:str:range", "filter: range is for numbers"),
    ],
)
def test_parse_field_refuses(arg: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_field(arg)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == 2


def test_prompt_help_lists_the_syntax() -> None:
    help_text = field_prompt_help()
    assert "NAME:TYPE[:OPTION...]" in help_text
    flat = " ".join(help_text.split())
    for word in [*FIELD_TYPES, *FLAGS, "KEY=VALUE"]:
        assert word in flat


# ------------------------------------------------------------------- add-resource


def test_add_resource_appends_in_the_files_style() -> None:
    result = add_resource(
        SHOP,
        "review",
        ["rating:int:range:ge=1:le=5", "order:ref:order", "body:text:optional", "tags:list[str]"],
        filename=FILE,
    )
    assert result == SHOP + (
        "\n"  # resources are separated by blank lines here
        "    review:\n"
        "        fields:\n"
        "            rating: {type: int, filter: range, ge: 1, le: 5}\n"
        "            order: {type: ref, to: order}\n"
        "            body: {type: text, required: false}\n"
        "            tags: 'list[str]'\n"
    )
    review = load(result).resources["review"]
    assert review.fields["rating"] == FieldSpec(type="int", filter="range", ge=1, le=5)
    assert review.fields["tags"].type == "list[str]"


def test_add_resource_to_the_bookstore() -> None:
    result = add_resource(BOOKSTORE, "review", ["title:str:search", "book:ref:book"], filename=FILE)
    assert result == BOOKSTORE + (
        "  review:\n"
        "    fields:\n"
        "      title: {type: str, search: true}\n"
        "      book: {type: ref, to: book}\n"
    )
    assert list(load(result).resources) == ["author", "book", "review"]


def test_add_resource_before_what_follows_resources() -> None:
    text = (
        "apiforge: 1\nresources:\n  note:\n    fields:\n      title: str\n"
        "  # the end of resources\nservice:\n  name: notes\n"
    )
    assert add_resource(text, "tag", ["name"], filename=FILE) == replaced(
        text, ("      title: str\n", "      title: str\n  tag:\n    fields:\n      name: str\n")
    )


def test_add_resource_into_flow_resources() -> None:
    text = "apiforge: 1\nservice: {name: notes}\nresources: {note: {fields: {title: str}}}\n"
    assert add_resource(text, "tag", ["name:str:unique"], filename=FILE) == (
        "apiforge: 1\nservice: {name: notes}\n"
        "resources: {note: {fields: {title: str}}, tag: {fields: {name: {type: str, "
        "unique: true}}}}\n"
    )


def test_add_resource_keeps_crlf_and_a_missing_final_newline() -> None:
    text = (
        "apiforge: 1\r\nservice:\r\n  name: notes\r\nresources:\r\n  note:\r\n"
        "    fields: {title: str}"
    )
    assert add_resource(text, "tag", ["name"], filename=FILE) == (
        text + "\r\n  tag:\r\n    fields:\r\n      name: str\r\n"
    )


@pytest.mark.parametrize(
    ("name", "fields", "message"),
    [
        ("book", ["title"], "resource `book` already exists in apiforge.yaml"),
        ("health", ["title"], "resource name 'health' is reserved"),
        ("Review", ["title"], "resource name 'Review' is not allowed: it is not snake_case"),
        ("review", [], "resource `review` needs at least one field, e.g. title:str"),
        (
            "review",
            ["title", "title:text"],
            "field `title` is given twice (`title` and `title:text`)",
        ),
        ("review", ["title:strr"], "unknown type `strr`"),
        (
            "review",
            ["book:ref:bok"],
            "cannot add resource `review`: ref to unknown resource "
            "'bok' (did you mean 'book'?); resources are: author, "
            "book, review",
        ),
        (
            "authors",
            ["name"],
            "cannot add resource `authors`: the plural of 'author' is "
            "'authors', which is also a resource name",
        ),
        ("review", ["id:int"], "field name 'id' clashes with the generated column"),
    ],
)
def test_add_resource_refuses(name: str, fields: list[str], message: str) -> None:
    with pytest.raises(UserError) as caught:
        add_resource(BOOKSTORE, name, fields, filename=FILE)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_add_resource_reports_the_files_own_problems_at_their_place() -> None:
    broken = BOOKSTORE.replace("type: email", "type: emial")
    with pytest.raises(SpecError) as caught:
        add_resource(broken, "review", ["title"], filename=FILE)
    assert str(caught.value).startswith("apiforge.yaml:13:")
    with pytest.raises(SpecError, match="invalid YAML"):
        add_resource("resources: [", "review", ["title"], filename=FILE)


def test_add_resource_may_fix_a_dangling_ref() -> None:
    text = BOOKSTORE.replace(
        "      summary: text", "      shelf: {type: ref, to: shelf}\n      summary: text"
    )
    result = add_resource(text, "shelf", ["label"], filename=FILE)
    assert load(result).resources["book"].fields["shelf"].to == "shelf"


# ---------------------------------------------------------------- remove-resource


def test_remove_resource_takes_its_comments_and_one_blank_line() -> None:
    result = remove_resource(SHOP, "coupon", filename=FILE)
    assert result == replaced(
        SHOP,
        (
            "    # Discount codes, soon gone.\n"
            "    coupon:\n"
            "        fields:\n"
            "            code: {type: str, unique: true}\n"
            "        # a comment inside coupon, after its last line\n"
            "\n",
            "",
        ),
    )


def test_remove_the_last_resource_takes_the_blank_line_above() -> None:
    result = remove_resource(SHOP, "order", filename=FILE)
    assert result == SHOP[: SHOP.index("\n    order:")]
    assert result.endswith("        # a comment inside coupon, after its last line\n")


@pytest.mark.parametrize("example", EXAMPLES)
def test_add_then_remove_gives_back_the_text(example: str) -> None:
    text = EXAMPLES[example]
    added = add_resource(text, "review", ["title"], filename=FILE)
    assert list(load(added).resources)[-1] == "review"
    assert remove_resource(added, "review", filename=FILE) == text


def test_remove_the_first_resource_keeps_the_comment_about_resources() -> None:
    two = add_resource(STARTER_SPEC, "tag", ["name"], filename=FILE)
    result = remove_resource(two, "item", filename=FILE)
    removed, added = changed_lines(two, result)
    assert added == []
    assert removed == [
        "  item:\n",
        "    fields:\n",
        "      # `field: type` is the short form; options go in a mapping.\n",
        "      name: {type: str, max_length: 100, search: true, sort: true}\n",
        "      description: {type: text, required: false}\n",
    ]


def test_remove_from_flow_resources() -> None:
    text = (
        "apiforge: 1\nservice: {name: notes}\nresources: {a: {fields: {x: str}}, "
        "b: {fields: {y: str}}, c: {fields: {z: str}}}\n"
    )
    assert remove_resource(text, "a", filename=FILE) == text.replace(
        "{a: {fields: {x: str}}, ", "{"
    )
    assert remove_resource(text, "c", filename=FILE) == text.replace(", c: {fields: {z: str}}", "")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("athor", "unknown resource `athor` (did you mean `author`?); resources are: author, book"),
        (
            "author",
            "cannot remove resource `author`: `book.author` still refers to it; "
            "remove or retarget that field first",
        ),
    ],
)
def test_remove_resource_refuses(name: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        remove_resource(BOOKSTORE, name, filename=FILE)
    assert str(caught.value) == message


def test_remove_resource_names_every_referrer_and_refuses_the_only_one() -> None:
    with pytest.raises(UserError, match=r"`order.customer` still refers to it"):
        remove_resource(SHOP, "customer", filename=FILE)
    text = SHOP.replace("to: order, required: false", "to: product, required: false")
    with pytest.raises(
        UserError,
        match=r"`order.product`, `order.parent` still refer to "
        r"it; remove or retarget those fields first",
    ):
        remove_resource(text, "product", filename=FILE)
    with pytest.raises(UserError, match="it is the only one"):
        remove_resource(STARTER_SPEC, "item", filename=FILE)
    # A resource that only refers to itself can go.
    assert "order" not in load(remove_resource(SHOP, "order", filename=FILE)).resources


# ---------------------------------------------------------------- rename-resource


def test_rename_resource_in_place_with_renamed_from_and_refs() -> None:
    result = rename_resource(SHOP, "product", "item", filename=FILE)
    assert result == replaced(
        SHOP,
        (
            "    product:\n        fields:",
            "    item:\n        renamed_from: product\n        fields:",
        ),
        ("                to: product,\n", "                to: item,\n"),
    )
    spec = load(result)
    assert list(spec.resources) == ["customer", "item", "coupon", "order"]
    assert spec.resources["item"].renamed_from == "product"
    assert spec.resources["order"].fields["product"].to == "item"


def test_rename_resource_drops_a_plural_that_was_the_default() -> None:
    result = rename_resource(SHOP, "customer", "client", filename=FILE)
    assert result == replaced(
        SHOP,
        (
            "    customer:\n        plural: customers          # the default, spelled out\n",
            "    client:\n        renamed_from: customer\n",
        ),
        ("to: customer,", "to: client,"),
    )
    assert load(result).plural_of("client") == "clients"


def test_rename_resource_keeps_a_chosen_plural() -> None:
    text = BOOKSTORE.replace("  book:\n", "  book:\n    plural: tomes   # our word\n")
    result = rename_resource(text, "book", "novel", filename=FILE)
    assert result == replaced(text, ("  book:\n", "  novel:\n    renamed_from: book\n"))
    assert load(result).plural_of("novel") == "tomes"


def test_rename_resource_updates_self_references_and_keeps_the_oldest_name() -> None:
    result = rename_resource(SHOP, "order", "sale", filename=FILE)
    assert result == replaced(
        SHOP, ("    order:\n", "    sale:\n"), ("to: order, required", "to: sale, required")
    )
    assert load(result).resources["sale"].renamed_from == "purchase"


def test_chained_resource_renames_keep_the_oldest_name() -> None:
    once = rename_resource(BOOKSTORE, "author", "writer", filename=FILE)
    twice = rename_resource(once, "writer", "creator", filename=FILE)
    assert twice == replaced(
        BOOKSTORE,
        ("  author:\n    fields:", "  creator:\n    renamed_from: author\n    fields:"),
        ("to: author,", "to: creator,"),
    )
    # Renaming back to the name the database has leaves nothing to rename.
    assert rename_resource(twice, "creator", "author", filename=FILE) == BOOKSTORE


def test_rename_resource_with_a_snapshot_follows_the_database() -> None:
    snapshot = load(BOOKSTORE)
    once = rename_resource(BOOKSTORE, "author", "writer", filename=FILE, snapshot=snapshot)
    assert load(once).resources["writer"].renamed_from == "author"
    # Regenerated since: the database now has `writer`, so that is the name to rename.
    twice = rename_resource(once, "writer", "creator", filename=FILE, snapshot=load(once))
    assert load(twice).resources["creator"].renamed_from == "writer"
    # Not regenerated since: the database still has `author`.
    pending = rename_resource(once, "writer", "creator", filename=FILE, snapshot=snapshot)
    assert load(pending).resources["creator"].renamed_from == "author"
    # A resource never generated has no table to rename.
    added = add_resource(BOOKSTORE, "shelf", ["label"], filename=FILE)
    renamed = rename_resource(added, "shelf", "rack", filename=FILE, snapshot=snapshot)
    assert renamed == added.replace("  shelf:\n", "  rack:\n")


def test_rename_flow_resource() -> None:
    text = (
        "apiforge: 1\nservice: {name: notes}\nresources:\n"
        "  tag: {plural: tags, fields: {name: str}}   # flow\n"
        "  note: {fields: {title: str, tag: {type: ref, to: tag}}}\n"
    )
    assert rename_resource(text, "tag", "label", filename=FILE) == (
        "apiforge: 1\nservice: {name: notes}\nresources:\n"
        "  label: {fields: {name: str}, renamed_from: tag}   # flow\n"
        "  note: {fields: {title: str, tag: {type: ref, to: label}}}\n"
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "auther",
            "writer",
            "unknown resource `auther` (did you mean `author`?); resources are: author, book",
        ),
        ("author", "book", "there is already a resource `book`"),
        ("author", "author", "`author` is already called `author`; nothing to rename"),
        ("author", "Writer", "resource name 'Writer' is not allowed: it is not snake_case"),
        ("author", "main", "resource name 'main' is reserved"),
        (
            "author",
            "books",
            "cannot rename resource `author` to `books`: the plural of "
            "'book' is 'books', which is also a resource name",
        ),
    ],
)
def test_rename_resource_refuses(old: str, new: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        rename_resource(BOOKSTORE, old, new, filename=FILE)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


# ------------------------------------------------------------------- rename-field


def test_rename_short_form_field() -> None:
    result = rename_field(SHOP, "order", "note", "memo", filename=FILE)
    assert result == replaced(
        SHOP,
        (
            "            note: text    # short form\n",
            "            memo: {type: text, renamed_from: note}    # short form\n",
        ),
    )


def test_rename_block_mapping_field() -> None:
    result = rename_field(SHOP, "customer", "nickname", "alias", filename=FILE)
    assert result == replaced(
        SHOP,
        (
            "            nickname:\n                type: str\n                required: false\n",
            "            alias:\n                type: str\n                required: false\n"
            "                renamed_from: nickname\n",
        ),
    )


def test_rename_flow_fields() -> None:
    result = rename_field(SHOP, "product", "title", "label", filename=FILE)
    assert result == replaced(
        SHOP, ('fields: {title: "str",', "fields: {label: {type: str, renamed_from: title},")
    )
    result = rename_field(SHOP, "order", "product", "item", filename=FILE)
    assert result == replaced(
        SHOP,
        ("            product: {\n", "            item: {\n"),
        ("to: product,\n", "to: product, renamed_from: product,\n"),
    )
    assert load(result).resources["order"].fields["item"].to == "product"


def test_rename_ref_field_in_the_bookstore() -> None:
    result = rename_field(BOOKSTORE, "book", "author", "writer", filename=FILE)
    removed, added = changed_lines(BOOKSTORE, result)
    assert removed == ["      author: {type: ref, to: author, on_delete: cascade, filter: true}\n"]
    assert added == [
        "      writer: {type: ref, to: author, on_delete: cascade, filter: true, "
        "renamed_from: author}\n"
    ]


def test_chained_field_renames_keep_the_oldest_name() -> None:
    design = BOOKSTORE.replace(
        "summary: text   # short form", "summary: {type: text, renamed_from: blurb}   # short form"
    )
    result = rename_field(design, "book", "summary", "abstract", filename=FILE)
    assert result == design.replace("summary: {", "abstract: {")
    once = rename_field(BOOKSTORE, "book", "title", "name", filename=FILE)
    twice = rename_field(once, "book", "name", "heading", filename=FILE)
    assert load(twice).resources["book"].fields["heading"].renamed_from == "title"
    assert rename_field(twice, "book", "heading", "title", filename=FILE) == BOOKSTORE


def test_rename_field_with_a_snapshot_follows_the_database() -> None:
    snapshot = load(BOOKSTORE)
    once = rename_field(BOOKSTORE, "book", "title", "name", filename=FILE, snapshot=snapshot)
    twice = rename_field(once, "book", "name", "heading", filename=FILE, snapshot=load(once))
    assert load(twice).resources["book"].fields["heading"].renamed_from == "name"
    # The field of a renamed resource is looked up under the table's old name.
    moved = rename_resource(BOOKSTORE, "book", "novel", filename=FILE)
    result = rename_field(moved, "novel", "isbn", "code", filename=FILE, snapshot=snapshot)
    assert load(result).resources["novel"].fields["code"].renamed_from == "isbn"
    # A field never generated has no column to rename.
    fresh = rename_field(
        BOOKSTORE,
        "book",
        "summary",
        "blurb",
        filename=FILE,
        snapshot=load(BOOKSTORE.replace("      summary: text   # short form\n", "")),
    )
    assert fresh == BOOKSTORE.replace("summary: text", "blurb: text")


@pytest.mark.parametrize(
    ("resource", "old", "new", "message"),
    [
        ("bok", "title", "name", "unknown resource `bok` (did you mean `book`?)"),
        (
            "book",
            "titel",
            "name",
            "resource `book` has no field `titel` (did you mean "
            "`title`?); its fields are: title, isbn, ",
        ),
        ("book", "title", "isbn", "resource `book` already has a field `isbn`"),
        ("book", "title", "title", "`title` is already called `title`; nothing to rename"),
        ("book", "title", "2nd", "field name '2nd' is not allowed: it starts with a digit"),
        (
            "book",
            "title",
            "created_at",
            "cannot rename field `book.title` to `created_at`: "
            "field name 'created_at' clashes with the generated "
            "column 'created_at'; rename it",
        ),
    ],
)
def test_rename_field_refuses(resource: str, old: str, new: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        rename_field(BOOKSTORE, resource, old, new, filename=FILE)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_edits_refuse_what_a_yaml_alias_defines() -> None:
    text = (
        "apiforge: 1\nservice: {name: notes}\nresources:\n"
        "  note:\n    fields:\n      title: &short str\n      body: *short\n"
    )
    with pytest.raises(UserError, match="`body` comes from a YAML alias"):
        rename_field(text, "note", "body", "text_body", filename=FILE)
    with pytest.raises(
        UserError,
        match=r"apiforge.yaml:6: the value to change carries the "
        r"YAML anchor `&short`",
    ):
        rename_field(text, "note", "title", "heading", filename=FILE)
    flow = text.replace("&short str", "&short {type: str}")
    with pytest.raises(UserError, match="anchor `&short`"):
        rename_field(flow, "note", "title", "heading", filename=FILE)


def test_edits_refuse_an_invalid_spec_with_its_own_problems() -> None:
    broken = BOOKSTORE.replace("type: email", "type: emial")
    for edit in (
        lambda: remove_resource(broken, "book", filename=FILE),
        lambda: rename_resource(broken, "book", "novel", filename=FILE),
        lambda: rename_field(broken, "book", "title", "name", filename=FILE),
    ):
        with pytest.raises(SpecError, match=r"^apiforge.yaml:13:\d+: unknown type `emial`"):
            edit()


# ------------------------------------------------- every rename of every example


def expected_resource_rename(spec: Spec, old: str, new: str) -> dict[str, Any]:
    resources: dict[str, ResourceSpec] = {}
    for name, resource in spec.resources.items():
        fields = {
            field_name: field.model_copy(update={"to": new})
            if field.type == "ref" and field.to == old
            else field
            for field_name, field in resource.fields.items()
        }
        resource = resource.model_copy(update={"fields": fields})
        if name == old:
            update: dict[str, Any] = {"renamed_from": resource.renamed_from or old}
            if resource.plural == pluralize(old):
                update["plural"] = None
            name, resource = new, resource.model_copy(update=update)
        resources[name] = resource
    return spec.model_copy(update={"resources": resources}).model_dump()


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_resource_rename_changes_only_its_lines(example: str) -> None:
    text = EXAMPLES[example]
    spec = load(text)
    for old in spec.resources:
        new = f"{old}_new"
        result = rename_resource(text, old, new, filename=FILE)
        assert load(result).model_dump() == expected_resource_rename(spec, old, new)
        removed, added = changed_lines(text, result)
        assert removed and all(old in line or pluralize(old) in line for line in removed)
        assert all(new in line or f"renamed_from: {old}" in line for line in added)


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_field_rename_changes_only_its_line(example: str) -> None:
    text = EXAMPLES[example]
    spec = load(text)
    for resource_name, resource in spec.resources.items():
        for old, field in resource.fields.items():
            new = f"{old}_new"
            result = rename_field(text, resource_name, old, new, filename=FILE)
            renamed = {
                (new if name == old else name): value for name, value in resource.fields.items()
            }
            renamed[new] = field.model_copy(update={"renamed_from": field.renamed_from or old})
            assert load(result).resources[resource_name].fields == renamed
            removed, added = changed_lines(text, result)
            assert f"{old}:" in removed[0] and f"{new}:" in added[0]
            assert all(old in line for line in removed)
            assert all(new in line or f"renamed_from: {old}" in line for line in added)
            assert len(added) - len(removed) <= 1  # at most a `renamed_from:` line
