"""Benchmark of the spec → code loop on a large spec (a script, not a test).

    python bench/regenerate.py [--resources N] [--runs K] [--no-profile]

Builds an N-resource spec (50 by default) with realistic fields and refs, creates
the project with the library API in a temporary folder, then times, K runs each:

  new-service      new_service() of the spec into an empty folder
  regenerate no-op regenerate() of a project already in step with its spec
  regenerate +1    regenerate() after one field was added to one resource (every run
                   starts from a pristine copy of the project, so each measures the
                   same change: render, one migration, merge, write)
  check            check(): regenerate's dry run plus the drift report
  check (CLI)      `python -m apiforge check` in a subprocess: what CI and the
                   pre-commit hook pay, interpreter start and imports included

The in-process figures are warm (imports already done). Then one "+1 field" run is
broken down by pipeline stage and profiled with cProfile, so the next engineer can
see what to optimise. See bench/README.md for the figures last measured.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CLI_DIR = Path(__file__).resolve().parents[1] / "cli"
sys.path.insert(0, str(CLI_DIR))

from apiforge import loader, render, state, writer  # noqa: E402
from apiforge import regenerate as regenerate_module  # noqa: E402
from apiforge.project import check, new_service  # noqa: E402
from apiforge.regenerate import regenerate  # noqa: E402

SERVICE = "benchshop"
ADDED_FIELD = "external_reference"
ADDED_FIELD_SPEC = "{type: str, max_length: 64, required: false, index: true}"

# 50 resources of an order-to-cash / back-office service, in dependency order: a
# resource only refers to resources listed before it, so refs never form a cycle.
RESOURCE_NAMES = (
    "region", "tax_rate", "currency", "department", "employee", "team", "customer",
    "supplier", "warehouse", "category", "brand", "product", "product_variant",
    "price_list", "price_list_item", "inventory_item", "stock_movement", "purchase_order",
    "purchase_order_line", "sales_order", "sales_order_line", "shipment", "shipment_item",
    "invoice", "invoice_line", "payment", "refund", "coupon", "promotion", "cart",
    "cart_item", "wishlist", "review", "project", "task", "time_entry", "expense", "budget",
    "vendor_contract", "support_ticket", "ticket_comment", "knowledge_article", "label",
    "attachment", "notification", "plan", "subscription", "usage_record", "audit_event",
    "webhook",
)

# Field templates by kind: (name, YAML flow mapping). Names never end in `_id` and never
# collide with list query parameters, so any pick is a valid spec.
OPTIONAL_FIELDS: tuple[tuple[str, str], ...] = (
    ("code", "{type: str, max_length: 32, unique: true, filter: true}"),
    ("reference", "{type: str, max_length: 40, index: true, filter: true}"),
    ("title", "{type: str, min_length: 1, max_length: 200, search: true}"),
    ("description", "{type: text, required: false}"),
    ("notes", "{type: text, required: false, max_length: 4000}"),
    ("quantity", "{type: int, ge: 0, default: 0, filter: range, sort: true}"),
    ("priority", "{type: int, ge: 1, le: 5, default: 3, filter: true}"),
    ("position", "{type: int, required: false}"),
    ("amount", "{type: decimal, max_digits: 12, decimal_places: 2, ge: 0, filter: range, "
               "sort: true}"),
    ("unit_price", "{type: decimal, max_digits: 10, decimal_places: 2, ge: 0}"),
    ("rate", "{type: decimal, max_digits: 6, decimal_places: 4, required: false}"),
    ("is_active", "{type: bool, default: true, filter: true}"),
    ("archived", "{type: bool, default: false}"),
    ("due_date", "{type: date, required: false, filter: range}"),
    ("valid_from", "{type: date, filter: range, sort: true}"),
    ("occurred_at", "{type: datetime, filter: range, sort: true}"),
    ("approved_at", "{type: datetime, required: false}"),
    ("status", "{type: enum, values: [draft, active, suspended, closed], default: draft, "
               "filter: true}"),
    ("kind", "{type: enum, values: [standard, express, internal], filter: true}"),
)
ON_DELETE = ("cascade", "restrict", "set_null")


def resource_names(count: int) -> list[str]:
    return [
        base if index < len(RESOURCE_NAMES) else f"{base}_v{index // len(RESOURCE_NAMES) + 1}"
        for index in range(count)
        for base in [RESOURCE_NAMES[index % len(RESOURCE_NAMES)]]
    ]


def build_spec(count: int, seed: int = 50) -> str:
    """A deterministic spec of `count` resources, 5–11 fields each, 0–2 of them refs."""
    rng = random.Random(seed)
    lines = [
        f"# apiforge benchmark spec: {count} resources (generated by bench/regenerate.py)",
        "apiforge: 1",
        "service:",
        f"  name: {SERVICE}",
        "  title: Benchmark Shop API",
        "  api_prefix: /api/v1",
        "resources:",
    ]
    names = resource_names(count)
    for index, name in enumerate(names):
        cursor = index % 7 == 3
        lines += [f"  {name}:", "    fields:"]
        lines.append("      name: {type: str, max_length: 120, search: true, sort: true}")
        for field, options in rng.sample(OPTIONAL_FIELDS, rng.randint(4, 8)):
            if cursor and "sort: true" in options and "required: false" in options:
                continue  # cursor pagination cannot sort on an optional field
            lines.append(f"      {field}: {options}")
        earlier = names[:index]
        for target in rng.sample(earlier, min(len(earlier), rng.choice((0, 1, 1, 2)))):
            rule = rng.choice(ON_DELETE)
            required = ", required: false" if rule == "set_null" else ""
            lines.append(
                f"      {target}: {{type: ref, to: {target}, on_delete: {rule}{required}, "
                "filter: true}"
            )
        if cursor:
            lines.append("    pagination: cursor")
        if index % 5 == 0:
            lines.append("    actions: [list, create, retrieve, update, partial_update, "
                         "destroy, bulk_create, bulk_delete]")
    return "\n".join(lines) + "\n"


def add_field(spec_text: str, resource: str) -> str:
    """The spec text with one optional field added to `resource`, layout kept."""
    anchor = f"\n  {resource}:\n    fields:\n"
    assert anchor in spec_text, resource
    return spec_text.replace(anchor, f"{anchor}      {ADDED_FIELD}: {ADDED_FIELD_SPEC}\n", 1)


# --- timing ------------------------------------------------------------------------------


def measure(runs: int, setup: Callable[[int], Any], action: Callable[[Any], Any]) -> list[float]:
    """Seconds of `action(setup(i))` for each run; setup is not timed."""
    times = []
    for run in range(runs):
        argument = setup(run)
        start = time.perf_counter()
        action(argument)
        times.append(time.perf_counter() - start)
    return times


class StageTimer:
    """Exclusive (self) time of chosen functions, by monkeypatching them for one run."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._stack: list[float] = []  # child time accumulated per active wrapper
        self._restore: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, attribute: str, stage: str) -> None:
        original = getattr(owner, attribute)

        def timed(*args: Any, **kwargs: Any) -> Any:
            self._stack.append(0.0)
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                children = self._stack.pop()
                self.seconds[stage] = self.seconds.get(stage, 0.0) + elapsed - children
                self.calls[stage] = self.calls.get(stage, 0) + 1
                if self._stack:
                    self._stack[-1] += elapsed

        setattr(owner, attribute, timed)
        self._restore.append((owner, attribute, original))

    def __enter__(self) -> StageTimer:
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, attribute, original in reversed(self._restore):
            setattr(owner, attribute, original)


