"""The `.apiforge/` record: what was generated last time, so the next run can merge.

Layout (committed with the project):

    .apiforge/spec.yaml          the spec text last generated from (migrations diff against it)
    .apiforge/state.json         generator version and, per generated file, ownership and sha256
                                 (one file per line, sorted: two branches adding files merge
                                 line by line in git)
    .apiforge/baseline/<path>    the exact content last generated: the three-way merge base

Building the record is pure (`state_files` returns path → content, staged with the
project files so everything lands in one atomic write); only `load_state` reads disk.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, cast, get_args

from . import __version__
from .errors import UserError
from .plan import FilePlan, Ownership

STATE_DIR = ".apiforge"
SPEC_SNAPSHOT = f"{STATE_DIR}/spec.yaml"
STATE_FILE = f"{STATE_DIR}/state.json"
BASELINE_DIR = f"{STATE_DIR}/baseline"
STATE_FORMAT = 1  # bump when the layout changes, so an older apiforge refuses a newer record
# How a spec becomes tables, so a project generated under older rules migrates to these.
# 1: a sorted field had an index of its own. 2: it shares one with `id` (keyset pages).
# 3: enums, numeric bounds and string lengths are CHECK constraints too.
SCHEMA_RULES = 3

NOT_A_PROJECT = "not an apiforge project; run apiforge new-service"


@dataclass(frozen=True)
class FileRecord:
    """One generated file as recorded in state.json."""

    path: str
    ownership: Ownership
    sha256: str


@dataclass(frozen=True)
class ProjectState:
    """Everything `.apiforge/` holds, read back."""

    generator_version: str
    schema_rules: int  # the SCHEMA_RULES its tables were derived with
    spec_text: str
    files: dict[str, FileRecord]
    baseline: dict[str, str]  # path → content last generated


def sha256_of(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def baseline_path(path: str) -> str:
    return f"{BASELINE_DIR}/{path}"


def state_files(spec_text: str, plan: FilePlan) -> dict[str, str]:
    """The whole `.apiforge/` record for a freshly generated plan, as path → content."""
    files = {SPEC_SNAPSHOT: spec_text, STATE_FILE: state_json(plan)}
    for path in sorted(plan):
        files[baseline_path(path)] = plan[path].content
    return files


def state_json(plan: FilePlan) -> str:
    """JSON with one line per file, sorted by path, so git merges two branches' records
    line by line (a new file is one new line; a changed file, one changed line)."""
    header = {"format": STATE_FORMAT, "generator_version": __version__}
    header["schema_rules"] = SCHEMA_RULES
    lines = [f"  {_json(key)}: {_json(value)}," for key, value in sorted(header.items())]
    records = [
        _json({"ownership": plan[path].ownership, "path": path, "sha256": _sha(plan, path)})
        for path in sorted(plan)
    ]
    files = ",\n".join(f"    {record}" for record in records)
    return "{\n" + "\n".join(lines) + '\n  "files": [\n' + files + "\n  ]\n}\n"


def _sha(plan: FilePlan, path: str) -> str:
    return sha256_of(plan[path].content)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


# Reads one file of the record by its path in the project; raises FileNotFoundError.
Reader = Callable[[str], str]


def load_state(project_dir: Path) -> ProjectState:
    """Read `.apiforge/` back; a missing or damaged record is a UserError naming the problem."""
    state_dir = project_dir / STATE_DIR
    if not state_dir.is_dir():
        raise UserError(f"{project_dir}: {NOT_A_PROJECT} (no {STATE_DIR}/ folder)")
    return read_state(project_dir, lambda relative: _read_file(project_dir, relative))


def read_snapshot(project_dir: Path) -> str:
    """Only the spec snapshot, for commands that need the last generated names and no more."""
    if not (project_dir / STATE_DIR).is_dir():
        raise UserError(f"{project_dir}: {NOT_A_PROJECT} (no {STATE_DIR}/ folder)")
    return _read_record(
        project_dir, lambda relative: _read_file(project_dir, relative), SPEC_SNAPSHOT
    )


def read_state(project_dir: Path, read: Reader) -> ProjectState:
    """The record as `read` finds it: on disk, or in a git commit (a merge in progress)."""
    state_text = _read_record(project_dir, read, STATE_FILE)
    spec_text = _read_record(project_dir, read, SPEC_SNAPSHOT)
    document = _parse_state_json(project_dir, state_text)
    records = _parse_records(project_dir, document.get("files"))
    baseline = {path: _read_baseline(project_dir, read, record) for path, record in records.items()}
    return ProjectState(
        generator_version=str(document.get("generator_version", "unknown")),
        schema_rules=_schema_rules(project_dir, document.get("schema_rules", 1)),
        spec_text=spec_text,
        files=records,
        baseline=baseline,
    )


def _schema_rules(project_dir: Path, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _corrupt(project_dir, f"schema_rules is {value!r}, not a positive integer")
    if value > SCHEMA_RULES:
        raise UserError(
            f"{project_dir}: generated by a newer apiforge (schema rules {value}); "
            f"upgrade apiforge (this is {__version__})"
        )
    return value


def _read_file(project_dir: Path, relative: str) -> str:
    # newline="" keeps the bytes exactly as written: a baseline must not change under us.
    with (project_dir / relative).open(encoding="utf-8", newline="") as handle:
        return handle.read()


def _read_record(project_dir: Path, read: Reader, relative: str) -> str:
    try:
        return read(relative)
    except FileNotFoundError:
        raise _corrupt(project_dir, f"{relative} is missing") from None
    except (OSError, UnicodeDecodeError) as error:
        raise _corrupt(project_dir, f"{relative} cannot be read ({error})") from None


def _parse_state_json(project_dir: Path, text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise _corrupt(project_dir, f"{STATE_FILE} is not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise _corrupt(project_dir, f"{STATE_FILE} is not a JSON object")
    state_format = document.get("format")
    if isinstance(state_format, int) and state_format > STATE_FORMAT:
        raise UserError(
            f"{project_dir}: {STATE_FILE} was written by a newer apiforge "
            f"({document.get('generator_version')}); upgrade apiforge (this is {__version__})"
        )
    if state_format != STATE_FORMAT:
        raise _corrupt(project_dir, f"{STATE_FILE} has an unknown format {state_format!r}")
    return document


def _parse_records(project_dir: Path, raw_records: Any) -> dict[str, FileRecord]:
    if not isinstance(raw_records, list):
        raise _corrupt(project_dir, f"{STATE_FILE} has no `files` list")
    records: dict[str, FileRecord] = {}
    for raw in raw_records:
        record = _parse_record(raw)
        if record is None:
            raise _corrupt(project_dir, f"{STATE_FILE} has a malformed file entry: {raw!r}")
        records[record.path] = record
    return records


def _parse_record(raw: Any) -> FileRecord | None:
    if not isinstance(raw, dict):
        return None
    path, ownership, digest = raw.get("path"), raw.get("ownership"), raw.get("sha256")
    if not (isinstance(path, str) and isinstance(digest, str) and _is_inside(path)):
        return None
    if ownership not in get_args(Ownership):
        return None
    return FileRecord(path=path, ownership=cast(Ownership, ownership), sha256=digest)


def _is_inside(path: str) -> bool:
    """A recorded path must stay inside the project; a tampered record must not escape it."""
    pure = PurePosixPath(path)
    return bool(path) and not pure.is_absolute() and ".." not in pure.parts


def _read_baseline(project_dir: Path, read: Reader, record: FileRecord) -> str:
    content = _read_record(project_dir, read, baseline_path(record.path))
    if sha256_of(content) != record.sha256:
        raise _corrupt(
            project_dir,
            f"{baseline_path(record.path)} does not match its sha256 in {STATE_FILE} "
            "(edited by hand, or line endings converted by git?)",
        )
    return content


def _corrupt(project_dir: Path, detail: str) -> UserError:
    # Running new-service would not help here: the record must come back from version control.
    return UserError(
        f"{project_dir}: the apiforge record is damaged: {detail}; "
        f"restore {STATE_DIR}/ from version control"
    )
