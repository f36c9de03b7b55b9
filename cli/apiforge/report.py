"""Rich output: what happened per file, a summary, then what the user must do next.

Every line about a file starts with a word from a fixed vocabulary, so output reads
the same for every command and can be grepped. Nothing here decides anything: the
functions turn results into text on the console they are given.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:  # the CLI imports this module at start-up: keep pydantic out of it
    from .errors import ApiforgeError
    from .project import CheckResult, FileDrift, NewServiceResult
    from .regenerate import RegenerateResult
    from .renames import Mention
    from .revisions import MigrationProblem
    from .spec import Spec

# What happened to a file during generation.
Action = Literal["create", "update", "merge", "conflict", "keep", "skip", "remove", "identical"]
ACTION_STYLES: dict[str, str] = {
    "create": "green",
    "update": "cyan",
    "merge": "blue",
    "conflict": "bold red",
    "keep": "yellow",
    "skip": "dim",
    "remove": "magenta",
    "identical": "dim",
}
# How a file differs from what generation would produce (`apiforge check`).
DRIFT_STYLES: dict[str, str] = {"modified": "yellow", "missing": "red", "conflict": "bold red"}
WORD_WIDTH = max(len(word) for word in [*ACTION_STYLES, *DRIFT_STYLES])
STATE_PREFIX = ".apiforge/"
MIGRATIONS_DIR = "migrations/versions"  # render.MIGRATIONS_DIR (render is heavy to import)


@dataclass(frozen=True)
class FileAction:
    path: str
    action: Action
    detail: str = ""


def make_console(*, stderr: bool = False) -> Console:
    # soft_wrap: long paths and `file:line:col` messages stay on one line, for editors and grep.
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def file_line(word: str, style: str, path: str, detail: str = "") -> Text:
    line = Text("  ")
    line.append(word.rjust(WORD_WIDTH), style=style)
    line.append(f"  {path}")
    if detail:
        line.append(f"  {detail}", style="dim")
    return line


def print_file_actions(console: Console, actions: Iterable[FileAction]) -> None:
    """One line per file; the `.apiforge/` record is summed up in a single line."""
    state_actions: list[FileAction] = []
    for item in actions:
        if item.path.startswith(STATE_PREFIX):
            state_actions.append(item)
        else:
            console.print(
                file_line(item.action, ACTION_STYLES[item.action], item.path, item.detail)
            )
    if state_actions:
        word = "create" if all(a.action == "create" for a in state_actions) else "update"
        detail = f"spec snapshot, state and baselines ({len(state_actions)} files)"
        console.print(file_line(word, ACTION_STYLES[word], STATE_PREFIX, detail))


def print_next_steps(console: Console, steps: Sequence[str]) -> None:
    if not steps:
        return
    console.print()
    console.print("Next steps:", style="bold")
    for step in steps:
        console.print(Text(f"  {step}", style="cyan"))


def print_new_service(console: Console, result: NewServiceResult) -> None:
    print_file_actions(console, (FileAction(path, "create") for path in result.files))
    console.print()
    generated = [path for path in result.files if not path.startswith(STATE_PREFIX)]
    summary = Text("Created service ")
    summary.append(result.service_name, style="bold")
    summary.append(f" in {result.project_dir}/ ({len(generated)} files, {result.database}).")
    console.print(summary)
    print_next_steps(console, new_service_steps(result))


def new_service_steps(result: NewServiceResult) -> list[str]:
    return [
        f"cd {shlex.quote(str(result.project_dir))}",
        "pip install -e '.[dev]'",
        "alembic upgrade head",
        f"uvicorn {result.package_name}.main:app --reload",
        "pytest",
    ]


def print_valid(console: Console, spec_path: Path, spec: Spec) -> None:
    resources = ", ".join(spec.resources)
    line = Text("OK", style="bold green")
    line.append(
        f"  {spec_path}: service {spec.service.name}, "
        f"{len(spec.resources)} resource{'s' if len(spec.resources) != 1 else ''} "
        f"({resources})"
    )
    console.print(line)


def print_check(console: Console, result: CheckResult) -> None:
    for item in result.drift:
        console.print(file_line(item.kind, DRIFT_STYLES[item.kind], item.path, _drift_detail(item)))
        if item.diff:
            print_diff(console, item.diff)
    if result.stale_baseline or result.spec_changed:
        console.print(file_line("stale", "yellow", STATE_PREFIX, _stale_detail(result)))
    if result.refused:
        refusal = f"regenerate would refuse the spec change: {result.refused}"
        console.print(Text(refusal, style="red"))
    print_migration_problems(console, result.migrations)
    for stale in result.stale_validators:
        console.print(file_line("stale", "bold red", f"{stale.path}:{stale.line}", stale.text))
    console.print()
    if result.clean:
        line = Text("✓ ", style="bold green")
        line.append(
            f"{_shown(result.project_dir)}: {result.checked} generated files match the spec; "
            "no conflict markers."
        )
        console.print(line)
        return
    console.print(
        Text(f"✗ {_shown(result.project_dir)}: {_drift_summary(result)}", style="bold red")
    )
    print_next_steps(console, check_steps(result))


def print_migration_problems(console: Console, problems: Sequence[MigrationProblem]) -> None:
    """Revisions the chain cannot vouch for: each named, with its edits when it has some."""
    for item in problems:
        console.print(file_line("migration", "bold red", item.path, item.problem))
        if item.diff:
            print_diff(console, item.diff)


def _shown(project_dir: Path) -> str:
    """`--project` defaults to `.`; name the folder instead, so CI logs say which project."""
    return str(project_dir) if project_dir != Path(".") else Path.cwd().name


def print_diff(console: Console, diff: str) -> None:
    styles = {"+": "green", "-": "red", "@": "cyan"}
    for line in diff.splitlines():
        style = "bold" if line.startswith(("+++", "---")) else styles.get(line[:1], "")
        console.print(Text(f"    {line}", style=style))


def _drift_detail(item: FileDrift) -> str:
    if item.kind == "conflict":
        return _marker_detail(item.lines)
    if item.kind == "missing":
        return "generated file not on disk"
    return "differs from the generated file"


def _marker_detail(lines: Sequence[int]) -> str:
    numbers = ", ".join(str(number) for number in lines)
    return f"conflict markers on line{'s' if len(lines) > 1 else ''} {numbers}"


def _stale_detail(result: CheckResult) -> str:
    parts = []
    if result.spec_changed:
        parts.append("apiforge.yaml changed since the last generation")
    if result.stale_baseline:
        count = len(result.stale_baseline)
        files = f"{count} baseline file{'s differ' if count != 1 else ' differs'}"
        parts.append(f"{files} from what the spec renders now")
    return "; ".join(parts)


def _drift_summary(result: CheckResult) -> str:
    kinds = [item.kind for item in result.drift]
    parts = [f"{kinds.count(kind)} {kind}" for kind in DRIFT_STYLES if kind in kinds]
    if result.stale_baseline or result.spec_changed:
        parts.append("regenerate pending")
    if result.migrations:
        parts.append(f"{len(result.migrations)} migration problem(s)")
    if result.stale_validators:
        count = len(result.stale_validators)
        parts.append(f"{count} validator{'s' if count != 1 else ''} of renamed fields")
    return "not in step with the spec: " + ", ".join(parts) + "."


RESTORE_MIGRATIONS_STEP = (
    "restore the migration files named above from version control, or record "
    "them as they are: apiforge regenerate --accept-migrations"
)


def check_steps(result: CheckResult) -> list[str]:
    kinds = {item.kind for item in result.drift}
    pending = bool(result.stale_baseline or result.spec_changed)
    steps = []
    if "conflict" in kinds:
        conflicted = " ".join(item.path for item in result.drift if item.kind == "conflict")
        steps.append(f"resolve the conflict markers in: {conflicted}")
    if pending or "missing" in kinds or any(i.path == MIGRATIONS_DIR for i in result.migrations):
        steps.append("apiforge regenerate")
    if any(item.path != MIGRATIONS_DIR for item in result.migrations):
        steps.append(RESTORE_MIGRATIONS_STEP)
    if result.stale_validators:
        steps.append("give the validators marked stale the fields' new names")
    if "modified" in kinds:
        # With a regenerate pending, the differences may be its; only what remains is by hand.
        hint = "files that still differ after regenerating" if pending else "modified files"
        steps.append(
            f"{hint} were edited by hand: undo the edits or move them into hooks/ "
            "(the diff shows what apiforge generates)"
        )
    steps.append("apiforge check")
    return steps


def print_error(console: Console, error: ApiforgeError) -> None:
    """A user-facing error: for a spec, every problem on its own `file:line:col` line."""
    from .errors import SpecError

    if isinstance(error, SpecError) and error.problems:
        for problem in error.problems:
            console.print(Text(str(problem), style="red"))
        count = len(error.problems)
        plural = "s" if count != 1 else ""
        console.print(Text(f"error: {count} problem{plural} in the spec", style="bold red"))
        return
    console.print(Text(f"error: {error}", style="bold red"))


def print_internal_error(console: Console, error: BaseException, *, version: str) -> None:
    message = str(error) or type(error).__name__
    console.print(Text(f"internal error: {type(error).__name__}: {message}", style="bold red"))
    console.print(
        Text(
            f"This is a bug in apiforge {version}. Please report it with the output "
            "of the same command run with APIFORGE_DEBUG=1.",
            style="dim",
        )
    )


def print_regenerate(console: Console, result: RegenerateResult) -> None:
    """Per file what happened (a table for a dry run), the migration, then next steps."""
    changes = [c for c in result.update.changes if c.action != "identical" or c.changed]
    if result.dry_run:
        _print_change_table(console, result)
    else:
        for change in changes:
            style = ACTION_STYLES.get(change.action, "")
            console.print(file_line(change.action, style, change.path, change.detail))
    print_renames(console, result)
    if result.migration_path:
        console.print()
        verb = "would write" if result.dry_run else "wrote"
        console.print(Text(f"Migration {verb}: {result.migration_path}", style="bold"))
        for line in result.migration_summary:
            console.print(Text(f"  - {line}"))
    if result.migration_problems:
        console.print()
        print_migration_problems(console, result.migration_problems)
    if result.markers:
        console.print()
        count = len(result.markers)
        verb = "would hold" if result.dry_run else ("hold" if count != 1 else "holds")
        heading = f"{count} file{'s' if count != 1 else ''} {verb} conflict markers:"
        console.print(Text(heading, style="bold red"))
        for marked in result.markers:
            detail = _marker_detail(marked.lines)
            console.print(file_line("conflict", ACTION_STYLES["conflict"], marked.path, detail))
    console.print()
    console.print(_regenerate_summary(result))
    print_next_steps(console, regenerate_steps(result))


def print_renames(console: Console, result: RegenerateResult) -> None:
    """Identifiers renamed in the user's code, per file; then every line of theirs that
    still says an old name, as `file:line`, which no one should overlook."""
    from .renames import describe

    renamed = [change for change in result.update.changes if change.renamed]
    if renamed:
        console.print()
        verb = "Would rename" if result.dry_run else "Renamed"
        console.print(
            Text(f"{verb} in your code (identifiers only, never strings or comments):", "bold")
        )
        for change in renamed:
            console.print(file_line("rename", "cyan", change.path, describe(change.renamed)))
    print_mentions(console, _all_mentions(result))


def _all_mentions(result: RegenerateResult) -> list[Mention]:
    """Remaining mentions, a stale validator's explanation replacing its plain mention."""
    by_line = {(m.path, m.line): m for m in result.update.mentions}
    by_line.update({(m.path, m.line): m for m in result.stale_validators})
    return sorted(by_line.values(), key=lambda m: (m.path, m.line))


