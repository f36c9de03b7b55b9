"""Schemathesis hooks for test_schemathesis.py: steer generated ids to the seeded rows.

Loaded by `st run` (``SCHEMATHESIS_HOOKS``) inside a generated project's venv, not by
pytest. Random ids almost never name a row, so without this retrieve, update and delete
would only ever answer 404. A *valid* id (a positive 32-bit int, or a UUID) in a path
parameter, in a ref field of a request body, or in ``ids`` of a bulk delete is replaced
by one of the ids the test created, chosen by the value itself (deterministic), except
one value in four, which is kept so missing rows are still asked for. Invalid values are
never touched, so negative cases stay negative. The stateful phase follows its own links
and is left alone.

``APIFORGE_SCHEMATHESIS_PLAN`` names a JSON file: ``segments`` (URL segment of a
collection → resource), ``collections`` (collection path → its resource and its ref
fields → referenced resource) and ``ids`` (resource → the ids created).
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import schemathesis

PLAN: dict[str, Any] = json.loads(Path(os.environ["APIFORGE_SCHEMATHESIS_PLAN"]).read_text())
MAX_ID = 2**31 - 1
KEEP_ONE_IN = 4  # this share of valid ids is left as generated (mostly rows that don't exist)


def steer(value: Any, ids: list[Any]) -> Any:
    """A seeded id in place of a valid generated one, or the value unchanged."""
    if not ids:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID:
        number = value
    elif isinstance(value, str):
        try:
            number = uuid.UUID(value).int
        except ValueError:
            return value
    else:
        return value
    if number % KEEP_ONE_IN == 0:
        return value
    chosen = ids[number % len(ids)]
    return chosen if type(chosen) is type(value) else value


def collection_of(path: str) -> dict[str, Any] | None:
    """The collection an operation path belongs to (the longest matching prefix)."""
    matches = [
        (prefix, info)
        for prefix, info in PLAN["collections"].items()
        if path == prefix or path.startswith(prefix + "/")
    ]
    return max(matches, key=lambda match: len(match[0]))[1] if matches else None


def steer_path_parameters(path: str, parameters: dict[str, Any]) -> None:
    """`/books/{book_id}`, `/authors/{author_id}/books`: the segment before names the resource."""
    segments = path.split("/")
    for index, segment in enumerate(segments[1:], start=1):
        name = segment[1:-1] if segment.startswith("{") and segment.endswith("}") else None
        owner = PLAN["segments"].get(segments[index - 1])
        if name in parameters and owner is not None:
            parameters[name] = steer(parameters[name], PLAN["ids"][owner])


def steer_body(path: str, body: Any) -> None:
    collection = collection_of(path)
    if collection is None or not isinstance(body, dict):
        return
    ids = PLAN["ids"]
    if path.endswith("/bulk-delete"):
        if isinstance(body.get("ids"), list):
            body["ids"] = [steer(value, ids[collection["resource"]]) for value in body["ids"]]
        return
    items = body.get("items") if path.endswith("/bulk") else [body]
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            for key, target in collection["refs"].items():
                if key in item:
                    item[key] = steer(item[key], ids[target])


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    if case.meta is not None and case.meta.phase.name == "stateful":
        return case
    if case.path_parameters:
        steer_path_parameters(case.operation.path, case.path_parameters)
    steer_body(case.operation.path, case.body)
    return case
