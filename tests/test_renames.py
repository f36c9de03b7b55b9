"""Renames touch only what is the user's: scenario tests written like copier's update
tests (generate, edit as a user, rename, assert exact text and report lines), then the
syntax-aware renamer on its own."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apiforge import project as projects
from apiforge.cli import app
from apiforge.renames import (
    CodeRenames,
    FieldRename,
    Mention,
    OldName,
    _resource_name,
    mentions_in,
    rename_code,
)

SPEC = """\
apiforge: 1
service:
  name: desk
resources:
  agent:
    fields:
      subject: {type: str, max_length: 100, search: true}
      rank: int
"""

runner = CliRunner()


@pytest.fixture
def desk(tmp_path: Path) -> Path:
    spec = tmp_path / "desk.yaml"
    spec.write_text(SPEC)
    projects.new_service("desk", spec_path=spec, database=None, directory=tmp_path)
    return tmp_path / "desk"


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def line_of(text: str, line: str) -> int:
    """The number of the one line of `text` that is `line` once stripped."""
    numbers = [n for n, each in enumerate(text.splitlines(), 1) if each.strip() == line]
    assert len(numbers) == 1, (line, numbers)
    return numbers[0]


def output_lines(output: str) -> list[str]:
    """The CLI's lines with runs of spaces collapsed (rich pads the action column)."""
    return [re.sub(r"\s+", " ", line).strip() for line in output.splitlines()]


# What the user wrote in their hooks module: imports of the generated classes, a hook
# that uses a field, a comment and a string that name the resource, and names of their
# own that merely contain it.
HOOKS_IMPORTS = """\
from fastapi import APIRouter

from desk.lifecycle import Hooks
from desk.models.agent import Agent
"""
USER_IMPORTS = """\
import logging

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from desk.lifecycle import Hooks
from desk.models.agent import Agent
from desk.schemas.agent import AgentRead

log = logging.getLogger(__name__)
agent_limit = 5
"""
HOOKS_CLASS = """\
class AgentHooks(Hooks[Agent]):
    pass
"""
USER_CLASS = """\
class AgentHooks(Hooks[Agent]):
    async def after_create(self, session: AsyncSession, obj: Agent) -> None:
        # Agents are greeted by their subject.
        shown = AgentRead.model_validate(obj)
        log.info("Agents on duty: %s (%s)", obj.subject, shown.subject)
        log.info("limit %s", agent_limit)
"""


def edit_hooks(project: Path) -> Path:
    hooks = project / "src/desk/hooks/agent.py"
    replace(hooks, HOOKS_IMPORTS, USER_IMPORTS)
    replace(hooks, HOOKS_CLASS, USER_CLASS)
    return hooks


ROUTER_EDIT = '''

@router.get("/first", operation_id="first_agent")
async def first(repository: Repository) -> AgentRead | None:
    """The first agent, if any."""
    rows, _total = await repository.read_page(AgentListQuery())
    return rows[0] if rows else None
'''

RENAMED_HOOKS = '''\
"""Business rules and custom routes for staff members: this file is yours.

apiforge created it once and will never change it. Override any hook of
`Hooks` (before_create, after_create, before_update, after_update, before_delete)
and add endpoints to `router`; both are already wired into the generated code.
"""

import logging

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from desk.lifecycle import Hooks
from desk.models.staff_member import StaffMember
from desk.schemas.staff_member import StaffMemberRead

log = logging.getLogger(__name__)
agent_limit = 5


class StaffMemberHooks(Hooks[StaffMember]):
    async def after_create(self, session: AsyncSession, obj: StaffMember) -> None:
        # Agents are greeted by their subject.
        shown = StaffMemberRead.model_validate(obj)
        log.info("Agents on duty: %s (%s)", obj.subject, shown.subject)
        log.info("limit %s", agent_limit)


hooks = StaffMemberHooks()

# Custom endpoints, mounted under the same prefix as the generated ones.
router = APIRouter()
'''

