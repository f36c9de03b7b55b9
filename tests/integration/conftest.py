"""Fixtures that generate every example service, install it and run commands in it.

How the environments work (and why)
-----------------------------------
Installing FastAPI, SQLAlchemy, mypy & co. takes a minute, so it happens once:

* **Shared venv** (``<cache>/venvs/<key>``, cache = ``$APIFORGE_TEST_CACHE`` or
  ``<repo>/.cache``). It holds the *dependencies only*: the union of every generated
  project's ``dependencies``, its ``dev``/``postgresql``/``mysql`` extras and its
  ``build-system.requires``, read from the generated ``pyproject.toml`` files, plus
  ``TEST_REQUIREMENTS`` (schemathesis, which our checks run against the services). ``key``
  hashes that list (plus the Python version), so a generator change that alters
  dependencies gets a new venv and an unchanged one reuses the old venv on later runs.
  It is built under an exclusive ``fcntl.flock`` (pytest-xdist workers wait for the
  one that builds it) and marked complete only at the very end, so an interrupted
  build is redone. Once complete it is never written to again. A venv no run has
  used for a week is deleted.

* **Overlay venv per generated project** (in pytest's tmp dir, one per worker and
  example). The generated projects are *not* installed into the shared venv: an
  editable install there would point at one worker's tmp dir, which another worker
  or a later run would then import from (or find gone). Instead each project gets a
  tiny ``python -m venv --without-pip`` of its own whose site-packages pulls in the
  shared venv's (a ``.pth`` calling ``site.addsitedir``), its console scripts
  (alembic, mypy, pytest, ruff, ...) are copied from the shared venv with their
  shebang pointed at the overlay's python, and the project is installed into it with
  ``pip install --no-deps --no-build-isolation -e`` -- a real editable install of
  the project by its own build backend, in about a second. The overlay lives and
  dies with the tmp dir it points into, so nothing can go stale.

Every example is generated once per test run, by the first xdist worker that needs
it (under a lock); each worker then works in its own copy. All examples are
generated before the shared venv is looked up, since its key depends on all of them.

Each database-backed check gets a fresh database: an SQLite file in its tmp dir, or
a uniquely named database on the local PostgreSQL / MariaDB server (see
``tests/dbservers.py``), dropped afterwards. A generated test suite is handed that
database as ``DATABASE_URL`` -- the developer's database, which it must leave alone: it
runs on ``<name>_test`` (a file in its temp folder for SQLite), and
``run_generated_suite`` reports any test database or temp file the run left behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

TESTS_DIR = Path(__file__).resolve().parents[1]
if str(TESTS_DIR) not in sys.path:  # for `import dbservers`, whatever the import mode
    sys.path.insert(0, str(TESTS_DIR))

import dbservers  # noqa: E402

REPO = TESTS_DIR.parent
CLI_DIR = REPO / "cli"
# APIFORGE_TEST_EXAMPLES points the suite at another folder of specs (e.g. while debugging).
EXAMPLES_DIR = Path(os.environ.get("APIFORGE_TEST_EXAMPLES") or REPO / "examples").resolve()
REQUIRED_EXAMPLES = ("minimal", "bookstore")
EXTRAS = ("dev", "postgresql", "mysql")
# Tools our own checks run in a generated project's venv (test_schemathesis.py runs
# `st`), installed into the shared venv with the projects' dependencies and part of its key.
TEST_REQUIREMENTS = ("schemathesis>=4.32,<5",)
# Bump when the way the shared venv is built changes, to force a rebuild.
HARNESS_VERSION = "1"
UNUSED_VENV_DAYS = 7  # a shared venv no run used for this long is deleted
OUTPUT_TAIL = 20_000  # characters of a failing command's output shown in the report

# Time limits for the commands run in a generated project (seconds).
TIMEOUT_GENERATE = 180
TIMEOUT_VENV = 1200
TIMEOUT_INSTALL = 300
TIMEOUT_CHECK = 600
TIMEOUT_SUITE = 1200


def cache_dir() -> Path:
    return Path(os.environ.get("APIFORGE_TEST_CACHE") or REPO / ".cache").resolve()


def example_specs() -> list[Path]:
    return sorted(EXAMPLES_DIR.glob("*.yaml"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Session scope groups the tests by example, so each worker sets an example up once.
    if "example" in metafunc.fixturenames:
        names = [spec.stem for spec in example_specs()]
        chosen = metafunc.definition.get_closest_marker("examples")
        if chosen is not None:  # @pytest.mark.examples("minimal"): only those
            names = [name for name in names if name in chosen.args]
        metafunc.parametrize("example", names, scope="session")


# --- running commands ---------------------------------------------------------------


@dataclass
class CommandResult:
    argv: list[str]
    cwd: Path
    returncode: int | None  # None: timed out
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def report(self, what: str) -> str:
        status = "timed out" if self.returncode is None else f"exit code {self.returncode}"
        parts = [
            f"{what}: {status} after {self.seconds:.1f}s",
            f"  command: {' '.join(self.argv)}",
            f"  cwd:     {self.cwd}",
        ]
        for name, text in (("stdout", self.stdout), ("stderr", self.stderr)):
            text = text.rstrip()
            if not text:
                continue
            if len(text) > OUTPUT_TAIL:
                text = f"[... {len(text) - OUTPUT_TAIL} characters cut ...]\n" + text[-OUTPUT_TAIL:]
            parts.append(f"--- {name} ---\n{text}")
        return "\n".join(parts)


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
) -> CommandResult:
    args = [os.fspath(a) for a in argv]
    started = time.monotonic()
    try:
        done = subprocess.run(
            args,
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        return CommandResult(
            args, cwd, None, _text(exc.stdout), _text(exc.stderr), time.monotonic() - started
        )
    return CommandResult(
        args, cwd, done.returncode, done.stdout, done.stderr, time.monotonic() - started
    )


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")


# A developer's own databases, for one, must never reach a generated project's commands.
NOT_PASSED_ON = {
    "VIRTUAL_ENV", "DATABASE_URL", "TEST_DATABASE_URL", "PIP_REQUIRE_VIRTUALENV", "CONDA_PREFIX"
}  # fmt: skip


def clean_environ() -> dict[str, str]:
    """This process's environment minus what would leak into a nested tool run."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "PYTHON", "COV_", "MYPY")) and key not in NOT_PASSED_ON
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


