"""A git merge in progress, read through git itself (never written to).

While `git merge` waits for conflicts to be resolved, git still holds both sides:
HEAD (ours), MERGE_HEAD (theirs) and their merge base. Regenerate reads the
`.apiforge/` record and the generated files of each side from there, so it can
rebuild the record and keep both branches' edits instead of parsing conflict markers.
Only used when the project is inside a git work tree with MERGE_HEAD present.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

OURS, THEIRS = "HEAD", "MERGE_HEAD"


@dataclass(frozen=True)
class GitMerge:
    project: Path
    prefix: str  # the project folder relative to the repository root, "" or "shop/"
    base: str | None  # the merge base commit, None for unrelated histories

    def read_many(self, revision: str, paths: Iterable[str]) -> dict[str, str | None]:
        """Project path → content at `revision` (None when the path is not there)."""
        wanted = sorted(set(paths))
        if not wanted:
            return {}
        specs = [f"{revision}:{self.prefix}{path}" for path in wanted]
        found = _cat_file(self.project, specs)
        return dict(zip(wanted, found, strict=True))

    def reader(self, revision: str) -> Reader:
        return Reader(self, revision)


@dataclass(frozen=True)
class Reader:
    """Reads files of the project at one revision, as `state.read_state` wants them."""

    merge: GitMerge
    revision: str

    def __call__(self, relative: str) -> str:
        content = self.merge.read_many(self.revision, [relative])[relative]
        if content is None:
            raise FileNotFoundError(relative)
        return content

    def many(self, paths: Iterable[str]) -> Mapping[str, str | None]:
        return self.merge.read_many(self.revision, paths)


def merge_in_progress(project: Path) -> GitMerge | None:
    """The merge git is in the middle of, if `project` is inside a work tree that has one."""
    found = _git(project, "rev-parse", "--show-prefix", "--git-path", "MERGE_HEAD")
    if found is None:
        return None
    lines = found.splitlines()
    if len(lines) != 2:
        return None
    prefix, merge_head = lines
    merge_head_path = Path(merge_head)
    if not merge_head_path.is_absolute():
        merge_head_path = project / merge_head_path
    if not merge_head_path.is_file():
        return None
    base = _git(project, "merge-base", OURS, THEIRS)
    return GitMerge(project, prefix, base.split()[0] if base else None)


def _git(cwd: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
        )
    except (OSError, subprocess.SubprocessError):
        return None  # no git on this machine: then there is no merge to help with
    # Only the final newline goes: `--show-prefix` prints an empty line at the root.
    return result.stdout.removesuffix("\n") if result.returncode == 0 else None


def _cat_file(cwd: Path, specs: list[str]) -> list[str | None]:
    """Every object `specs` names, in one `git cat-file --batch` process."""
    request = "".join(f"{spec}\n" for spec in specs).encode("utf-8")
    result = subprocess.run(
        ["git", "cat-file", "--batch"], cwd=cwd, input=request, capture_output=True, check=True
    )
    output, position = result.stdout, 0
    contents: list[str | None] = []
    for _ in specs:
        end = output.index(b"\n", position)
        header = output[position:end].split()
        position = end + 1
        if len(header) != 3 or header[1] != b"blob":
            contents.append(None)  # "<spec> missing", or a folder where a file was
            if len(header) == 3:
                position += int(header[2]) + 1
            continue
        size = int(header[2])
        contents.append(output[position : position + size].decode("utf-8", errors="replace"))
        position += size + 1
    return contents