HOOKS_RENAMED = (
    "9 identifiers renamed (Agent → StaffMember ×3, AgentHooks → StaffMemberHooks ×2, "
    "AgentRead → StaffMemberRead ×2, desk.models.agent → desk.models.staff_member, "
    "desk.schemas.agent → desk.schemas.staff_member)"
)
HOOKS_MENTIONS = [
    "look src/desk/hooks/staff_member.py:18 agent_limit = 5",
    "look src/desk/hooks/staff_member.py:23 # Agents are greeted by their subject.",
    'look src/desk/hooks/staff_member.py:25 log.info("Agents on duty: %s (%s)", '
    "obj.subject, shown.subject)",
    'look src/desk/hooks/staff_member.py:26 log.info("limit %s", agent_limit)',
]


def test_rename_resource_renames_identifiers_only_and_lists_what_is_left(desk: Path) -> None:
    edit_hooks(desk)
    router = desk / "src/desk/routers/agent.py"
    router.write_text(router.read_text() + ROUTER_EDIT)
    before = {path: path.read_text() for path in desk.rglob("*") if path.is_file()}

    dry = runner.invoke(
        app, ["rename-resource", "agent", "staff_member", "--project", str(desk), "--dry-run"]
    )

    assert dry.exit_code == 0, dry.output
    assert {path: path.read_text() for path in desk.rglob("*") if path.is_file()} == before
    dry_lines = output_lines(dry.output)
    hooks_row = next(line for line in dry_lines if "src/desk/hooks/staff_member.py │" in line)
    assert hooks_row.startswith("│ update │ src/desk/hooks/staff_member.py │ moved from"), hooks_row
    assert f"rename src/desk/hooks/staff_member.py {HOOKS_RENAMED}" in dry_lines
    for mention in HOOKS_MENTIONS:
        assert mention in dry_lines, (mention, dry_lines)

    result = runner.invoke(
        app, ["rename-resource", "agent", "staff_member", "--project", str(desk)]
    )

    assert result.exit_code == 0, result.output
    assert not (desk / "src/desk/hooks/agent.py").exists()
    assert (desk / "src/desk/hooks/staff_member.py").read_text() == RENAMED_HOOKS
    moved_router = (desk / "src/desk/routers/staff_member.py").read_text()
    assert moved_router.endswith(
        ROUTER_EDIT.replace("AgentRead", "StaffMemberRead").replace(
            "AgentListQuery", "StaffMemberListQuery"
        )
    )
    lines = output_lines(result.output)
    assert (
        "update src/desk/hooks/staff_member.py moved from src/desk/hooks/agent.py; "
        "9 identifiers renamed"
    ) in lines
    assert f"rename src/desk/hooks/staff_member.py {HOOKS_RENAMED}" in lines
    assert (
        "merge src/desk/routers/staff_member.py moved from src/desk/routers/agent.py; "
        "2 identifiers renamed"
    ) in lines
    assert (
        "rename src/desk/routers/staff_member.py 2 identifiers renamed "
        "(AgentListQuery → StaffMemberListQuery, AgentRead → StaffMemberRead)"
    ) in lines
    router_mentions = [
        f"look src/desk/routers/staff_member.py:{line_of(moved_router, text)} {text}"
        for text in (
            '@router.get("/first", operation_id="first_agent")',
            '"""The first agent, if any."""',
        )
    ]
    assert [line for line in lines if line.startswith("look ")] == [
        *HOOKS_MENTIONS,
        *router_mentions,
    ]
    assert any("6 mentions of the old names remain" in line for line in lines), lines
    assert projects.check(desk).clean


FIELD_VALIDATOR = '''
    @field_validator("subject")
    @classmethod
    def no_shouting(cls, value: str) -> str:
        """A validator the user added to a generated schema."""
        if value.isupper():
            raise ValueError("no shouting")
        return value
'''

FIELD_HOOKS_CLASS = """\
class AgentHooks(Hooks[Agent]):
    async def before_create(self, session: AsyncSession, values: dict[str, Any]) -> None:
        values["subject"] = values["subject"].strip()

    async def after_update(self, session: AsyncSession, obj: Agent) -> None:
        created = AgentCreate(subject=obj.subject, rank=obj.rank)
        notice = Notice()
        notice.subject = "changed: " + created.subject
"""
FIELD_HOOKS_IMPORTS = """\
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from desk.lifecycle import Hooks
from desk.models.agent import Agent
from desk.schemas.agent import AgentCreate


class Notice:
    subject = ""
"""


