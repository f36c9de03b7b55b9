"""The three-way merge: the decision table, and properties over random edits (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from apiforge.merge import GENERATED, YOURS, create_once, merge_file

BASE = "one\ntwo\nthree\nfour\nfive\n"


def test_untouched_files_are_replaced() -> None:
    outcome = merge_file(BASE, BASE, BASE.replace("three", "THREE"))
    assert (outcome.action, outcome.content) == ("update", BASE.replace("three", "THREE"))


def test_edits_are_kept_when_the_generator_changed_nothing() -> None:
    edited = BASE + "# mine\n"
    assert merge_file(BASE, edited, BASE).action == "keep"
    assert merge_file(BASE, edited, BASE).content == edited


def test_edits_on_both_sides_in_different_places_merge() -> None:
    yours = BASE.replace("one", "ONE (mine)")
    generated = BASE.replace("five", "FIVE (new)")
    outcome = merge_file(BASE, yours, generated)
    assert outcome.action == "merge"
    assert outcome.content == "ONE (mine)\ntwo\nthree\nfour\nFIVE (new)\n"


def test_overlapping_edits_give_labelled_conflict_markers() -> None:
    outcome = merge_file(BASE, BASE.replace("three", "mine"), BASE.replace("three", "theirs"))
    assert outcome.action == "conflict"
    assert outcome.conflicts == 1
    assert f"<<<<<<< {YOURS}\nmine\n=======\ntheirs\n>>>>>>> {GENERATED}\n" in str(outcome.content)


def test_deleted_files_stay_deleted_and_new_ones_are_created() -> None:
    assert merge_file(BASE, None, BASE + "x\n").action == "skip"
    assert merge_file(None, None, BASE) == merge_file(None, None, BASE)
    assert merge_file(None, None, BASE).action == "create"


def test_files_no_longer_generated_are_removed_only_when_unedited() -> None:
    assert merge_file(BASE, BASE, None).action == "remove"
    kept = merge_file(BASE, BASE + "# mine\n", None)
    assert (kept.action, kept.content) == ("keep", BASE + "# mine\n")


def test_a_user_file_where_a_new_generated_file_goes_is_never_overwritten() -> None:
    outcome = merge_file(None, "my own\n", BASE)
    assert outcome.action == "conflict"
    assert "my own" in str(outcome.content)


def test_create_once_files_are_the_users_after_creation() -> None:
    assert create_once(None, None, BASE).action == "create"
    assert create_once(BASE, "mine\n", BASE + "new\n").content == "mine\n"
    assert create_once(BASE, None, BASE).action == "skip"


# --- properties -----------------------------------------------------------------------------

Edit = tuple[int, list[str]]  # replace base line `index` with these lines ([] deletes it)


@st.composite
def separated_edits(
    draw: st.DrawFn,
) -> tuple[list[str], dict[int, list[str]], dict[int, list[str]]]:
    """A base text and edits by each side that never touch the same or adjacent lines."""
    size = draw(st.integers(min_value=3, max_value=40))
    base = [f"base line {i}\n" for i in range(size)]
    positions = draw(st.lists(st.integers(0, size - 1), unique=True, max_size=size // 2))
    kept_apart = []
    for position in sorted(positions):
        if all(abs(position - other) >= 2 for other in kept_apart):
            kept_apart.append(position)
    yours: dict[int, list[str]] = {}
    generated: dict[int, list[str]] = {}
    for position in kept_apart:
        side, name = (yours, "yours") if draw(st.booleans()) else (generated, "generated")
        count = draw(st.integers(min_value=0, max_value=3))
        side[position] = [f"{name} {position}.{k}\n" for k in range(count)]
    return base, yours, generated


def apply(base: list[str], *edits: dict[int, list[str]]) -> str:
    lines: list[str] = []
    for index, line in enumerate(base):
        replacement = next((edit[index] for edit in edits if index in edit), None)
        lines.extend([line] if replacement is None else replacement)
    return "".join(lines)


@settings(max_examples=300, deadline=None)
@given(separated_edits())
def test_non_overlapping_edits_merge_without_losing_a_line(
    case: tuple[list[str], dict[int, list[str]], dict[int, list[str]]],
) -> None:
    base, yours, generated = case
    outcome = merge_file("".join(base), apply(base, yours), apply(base, generated))
    assert outcome.action != "conflict"
    assert outcome.content == apply(base, yours, generated)
    for lines in yours.values():
        for line in lines:
            assert line in str(outcome.content)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=1, max_value=30),
    st.data(),
)
def test_overlapping_edits_always_conflict_and_keep_both_sides(
    size: int, data: st.DataObject
) -> None:
    base = [f"base line {i}\n" for i in range(size)]
    index = data.draw(st.integers(0, size - 1))
    mine = data.draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3))
    yours = {index: [f"yours {word}\n" for word in mine]}
    generated = {index: [f"generated {index}\n"]}
    outcome = merge_file("".join(base), apply(base, yours), apply(base, generated))
    assert outcome.action == "conflict"
    text = str(outcome.content)
    assert f"<<<<<<< {YOURS}" in text and f">>>>>>> {GENERATED}" in text
    for line in [*yours[index], *generated[index]]:
        assert line in text
