"""The escaping filters: whatever a spec string holds, it comes out literally in its context.

Each filter's output is put where templates put it (a Python literal, a one-line
docstring, a comment, a YAML or TOML value, Markdown text) and read back with that
context's own parser; what comes back must be the spec text, character for character
(whitespace runs collapsed where the context is one line).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from ruamel.yaml import YAML

from apiforge.escape import (
    FILTERS,
    EscapeFilters,
    markdown_text,
    python_comment,
    python_docstring,
    python_literal,
    toml_string,
    yaml_string,
)

HOSTILE = [
    '"""; import os',
    "'''; import os",
    '"',
    "'",
    "ends with a backslash\\",
    "\\",
    "\\\\",
    '\\"',
    "\\n is not a newline",
    "\\N{BULLET} \\x41 \\u0041",
    "{{ 7*7 }}",
    "{% raw %}",
    "{% endraw %}",
    "{% raw %}{{ 7*7 }}{% endraw %}",
    "{# comment #}",
    "${HOME} $(rm -rf /) `id`",
    "line one\nline two\r\nline three\rfour",
    "\ttabbed\t",
    "  leading and trailing  ",
    "nul\x00byte",
    "bell\x07 escape\x1b[31m delete\x7f",
    "c1 \x80\x85\x9f controls",
    "line\u2028separator\u2029paragraph",
    "bidi \u202eevil\u202c and zero\u200bwidth \ufeffbom",
    "noncharacter \ufffe\uffff",
    "ünïcödé — “quotes” 日本語 🐍 👩‍👩‍👧",
    "<script>alert(1)</script>",
    "*bold* _em_ **strong** __strong__",
    "[link](x) ![img](y) <http://auto.link> https://bare.link",
    "a | b | c",
    "# heading",
    "1. item",
    "- item",
    "> quote",
    "---",
    "&amp; &copy; &#60;",
    "<!-- comment -->",
    "key: value # not a comment",
    "- [a, b] {c: d} &anchor *alias !tag %directive @at",
    'x = "toml" # comment',
    "[table]",
    "",
    "   ",
]
IDS = [repr(text)[:40] for text in HOSTILE]


def one_line(text: str) -> str:
    return " ".join(text.split())


# --- py: a Python literal --------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE, ids=IDS)
def test_py_string_round_trips(text: str) -> None:
    out = python_literal(text)
    assert ast.literal_eval(out) == text
    # Placed in code, it is one constant expression, not code of its own.
    module = ast.parse(f"description = {out}\n")
    assert len(module.body) == 1
    assert isinstance(module.body[0].value, ast.Constant)  # type: ignore[attr-defined]
    assert "\x00" not in out and "\n" not in out


@pytest.mark.parametrize(
    "value",
    [None, True, False, 0, -7, 2**63, 1.5, -0.25, [1, "a"], {"k": ['"""', "{{ x }}"]}],
    ids=repr,
)
def test_py_other_spec_values_round_trip(value: object) -> None:
    assert ast.literal_eval(python_literal(value)) == value


@given(st.text())
@settings(deadline=None)
def test_py_round_trips_any_text(text: str) -> None:
    assert ast.literal_eval(python_literal(text)) == text


@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=10,
    )
)
@settings(deadline=None)
def test_py_round_trips_any_json_like_value(value: object) -> None:
    assert ast.literal_eval(python_literal(value)) == value


# --- docstring: inside a one-line triple-quoted string ---------------------------------------


def read_docstring(out: str) -> str:
    """`out` as templates place it: `\"\"\"<out>\"\"\"` and with a trailing period."""
    module = ast.parse(f'"""{out}."""\n')
    assert len(module.body) == 1
    docstring = ast.get_docstring(module, clean=False)
    assert docstring is not None and docstring.endswith(".")
    assert ast.literal_eval(f'"""{out}"""') == docstring[:-1]
    return docstring[:-1]