STALE = '@field_validator("subject") (`subject` is now `topic`; pydantic refuses this)'


def test_rename_field_renames_unambiguous_uses_and_lists_the_validator(desk: Path) -> None:
    schema = desk / "src/desk/schemas/agent.py"
    replace(schema, "\n\nclass AgentUpdate(", FIELD_VALIDATOR + "\n\nclass AgentUpdate(")
    hooks = desk / "src/desk/hooks/agent.py"
    replace(hooks, HOOKS_IMPORTS, FIELD_HOOKS_IMPORTS)
    replace(hooks, HOOKS_CLASS, FIELD_HOOKS_CLASS)

    result = runner.invoke(
        app, ["rename-field", "agent", "subject", "topic", "--project", str(desk)]
    )

    assert result.exit_code == 0, result.output
    assert hooks.read_text().endswith(
        """\
class AgentHooks(Hooks[Agent]):
    async def before_create(self, session: AsyncSession, values: dict[str, Any]) -> None:
        values["subject"] = values["subject"].strip()

    async def after_update(self, session: AsyncSession, obj: Agent) -> None:
        created = AgentCreate(topic=obj.topic, rank=obj.rank)
        notice = Notice()
        notice.subject = "changed: " + created.topic


hooks = AgentHooks()

# Custom endpoints, mounted under the same prefix as the generated ones.
router = APIRouter()
"""
    )
    schema_text = schema.read_text()
    assert FIELD_VALIDATOR in schema_text  # a string: listed, never rewritten
    assert "    topic: Annotated[str, Field(max_length=100)]\n" in schema_text
    lines = output_lines(result.output)
    assert "update src/desk/hooks/agent.py 3 identifiers renamed" in lines
    assert "rename src/desk/hooks/agent.py 3 identifiers renamed (subject → topic ×3)" in lines
    hooks_text = hooks.read_text()
    validator = line_of(schema_text, '@field_validator("subject")')
    assert [line for line in lines if line.startswith("look ")] == [
        f"look src/desk/hooks/agent.py:{line_of(hooks_text, text)} {text}"
        for text in (
            'subject = ""',
            'values["subject"] = values["subject"].strip()',
            'notice.subject = "changed: " + created.topic',
        )
    ] + [f"look src/desk/schemas/agent.py:{validator} {STALE}"]
    assert any("4 mentions of the old names remain" in line for line in lines), lines

    # pydantic refuses a validator of a field the class no longer has: check fails on it.
    checked = runner.invoke(app, ["check", "--project", str(desk)])
    assert checked.exit_code == 1, checked.output
    assert f"stale src/desk/schemas/agent.py:{validator} {STALE}" in output_lines(checked.output)
    as_json = runner.invoke(app, ["check", "--project", str(desk), "--json"])
    assert json.loads(as_json.stdout)["stale_validators"] == [
        {"path": "src/desk/schemas/agent.py", "line": validator, "text": STALE}
    ]
    replace(schema, '@field_validator("subject")', '@field_validator("topic")')
    assert projects.check(desk).clean


# ------------------------------------------------------------- the renamer on its own

AGENT_RENAMES = CodeRenames(
    names={"Agent": "StaffMember", "AgentCreate": "StaffMemberCreate"},
    modules={"desk.models.agent": "desk.models.staff_member"},
    fields=(FieldRename(frozenset({"Agent", "AgentCreate"}), "subject", "topic"),),
    old_names=(_resource_name("agent", "agents", "staff_member", "staff_members"),),
)


def test_only_identifiers_are_renamed_never_strings_comments_or_longer_names() -> None:
    code = """\
import desk.models.agent
from ..models.agent import Agent as Model  # an Agent, imported relatively
from other import AgentSmith

agent = desk.models.agent.Agent()
print("Agent", f"{Agent!r} agents", AgentSmith, agent.subject)
"""
    result = rename_code(code, AGENT_RENAMES)
    assert (
        result.text
        == """\
import desk.models.staff_member
from ..models.staff_member import StaffMember as Model  # an Agent, imported relatively
from other import AgentSmith

agent = desk.models.staff_member.StaffMember()
print("Agent", f"{StaffMember!r} agents", AgentSmith, agent.subject)
"""
    )
    assert result.renamed == (
        ("Agent", "StaffMember", 3),
        ("desk.models.agent", "desk.models.staff_member", 2),
        ("models.agent", "models.staff_member", 1),
    )