# --- generating the examples --------------------------------------------------------


@dataclass
class Generation:
    """The outcome of `apiforge new-service` for one example spec."""

    example: str
    spec: Path
    root: Path | None = None  # the generated project, when there is a usable one
    pyproject: dict[str, object] = field(default_factory=dict)
    problem: str | None = None  # why there is no usable project

    @property
    def package(self) -> str:
        assert self.root is not None
        packages = sorted(
            p.name for p in (self.root / "src").iterdir() if (p / "__init__.py").is_file()
        )
        assert len(packages) == 1, f"expected one package under {self.root}/src, found {packages}"
        return packages[0]


def service_name(spec: Path) -> str:
    """`service.name` from a spec, falling back to the file's stem (a cheap YAML read)."""
    try:
        from ruamel.yaml import YAML

        data = YAML(typ="safe").load(spec.read_text(encoding="utf-8"))
        name = data["service"]["name"]
        if isinstance(name, str) and name:
            return name
    except Exception:  # the generator reports bad specs; here any name will do
        pass
    return spec.stem


def generate(spec: Path, dest: Path) -> Generation:
    """Run `apiforge new-service` for `spec`, creating dest/NAME."""
    name = service_name(spec)
    env = clean_environ()
    env["PYTHONPATH"] = str(CLI_DIR)  # the apiforge under test, installed or not
    dest.mkdir(parents=True, exist_ok=True)
    result = run(
        [sys.executable, "-m", "apiforge", "new-service", name, "--spec", spec,
         "--dir", dest, "--no-input"],
        cwd=dest,
        env=env,
        timeout=TIMEOUT_GENERATE,
    )  # fmt: skip
    if not result.ok:
        report = result.report(f"apiforge new-service for examples/{spec.name}")
        return Generation(spec.stem, spec, problem=report)
    if not (dest / name / "pyproject.toml").is_file():
        return Generation(
            spec.stem,
            spec,
            problem=f"apiforge new-service exited 0 but {dest / name}/pyproject.toml "
            f"does not exist; {dest} holds {sorted(p.name for p in dest.iterdir())}",
        )
    return load_project(spec, dest / name)


def load_project(spec: Path, root: Path) -> Generation:
    try:
        pyproject = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return Generation(spec.stem, spec, problem=f"{root}/pyproject.toml: {exc}")
    return Generation(spec.stem, spec, root, pyproject)