@pytest.mark.parametrize("text", HOSTILE, ids=IDS)
def test_docstring_round_trips_to_the_one_line_text(text: str) -> None:
    out = python_docstring(text)
    assert read_docstring(out) == one_line(text)
    assert "\n" not in out and "\r" not in out
    assert out.isprintable(), "invisible characters must be written as escapes"


def test_docstring_keeps_readable_text_readable() -> None:
    readable = "Books and authors (a catalogue)"
    assert python_docstring("Books and  authors\n(a catalogue)") == readable
    assert python_docstring("ünïcödé 🐍") == "ünïcödé 🐍"


@given(st.text())
@settings(deadline=None)
def test_docstring_round_trips_any_text(text: str) -> None:
    assert read_docstring(python_docstring(text)) == one_line(text)


# --- comment: after `# ` ---------------------------------------------------------------------


def comment_tokens(out: str) -> list[tokenize.TokenInfo]:
    source = f"x = 1  # {out}\ny = 2\n"
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    assert [t.string for t in tokens if t.type == tokenize.NAME] == ["x", "y"]
    return [t for t in tokens if t.type == tokenize.COMMENT]


@pytest.mark.parametrize("text", HOSTILE, ids=IDS)
def test_comment_stays_one_comment(text: str) -> None:
    out = python_comment(text)
    comments = comment_tokens(out)
    assert [c.string for c in comments] == [f"# {out}"]
    assert out.isprintable()
    module = ast.parse(f"# {out}\n")
    assert module.body == []


def test_comment_is_the_one_line_text_when_printable() -> None:
    text = '"""; import os\n{{ 7*7 }} {% raw %} ünï 🐍'
    assert python_comment(text) == one_line(text)
    assert python_comment("nul\x00 esc\x1b") == "nul\\x00 esc\\x1b"


@given(st.text())
@settings(deadline=None)
def test_comment_never_escapes_its_line(text: str) -> None:
    out = python_comment(text)
    assert len(comment_tokens(out)) == 1
    if one_line(text).isprintable():
        assert out == one_line(text)


# --- yaml: a double-quoted scalar ------------------------------------------------------------

_YAML = YAML(typ="safe", pure=True)


def yaml_contexts(out: str) -> list[str]:
    """The places a scalar goes in a YAML file: a mapping value, a list item, flow style."""
    return [f"x: {out}\n", f"- {out}\n", f"{{x: {out}}}\n", f"x:\n  - [{out}, {out}]\n"]


def read_yaml(document: str) -> object:
    return _YAML.load(document)


@pytest.mark.parametrize("text", HOSTILE, ids=IDS)
def test_yaml_round_trips(text: str) -> None:
    out = yaml_string(text)
    mapping, items, flow, nested = (read_yaml(doc) for doc in yaml_contexts(out))
    assert mapping == {"x": text}
    assert items == [text]
    assert flow == {"x": text}
    assert nested == {"x": [[text, text]]}


@pytest.mark.parametrize("text", ["c1 \x80\x85\x9f controls", "line\u2028sep\u2029", "\ufffe"])
def test_yaml_escapes_characters_yaml_cannot_hold_or_folds(text: str) -> None:
    out = yaml_string(text)
    assert out.isprintable()
    assert read_yaml(f"x: {out}") == {"x": text}


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_yaml_round_trips_any_text(text: str) -> None:
    assert read_yaml(f"x: {yaml_string(text)}\n") == {"x": text}


# --- toml: a basic string --------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE, ids=IDS)
def test_toml_round_trips(text: str) -> None:
    out = toml_string(text)
    assert tomllib.loads(f"x = {out}\n") == {"x": text}
    assert tomllib.loads(f"[t]\nlist = [{out}, {out}]\ninline = {{ k = {out} }}\n") == {
        "t": {"list": [text, text], "inline": {"k": text}}
    }


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_toml_round_trips_any_text(text: str) -> None:
    assert tomllib.loads(f"x = {toml_string(text)}\n") == {"x": text}


# --- md: inline Markdown text ----------------------------------------------------------------

_MD = MarkdownIt("commonmark").enable("table")
INLINE_TEXT_TOKENS = {"text", "text_special"}