def test_a_field_is_renamed_only_where_the_object_is_certainly_the_resources() -> None:
    code = """\
class AgentCreate(BaseModel):
    def shout(self) -> str:
        return self.subject.upper()


def handle(obj: Agent | None, email: Message, rows: list[Agent]) -> None:
    made = AgentCreate(subject=email.subject)
    again = AgentCreate.model_validate(obj)
    again = other()
    query = select(Agent).where(Agent.subject == rows[0].subject)
    print(obj.subject, made.subject, again.subject, Other(subject=1))
"""
    result = rename_code(code, AGENT_RENAMES)
    assert result.text == code.replace("self.subject", "self.topic").replace(
        "AgentCreate(subject=", "AgentCreate(topic="
    ).replace("Agent.subject ==", "Agent.topic ==").replace(
        "print(obj.subject, made.subject", "print(obj.topic, made.topic"
    ).replace("Agent", "StaffMember")
    assert ("subject", "topic", 5) in result.renamed


def test_code_that_does_not_parse_is_left_alone_and_said_so() -> None:
    code = "<<<<<<< yours\nx: Agent\n=======\ny: Agent\n>>>>>>> generated\n"
    result = rename_code(code, AGENT_RENAMES)
    assert result.text == code
    assert result.error == "not valid Python (the parser stopped at line 2): nothing renamed in it"


@pytest.mark.parametrize(
    ("line", "listed"),
    [
        ('log.info("Agents on duty")', True),
        ("# an agent's notes", True),
        ("AGENT_LIMIT = 5", True),
        ("new_agent = 1", True),
        ("class MyAgentRead: ...", True),
        ("reagent = agentic = agenda = 1", False),
        ("staff_member = StaffMember()", False),
    ],
)
def test_what_counts_as_a_mention_of_the_old_name(line: str, listed: bool) -> None:
    found = mentions_in("hooks.py", f"{line}\n", None, AGENT_RENAMES)
    assert found == ([Mention("hooks.py", 1, line)] if listed else [])


def test_a_new_name_that_contains_the_old_one_is_not_a_mention() -> None:
    renames = CodeRenames(
        old_names=(_resource_name("agent", "agents", "agent_profile", "agent_profiles"),)
    )
    text = "x = AgentProfile()\ny = agent_profiles\nz = Agent()\n"
    assert mentions_in("a.py", text, None, renames) == [Mention("a.py", 3, "z = Agent()")]


def test_a_hooks_module_that_does_not_parse_moves_as_it_is_and_is_listed(desk: Path) -> None:
    hooks = desk / "src/desk/hooks/agent.py"
    replace(hooks, "    pass\n", "    pass\n\nif True\n    broken = Agent\n")
    replace(hooks, '"""Business rules', '"""My own docstring. Business rules')
    before = hooks.read_text()

    result = runner.invoke(
        app, ["rename-resource", "agent", "staff_member", "--project", str(desk)]
    )

    assert result.exit_code == 0, result.output
    assert (desk / "src/desk/hooks/staff_member.py").read_text() == before
    lines = output_lines(result.output)
    where = "look src/desk/hooks/staff_member.py"
    assert [line for line in lines if line.startswith("look ")] == [
        f"{where} not valid Python (the parser stopped at line 19): nothing renamed in it",
        f'{where}:1 """My own docstring. Business rules and custom routes for agents: '
        "this file is yours.",
        f"{where}:11 from desk.models.agent import Agent",
        f"{where}:14 class AgentHooks(Hooks[Agent]):",
        f"{where}:18 broken = Agent",
        f"{where}:21 hooks = AgentHooks()",
    ]


