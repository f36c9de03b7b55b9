"""Create a few rows of every resource of a running service, for test_schemathesis.py.

Run by a generated project's python in the project's root, so its own test factories
(``tests/factories.py``: valid, unique payloads; refs created on the way) do the work.

    python schemathesis_seed.py BASE_URL OUT.json COUNT RESOURCE...

RESOURCE names come parents first. OUT.json maps each resource to the ids created,
including the parents the factories created for refs.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, os.getcwd())  # the project's `tests` package, not ours
from tests import factories  # noqa: E402

Create = Callable[..., dict[str, Any]]


def main(base_url: str, out: str, count: str, *resources: str) -> None:
    ids: dict[str, list[Any]] = {name: [] for name in resources}

    def recording(name: str, create: Create) -> Create:
        def create_and_record(client: Any, **overrides: Any) -> dict[str, Any]:
            created = create(client, **overrides)
            ids[name].append(created["id"])
            return created

        return create_and_record

    # The payload factories look their parents' `create_*` up in the module: wrap them
    # there, so the parents they create are recorded too.
    creators = {}
    for name in resources:
        create = getattr(factories, f"create_{name}", None)  # absent without a create action
        if create is not None:
            creators[name] = recording(name, create)
            setattr(factories, f"create_{name}", creators[name])
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for create in creators.values():
            for _ in range(int(count)):
                create(client)
    Path(out).write_text(json.dumps(ids))


if __name__ == "__main__":
    main(*sys.argv[1:])