STAGES = (
    # (module, function, stage label)
    (state, "load_state", "read .apiforge/ record"),
    (loader, "load_spec_text", "load + validate spec (new and snapshot)"),
    (regenerate_module, "_plan_migration", "plan migration (spec diff)"),
    (render, "render_project", "render scratch dir (tmp dir, rmtree)"),
    (render, "derive", "derive template model"),
    (render, "_run_copier", "render templates (copier, Jinja)"),
    (render, "_normalise_python", "ruff fix + format (2 subprocesses)"),
    (render, "_collect", "read back rendered files + ast.parse"),
    (regenerate_module, "_read_disk", "read project files"),
    (regenerate_module, "plan_update", "three-way merge plan (merge3)"),
    (state, "state_files", "build .apiforge/ record (hashes)"),
    (writer, "write_files", "atomic write"),
)


# --- the benchmark -----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, default=50, help="resources in the spec")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each benchmark")
    parser.add_argument("--no-profile", action="store_true", help="skip the breakdown")
    args = parser.parse_args(argv)
    if args.resources < 1 or args.runs < 1:
        parser.error("--resources and --runs must be at least 1")

    names = resource_names(args.resources)
    changed = names[len(names) // 2]
    spec_text = build_spec(args.resources)
    with tempfile.TemporaryDirectory(prefix="apiforge-bench-") as scratch:
        root = Path(scratch)
        spec_path = root / "bench.yaml"
        spec_path.write_text(spec_text, encoding="utf-8")

        # The pristine project every other benchmark starts from (also warms imports).
        start = time.perf_counter()
        pristine = new_service(
            SERVICE, spec_path=spec_path, database=None, directory=root / "pristine"
        ).project_dir
        first = time.perf_counter() - start
        generated = [p for p in pristine.rglob("*") if p.is_file() and ".apiforge" not in p.parts]
        fields = spec_text.count("{type:")
        print(f"spec: {args.resources} resources, {fields} fields, "
              f"{len(spec_text.splitlines())} lines; project: {len(generated)} files, "
              f"{sum(p.stat().st_size for p in generated) // 1024} KiB "
              f"(first new-service, cold: {first:.2f} s)")
        print(f"one-field change: {changed}.{ADDED_FIELD}; runs: {args.runs}; "
              f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.2f} (other work skews the figures)\n")

        results: dict[str, list[float]] = {}

        results["new-service"] = measure(
            args.runs,
            lambda run: root / f"new-{run}",
            lambda directory: new_service(
                SERVICE, spec_path=spec_path, database=None, directory=directory
            ),
        )

        def noop(project: Path) -> None:
            result = regenerate(project)
            assert not result.changed_paths, f"no-op regenerate changed {result.changed_paths}"

        results["regenerate (no-op)"] = measure(args.runs, lambda run: pristine, noop)

        def fresh_copy_with_change(run: int) -> Path:
            project = root / f"change-{run}" / SERVICE
            shutil.copytree(pristine, project)
            spec_file = project / "apiforge.yaml"
            spec_file.write_text(add_field(spec_file.read_text("utf-8"), changed), "utf-8")
            return project

        def one_field(project: Path) -> None:
            result = regenerate(project)
            assert result.migration_path, "the one-field change wrote no migration"
            assert not result.conflicts, "the one-field change conflicted"

        results["regenerate (+1 field)"] = measure(args.runs, fresh_copy_with_change, one_field)

        def checked(project: Path) -> None:
            assert check(project).clean, "check of the pristine project is not clean"

        results["check"] = measure(args.runs, lambda run: pristine, checked)

        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
            filter(None, [str(CLI_DIR), os.environ.get("PYTHONPATH")]))}

        def cli_check(project: Path) -> None:
            command = [sys.executable, "-m", "apiforge", "check", "--project", str(project)]
            done = subprocess.run(command, env=environment, capture_output=True, check=False)
            assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()

        results["check (CLI process)"] = measure(args.runs, lambda run: pristine, cli_check)

        print(f"{'benchmark':<24}{'median s':>10}{'min s':>9}{'max s':>9}"
              f"   (load average now {os.getloadavg()[0]:.2f})")
        for label, times in results.items():
            print(f"{label:<24}{statistics.median(times):>10.2f}"
                  f"{min(times):>9.2f}{max(times):>9.2f}")

        if not args.no_profile:
            breakdown(fresh_copy_with_change, one_field)
            cold_imports(environment)
    return 0