def test_a_moved_hooks_module_keeps_the_users_docstring(desk: Path) -> None:
    hooks = desk / "src/desk/hooks/agent.py"
    replace(hooks, '"""Business rules and custom routes for agents', '"""Our agents')

    result = runner.invoke(
        app, ["rename-resource", "agent", "staff_member", "--project", str(desk)]
    )

    assert result.exit_code == 0, result.output
    moved = (desk / "src/desk/hooks/staff_member.py").read_text()
    assert moved.startswith('"""Our agents: this file is yours.\n')
    assert "class StaffMemberHooks(Hooks[StaffMember]):" in moved
    assert 'look src/desk/hooks/staff_member.py:1 """Our agents: this file is yours.' in (
        output_lines(result.output)
    )


def test_a_module_of_the_users_own_follows_the_rename(desk: Path) -> None:
    own = desk / "src/desk/reports.py"
    own.write_text(
        "from desk.schemas.agent import AgentRead\n"
        "\n"
        "\n"
        "def headline(agent: AgentRead) -> str:\n"
        '    return f"Agent {agent.subject}"\n'
    )

    dry = runner.invoke(
        app, ["rename-resource", "agent", "staff_member", "--project", str(desk), "--dry-run"]
    )
    assert dry.exit_code == 0, dry.output
    row = next(line for line in output_lines(dry.output) if "src/desk/reports.py │" in line)
    assert row.startswith("│ update │ src/desk/reports.py │ your own module; 3 identifiers"), row
    result = runner.invoke(
        app, ["rename-resource", "agent", "staff_member", "--project", str(desk)]
    )

    assert result.exit_code == 0, result.output
    assert own.read_text() == (
        "from desk.schemas.staff_member import StaffMemberRead\n"
        "\n"
        "\n"
        "def headline(agent: StaffMemberRead) -> str:\n"
        '    return f"Agent {agent.subject}"\n'
    )
    lines = output_lines(result.output)
    assert "update src/desk/reports.py your own module; 3 identifiers renamed" in lines
    assert (
        "rename src/desk/reports.py 3 identifiers renamed "
        "(AgentRead → StaffMemberRead ×2, desk.schemas.agent → desk.schemas.staff_member)"
    ) in lines
    assert [line for line in lines if line.startswith("look ")] == [
        "look src/desk/reports.py:4 def headline(agent: StaffMemberRead) -> str:",
        'look src/desk/reports.py:5 return f"Agent {agent.subject}"',
    ]
    assert projects.check(desk).clean


USER_TEST = """

def test_two_agents_are_listed(client: TestClient) -> None:
    first, second = create_agent(client), create_agent(client, **agent_payload(client))
    assert client.get(URL).json()["total"] == 2, (first, second)
"""


def test_a_users_test_follows_the_names_generated_elsewhere(desk: Path) -> None:
    tests = desk / "tests/test_agent.py"
    tests.write_text(tests.read_text() + USER_TEST)

    result = runner.invoke(
        app, ["rename-resource", "agent", "staff_member", "--project", str(desk)]
    )

    assert result.exit_code == 0, result.output
    moved = (desk / "tests/test_staff_member.py").read_text()
    assert moved.endswith(
        USER_TEST.replace("create_agent", "create_staff_member").replace(
            "agent_payload", "staff_member_payload"
        )
    )
    assert (
        "rename tests/test_staff_member.py 3 identifiers renamed "
        "(agent_payload → staff_member_payload, create_agent → create_staff_member ×2)"
    ) in output_lines(result.output)


def test_a_renamed_field_is_looked_for_only_in_files_about_its_resource() -> None:
    renames = CodeRenames(
        old_names=(
            OldName(
                re.compile(r"(?<![A-Za-z0-9_])subject(?![A-Za-z0-9_])"),
                related=re.compile(r"\b(?:Agent|agents?)\b"),
                paths=frozenset({"src/desk/hooks/agent.py"}),
            ),
        )
    )
    line = 'payload = {"subject": "hi"}\n'
    about = 'client.post("/api/v1/agents", json=payload)\n'
    assert mentions_in("src/desk/hooks/agent.py", line, None, renames) == [
        Mention("src/desk/hooks/agent.py", 1, line.strip())
    ]
    assert mentions_in("tests/test_mine.py", line + about, None, renames) == [
        Mention("tests/test_mine.py", 1, line.strip())
    ]
    assert mentions_in("src/desk/mail.py", line + "send(payload)\n", None, renames) == []