def visible(text: str) -> str:
    """What Markdown can show: one line, without invisible characters."""
    return one_line("".join(c for c in text if c.isprintable() or c.isspace()))


def inline_text(tokens: list) -> str:  # type: ignore[type-arg]
    """The text of one inline token, asserting it holds no markup at all."""
    kinds = {child.type for child in tokens.children}  # type: ignore[attr-defined]
    assert kinds <= INLINE_TEXT_TOKENS, f"markup produced: {kinds - INLINE_TEXT_TOKENS}"
    return "".join(child.content for child in tokens.children)  # type: ignore[attr-defined]


def read_paragraph(markdown: str) -> str:
    tokens = _MD.parse(markdown)
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"]
    html = _MD.render(markdown)
    assert re.sub(r"</?p>", "", html).count("<") == 0, f"a tag in {html!r}"
    return inline_text(tokens[1])


def read_heading(markdown: str) -> str:
    tokens = _MD.parse(markdown)
    assert [t.type for t in tokens] == ["heading_open", "inline", "heading_close"]
    return inline_text(tokens[1])


def read_table_cell(cell: str) -> str:
    """`cell` as the first of two cells in the body row of a table."""
    tokens = _MD.parse(f"| resource | path |\n| --- | --- |\n| {cell} | `/x` |\n")
    body = [t for t in tokens[tokens.index(next(t for t in tokens if t.type == "tbody_open")) :]]
    cells = [body[i + 1] for i, t in enumerate(body) if t.type == "td_open"]
    assert len(cells) == 2, "the text must not add or remove table columns"
    assert cells[1].children[0].type == "code_inline"
    return inline_text(cells[0])


MARKDOWN_CASES = [text for text in HOSTILE if visible(text)]


@pytest.mark.parametrize("text", MARKDOWN_CASES, ids=[repr(t)[:40] for t in MARKDOWN_CASES])
def test_md_renders_as_the_literal_text(text: str) -> None:
    out = markdown_text(text)
    assert read_paragraph(out) == visible(text)
    assert read_heading(f"# {out}") == visible(text)
    assert read_table_cell(out) == visible(text)


def test_md_escapes_html_and_markup() -> None:
    out = markdown_text("<script>alert(1)</script> *bold* [x](y) a|b")
    assert "<" not in out
    assert _MD.render(out) == ("<p>&lt;script&gt;alert(1)&lt;/script&gt; *bold* [x](y) a|b</p>\n")


def test_md_of_blank_text_is_empty() -> None:
    assert markdown_text("") == ""
    assert markdown_text(" \n\t\x00") == ""


MARKUP = st.text(alphabet=st.sampled_from(list("*_[]()<>`#!|\\&;-+.~{}=:/\"' aZ19\n\t")))


@given(st.one_of(st.text(), MARKUP).filter(lambda t: visible(t) != ""))
@settings(max_examples=300, deadline=None)
def test_md_renders_any_text_literally(text: str) -> None:
    out = markdown_text(text)
    assert read_paragraph(out) == visible(text)
    assert read_table_cell(out) == visible(text)


# --- wiring ----------------------------------------------------------------------------------


def test_filters_are_registered_under_their_template_names() -> None:
    from jinja2 import Environment

    environment = Environment(extensions=[EscapeFilters])
    assert set(FILTERS) == {"py", "docstring", "comment", "yaml", "toml", "md"}
    for name, function in FILTERS.items():
        assert environment.filters[name] is function


def test_jinja_output_is_not_rendered_again() -> None:
    """Spec text that looks like a template stays text once a template has placed it."""
    from jinja2 import Environment

    environment = Environment(extensions=[EscapeFilters])
    template = environment.from_string(
        'x = {{ v | py }}\n"""{{ v | docstring }}"""\n# {{ v | comment }}\n'
    )
    hostile = "{{ 7*7 }} {% raw %} {% endraw %}"
    rendered = template.render(v=hostile)
    assert "49" not in rendered
    assert ast.literal_eval(rendered.splitlines()[0].removeprefix("x = ")) == hostile