def print_mentions(console: Console, mentions: Sequence[Mention]) -> None:
    if not mentions:
        return
    console.print()
    console.print(
        Text(
            "Your code still says the old names here; apiforge does not rename strings, "
            "comments or other names. Look at each:",
            style="bold yellow",
        )
    )
    for mention in mentions:
        where = f"{mention.path}:{mention.line}" if mention.line else mention.path
        line = file_line("look", "bold yellow", where)
        line.append(f"  {mention.text}")
        console.print(line)


def _print_change_table(console: Console, result: RegenerateResult) -> None:
    from rich.table import Table

    table = Table(title="apiforge regenerate --dry-run: nothing was written", title_justify="left")
    table.add_column("action")
    table.add_column("file")
    table.add_column("detail", style="dim")
    for change in result.update.changes:
        style = ACTION_STYLES.get(change.action, "")
        table.add_row(Text(change.action, style=style), change.path, change.detail)
    for path in result.update.removals:
        if not any(c.path == path for c in result.update.changes):
            table.add_row(Text("remove", style=ACTION_STYLES["remove"]), path, "moved")
    console.print(table)


def _regenerate_summary(result: RegenerateResult) -> Text:
    counts: dict[str, int] = {}
    for change in result.update.changes:
        counts[change.action] = counts.get(change.action, 0) + 1
    parts = ", ".join(f"{count} {action}" for action, count in sorted(counts.items()))
    prefix = "Would change" if result.dry_run else "Done"
    style = "bold red" if result.conflicts else "bold green"
    if not result.changed_paths and result.conflicts:
        return Text("Nothing to change, but conflict markers are left to resolve.", style=style)
    if not result.changed_paths and not result.stale_validators:
        return Text("Nothing to do: the project is in step with the spec.", style="bold green")
    if not result.changed_paths:
        return Text(f"Nothing to regenerate, but {_mentions_left(result)}.", style="bold yellow")
    summary = Text(f"{prefix}: {parts}.", style=style)
    if _all_mentions(result):
        summary.append(f" {_mentions_left(result)}.", style="bold yellow")
    return summary


def _mentions_left(result: RegenerateResult) -> str:
    count = len(_all_mentions(result))
    if count == 1:
        return "1 mention of the old names remains"
    return f"{count} mentions of the old names remain"


def regenerate_steps(result: RegenerateResult) -> list[str]:
    steps = []
    if result.conflicts:
        paths = " ".join(marked.path for marked in result.markers)
        steps.append(f"resolve the conflict markers (<<<<<<< / >>>>>>>) in: {paths}")
    if result.migration_problems:
        steps.append(RESTORE_MIGRATIONS_STEP)
    if _all_mentions(result):
        steps.append(f"review the lines listed above: {_mentions_left(result)}")
    if result.dry_run and result.changed_paths:
        steps.append("run the same command without --dry-run to apply it")
    elif result.migration_path:
        steps.append("alembic upgrade head")
    if result.git_merge and not result.dry_run:
        # apiforge never touches git's index: marking paths resolved is the user's call.
        folder = shlex.quote(str(result.project_dir))
        steps.append(f"git add -A -- {folder}  (marks the merge's files resolved), then git commit")
    return steps