def breakdown(setup: Callable[[int], Path], action: Callable[[Path], None]) -> None:
    """Where one `regenerate (+1 field)` run spends its time: stages, then cProfile."""
    from copier._main import Worker  # private: copier >= 9.10 runs git once per file here

    project = setup(1000)
    with StageTimer() as timer:
        for owner, attribute, stage in STAGES:
            timer.wrap(owner, attribute, stage)
        if hasattr(Worker, "_sync_git_index_executable_bit"):
            timer.wrap(Worker, "_sync_git_index_executable_bit", "copier: `git config` per file")
        start = time.perf_counter()
        action(project)
        total = time.perf_counter() - start
    print(f"\nwhere one 'regenerate (+1 field)' run goes ({total:.2f} s, self time per stage):")
    accounted = 0.0
    for stage, seconds in sorted(timer.seconds.items(), key=lambda item: -item[1]):
        accounted += seconds
        calls = timer.calls[stage]
        print(f"  {stage:<44}{seconds:>7.2f} s {100 * seconds / total:>5.1f}%"
              + (f"  ({calls} calls)" if calls > 1 else ""))
    other = total - accounted
    print(f"  {'other (glue in regenerate)':<44}{other:>7.2f} s "
          f"{100 * other / total:>5.1f}%")

    project = setup(1001)
    profiler = cProfile.Profile()
    profiler.enable()
    action(project)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(10)
    listing = out.getvalue()
    print("\ncProfile of another run, top 10 by cumulative time (the time of the ruff "
          "and git subprocesses shows as waiting in poll):")
    print(listing[listing.find("   ncalls"):].rstrip())
    out.seek(0)
    out.truncate()
    stats.sort_stats("tottime").print_stats(10)
    listing = out.getvalue()
    print("\nsame run, top 10 by own time:")
    print(listing[listing.find("   ncalls"):].rstrip())


def cold_imports(environment: dict[str, str]) -> None:
    """What a fresh `apiforge` process pays before any work: imports, in a subprocess."""
    modules = ("apiforge.cli", "apiforge.project", "apiforge.regenerate", "apiforge.loader",
               "copier", "inflect", "merge3")
    command = [sys.executable, "-X", "importtime", "-c", f"import {', '.join(modules)}"]
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=True)
    top: dict[str, int] = {}
    for line in done.stderr.splitlines():
        # "import time: self [us] | cumulative | imported package"; top level = no indent
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit() and not parts[2].startswith("  "):
            top[parts[2].strip()] = int(parts[1])
    print("\ncold imports of a fresh process (python -X importtime, top-level modules):")
    for module, micros in sorted(top.items(), key=lambda item: -item[1])[:6]:
        print(f"  {module:<44}{micros / 1e6:>7.2f} s")


if __name__ == "__main__":
    sys.exit(main())
