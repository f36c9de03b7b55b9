"""Jinja filters that escape spec strings for the context they land in.

Spec text is data, never code: these filters are the only way templates put a
spec string into a generated file, so a description such as `\"\"\"; import os` or
`{{ 7*7 }}` comes out literally.
"""

from __future__ import annotations

import json
import re
from typing import Any

from jinja2 import Environment
from jinja2.ext import Extension

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~])")
# Characters a reader cannot see (controls, format and bidi marks, unassigned code
# points): escaped where the context has escapes, dropped from Markdown.
_OUTSIDE_ASCII_PRINTABLE = re.compile(r"[^ -~]")  # a superset, refined with isprintable()


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _escape_invisible(text: str, *, short: str) -> str:
    """Write each non-printable character as an escape (`\\xNN`, `\\uNNNN`, `\\UNNNNNNNN`).

    `short` is the two-hex-digit form the context supports (`\\x` in Python and YAML),
    or `\\u` when it has none (TOML).
    """

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if char.isprintable():
            return char
        code = ord(char)
        if code <= 0xFF and short == "x":
            return f"\\x{code:02x}"
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"

    return _OUTSIDE_ASCII_PRINTABLE.sub(escape, text)


def python_literal(value: Any) -> str:
    """A Python literal for a str, number, bool, None, list or dict from the spec."""
    return repr(value)


def python_docstring(text: str) -> str:
    """Text safe inside a one-line triple-quoted docstring (whitespace runs become one space)."""
    escaped = _one_line(text).replace("\\", "\\\\").replace('"', '\\"')
    return _escape_invisible(escaped, short="x")


def python_comment(text: str) -> str:
    """Text for after `# `: one line, invisible characters spelled as escapes."""
    return _escape_invisible(_one_line(text), short="x")


def yaml_string(text: str) -> str:
    """A double-quoted YAML scalar (JSON strings are valid YAML; non-printables escaped)."""
    return _escape_invisible(json.dumps(str(text), ensure_ascii=False), short="x")


def toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes are a subset of TOML's; non-printables escaped)."""
    return _escape_invisible(json.dumps(str(text), ensure_ascii=False), short="u")


def markdown_text(text: str) -> str:
    """Inline Markdown that renders as the literal text (no markup, no raw HTML).

    Whitespace runs become one space and invisible characters are dropped: Markdown
    has no escape for them (CommonMark replaces NUL, for one).
    """
    visible = _one_line("".join(c for c in str(text) if c.isprintable() or c.isspace()))
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", visible)
    return escaped.replace("&", "&amp;").replace("<", "&lt;")


FILTERS = {
    "py": python_literal,
    "docstring": python_docstring,
    "comment": python_comment,
    "yaml": yaml_string,
    "toml": toml_string,
    "md": markdown_text,
}


class EscapeFilters(Extension):
    """Loaded by copier through `_jinja_extensions` in the service template."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters.update(FILTERS)