def generate_once_per_run(specs: Sequence[Path], run_dir: Path, own: Path) -> dict[str, Generation]:
    """Generate every spec once per test run (whichever worker comes first does it, under
    a lock) and give the calling worker a copy of its own to run commands in."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for spec in specs:
            record = run_dir / f"{spec.stem}.json"
            if not record.is_file():
                generation = generate(spec, run_dir / spec.stem)
                where = generation.root and generation.root.relative_to(run_dir / spec.stem)
                record.write_text(json.dumps({"problem": generation.problem, "root": str(where)}))
    generations = {}
    for spec in specs:
        outcome = json.loads((run_dir / f"{spec.stem}.json").read_text())
        if outcome["problem"] is not None:
            generations[spec.stem] = Generation(spec.stem, spec, problem=outcome["problem"])
            continue
        shutil.copytree(run_dir / spec.stem, own / spec.stem, symlinks=True)
        generations[spec.stem] = load_project(spec, own / spec.stem / outcome["root"])
    return generations


def install_requirements(generation: Generation) -> list[str]:
    """What the shared venv needs for one project: deps, the extras, build requirements."""
    pyproject = generation.pyproject
    project = pyproject.get("project", {})
    assert isinstance(project, dict)
    own = canonicalize_name(str(project.get("name", "")))
    requirements: list[str] = list(project.get("dependencies", []))
    optional = project.get("optional-dependencies", {})
    assert isinstance(optional, dict)
    for extra in EXTRAS:
        requirements += optional.get(extra, [])
    build = pyproject.get("build-system", {})
    assert isinstance(build, dict)
    requirements += build.get("requires", [])
    # A project's extra may name the project itself ("svc[postgresql]"); its own
    # extras are all in the list already, and the project is not a dependency.
    return [r for r in requirements if canonicalize_name(Requirement(r).name) != own]


# --- the shared venv ----------------------------------------------------------------


@dataclass(frozen=True)
class SharedVenv:
    path: Path
    site_packages: Path

    @property
    def bin(self) -> Path:
        return self.path / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"


def venv_key(requirements: Sequence[str]) -> str:
    material = {
        "harness": HARNESS_VERSION,
        "python": sys.version,
        "base": sys.base_prefix,
        "requirements": sorted(set(requirements)),
    }
    digest = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
    return digest[:16]


def purelib(python: Path) -> Path:
    out = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return Path(out.stdout.strip())


def ensure_shared_venv(requirements: Sequence[str], projects: Sequence[Generation]) -> SharedVenv:
    """The venv holding `requirements`: reused when it exists, else built (once, locked).

    `projects` are asked for their backend's dynamic editable-build requirements
    (hatchling wants `editables`), which pip's --no-build-isolation won't install.
    """
    key = venv_key(requirements)
    venvs = cache_dir() / "venvs"
    venvs.mkdir(parents=True, exist_ok=True)
    path = venvs / key
    marker = path / ".apiforge-complete"
    log = venvs / f"{key}.log"
    with (venvs / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not marker.is_file():
            _build_venv(path, sorted(set(requirements)), projects, log)
            marker.write_text(json.dumps(sorted(set(requirements)), indent=1) + "\n")
        os.utime(marker)  # "last used", for prune_unused_venvs
    prune_unused_venvs(venvs, keep=key)
    return SharedVenv(path, purelib(path / "bin" / "python"))


def prune_unused_venvs(venvs: Path, *, keep: str) -> None:
    """Delete shared venvs (about 250 MB each) and their mypy caches that no run has
    used for UNUSED_VENV_DAYS; the generator's dependencies change now and then."""
    too_old = time.time() - UNUSED_VENV_DAYS * 86400
    for path in venvs.iterdir():
        if not path.is_dir() or path.name == keep:
            continue
        marker = path / ".apiforge-complete"
        if (marker if marker.is_file() else path).stat().st_mtime > too_old:
            continue
        with (venvs / f"{path.name}.lock").open("w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # being built or checked right now
                continue
            shutil.rmtree(path, ignore_errors=True)
            shutil.rmtree(cache_dir() / "mypy" / path.name, ignore_errors=True)
            (venvs / f"{path.name}.log").unlink(missing_ok=True)


def _build_venv(
    path: Path, requirements: list[str], projects: Sequence[Generation], log: Path
) -> None:
    if path.exists():  # left behind by an interrupted build
        shutil.rmtree(path)
    env = clean_environ()
    python = path / "bin" / "python"
    pip_install: list[str | os.PathLike[str]] = [python, "-m", "pip", "install", "--quiet"]
    with log.open("w") as out:

        def step(argv: Sequence[str | os.PathLike[str]], cwd: Path = REPO) -> CommandResult:
            result = run(argv, cwd=cwd, env=env, timeout=TIMEOUT_VENV)
            out.write(result.report("step") + "\n\n")
            if not result.ok:
                shutil.rmtree(path, ignore_errors=True)
                raise RuntimeError(result.report(f"building the shared venv {path} (log: {log})"))
            return result

        step([sys.executable, "-m", "venv", path])
        step([*pip_install, *requirements])
        dynamic: set[str] = set()
        for generation in projects:
            assert generation.root is not None
            build = generation.pyproject.get("build-system", {})
            assert isinstance(build, dict)
            backend = str(build.get("build-backend", "setuptools.build_meta:__legacy__"))
            asked = step([python, "-c", _EDITABLE_REQUIRES, backend], cwd=generation.root)
            dynamic.update(json.loads(asked.stdout.strip().splitlines()[-1]))
        if dynamic:
            step([*pip_install, *sorted(dynamic)])


# Asks a PEP 517 backend (argv[1], "module[:object]") what an editable build needs.
_EDITABLE_REQUIRES = """
import importlib, json, sys
module, _, attr = sys.argv[1].partition(":")
backend = importlib.import_module(module)
for part in filter(None, attr.split(".")):
    backend = getattr(backend, part)
hook = getattr(backend, "get_requires_for_build_editable", None)
print(json.dumps(list(hook()) if hook else []))
"""


# --- the per-project overlay venv ---------------------------------------------------


@dataclass(frozen=True)
class Project:
    """A generated project installed in its own overlay venv, ready for commands."""

    example: str
    root: Path
    package: str
    venv: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def env(self, database_url: str | None = None) -> dict[str, str]:
        env = clean_environ()
        env["VIRTUAL_ENV"] = str(self.venv)
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        if database_url is not None:
            env["DATABASE_URL"] = database_url
        # mypy's cache of the third-party packages (in the shared venv, stable paths)
        # is reused across runs: one directory per example, so no two mypy processes
        # share one; the project's own modules are rechecked as their paths differ.
        env["MYPY_CACHE_DIR"] = str(cache_dir() / "mypy" / self.venv_key / self.example)
        return env

    @property
    def venv_key(self) -> str:
        return (self.venv / ".shared-key").read_text().strip()

    def run(
        self, *argv: str | os.PathLike[str], database_url: str | None = None, timeout: float
    ) -> CommandResult:
        return run(argv, cwd=self.root, env=self.env(database_url), timeout=timeout)


def run_generated_suite(
    project: Project,
    database_url: str,
    tmp: Path,
    *pytest_args: str,
    env: Mapping[str, str] | None = None,
) -> tuple[CommandResult, list[str]]:
    """Run a project's own tests with DATABASE_URL naming `database_url`, a database they
    must leave alone; return the outcome and what the run left behind: test databases
    (``<name>..._test``) on the server and files in its temp folder (``tmp/tmpdir``,
    empty before). pytest's own tmp_path directories go to ``tmp/basetemp`` instead:
    pytest keeps the last few on purpose."""
    temp = tmp / "tmpdir"
    temp.mkdir()
    result = run(
        [project.python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"--basetemp={tmp / 'basetemp'}", *pytest_args],
        cwd=project.root,
        env={**project.env(database_url), "TMPDIR": str(temp), **(env or {})},
        timeout=TIMEOUT_SUITE,
    )  # fmt: skip
    left = [str(path) for path in sorted(temp.rglob("*"))]
    return result, left + leftover_test_databases(database_url)


def leftover_test_databases(database_url: str) -> list[str]:
    """Databases named ``<database_url's name>..._test`` on its server."""
    scheme, _, rest = database_url.partition("://")
    if scheme.startswith("sqlite"):
        return []
    server = dbservers.POSTGRESQL if scheme.startswith("postgresql") else dbservers.MARIADB
    name = rest.rpartition("/")[2].partition("?")[0]
    return [
        f"{server.label} database {found}"
        for found in server.database_names()
        if found.startswith(name) and found.endswith("_test")
    ]


def make_overlay(shared: SharedVenv, overlay: Path) -> None:
    run_ok(
        [sys.executable, "-m", "venv", "--without-pip", overlay],
        what=f"creating the venv {overlay}", cwd=overlay.parent, timeout=120,
    )  # fmt: skip
    site = purelib(overlay / "bin" / "python")
    # `import` lines of a .pth file run at start-up; addsitedir also reads the shared
    # venv's own .pth files.
    (site / "_apiforge_shared_venv.pth").write_text(
        f"import site; site.addsitedir({str(shared.site_packages)!r})\n"
    )
    (overlay / ".shared-key").write_text(shared.path.name + "\n")
    shared_python = str(shared.path / "bin" / "python")
    for entry in sorted(shared.bin.iterdir()):
        target = overlay / "bin" / entry.name
        if target.exists() or target.is_symlink() or entry.name.startswith(("python", "activate")):
            continue
        head = entry.read_bytes()[:512]
        if head.startswith(b"#!"):
            first, _, rest = entry.read_text(errors="surrogateescape").partition("\n")
            if re.fullmatch(r"#!\s*" + re.escape(shared_python) + r"\d*(\.\d+)?\s*", first):
                target.write_text(f"#!{overlay / 'bin' / 'python'}\n{rest}",
                                  errors="surrogateescape")  # fmt: skip
                target.chmod(0o755)
                continue
        target.symlink_to(entry)  # a native binary such as ruff's


def install_project(root: Path, shared: SharedVenv, overlay: Path, *, example: str) -> Project:
    """A generated project, installed editable into a new overlay venv of the shared one."""
    make_overlay(shared, overlay)
    run_ok(
        [overlay / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-deps",
         "--no-build-isolation", "-e", root],
        what=f"installing {root} (pip install --no-deps -e)", cwd=root, timeout=TIMEOUT_INSTALL,
    )  # fmt: skip
    package = sorted(p.name for p in (root / "src").iterdir() if (p / "__init__.py").is_file())
    return Project(example, root, package[0], overlay)


def run_ok(argv: Sequence[str | os.PathLike[str]], *, what: str, cwd: Path, timeout: float,
           env: Mapping[str, str] | None = None) -> CommandResult:  # fmt: skip
    result = run(argv, cwd=cwd, env=env or clean_environ(), timeout=timeout)
    if not result.ok:
        raise RuntimeError(result.report(what))
    return result


# --- fixtures -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def generations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Generation]:
    """Every example, generated once per run; the shared venv's key needs them all."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist a worker's basetemp is <the run's basetemp>/popen-gwN: its parent
    # belongs to this run alone, and all of the run's workers share it.
    run_dir = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return generate_once_per_run(
        example_specs(), run_dir / "apiforge-generated", tmp_path_factory.mktemp("projects")
    )


@pytest.fixture(scope="session")
def shared_venv(generations: dict[str, Generation]) -> SharedVenv:
    usable = [g for g in generations.values() if g.problem is None]
    if not usable:
        pytest.fail("no example generated a usable project, so there is nothing to install")
    requirements = sorted(
        {r for g in usable for r in install_requirements(g)} | set(TEST_REQUIREMENTS)
    )
    try:
        return ensure_shared_venv(requirements, usable)
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def generation(example: str, generations: dict[str, Generation]) -> Generation:
    return generations[example]


@pytest.fixture(scope="session")
def project(
    generation: Generation, shared_venv: SharedVenv, tmp_path_factory: pytest.TempPathFactory
) -> Project:
    """The example's generated project, installed editable into its own overlay venv."""
    if generation.problem is not None:
        pytest.fail(
            f"examples/{generation.spec.name} did not generate (see test_generates):\n"
            + generation.problem,
            pytrace=False,
        )
    assert generation.root is not None
    overlay = tmp_path_factory.mktemp(f"venv-{generation.example}")
    try:
        make_overlay(shared_venv, overlay)
        run_ok(
            [overlay / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-deps",
             "--no-build-isolation", "-e", generation.root],
            what=f"installing {generation.root} (pip install --no-deps -e)",
            cwd=generation.root, timeout=TIMEOUT_INSTALL,
        )  # fmt: skip
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    return Project(generation.example, generation.root, generation.package, overlay)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind (skipped when its server is not reachable)."""
    kind: str = request.param
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    server = dbservers.SERVERS[kind]
    if not server.available():
        pytest.skip(server.skip_reason)
    label = request.node.callspec.params.get("example", "test")
    with dbservers.temporary_database(server, label) as url:
        yield url
