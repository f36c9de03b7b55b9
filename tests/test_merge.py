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


# --- insertions (issue 8 item 7: the merge must never invent code) ---------------------------


def test_the_same_insertion_on_both_sides_merges_cleanly() -> None:
    added = BASE.replace("two\n", "two\nsubtitle: str\n")
    outcome = merge_file(BASE, added, added.replace("five", "FIVE"))
    assert outcome.action == "merge"
    assert outcome.content == added.replace("five", "FIVE")


def test_different_insertions_at_the_same_point_conflict() -> None:
    """The spec adds `subtitle: str` where the user had added an optional subtitle."""
    yours = BASE.replace("two\n", "two\nsubtitle: str | None = None\n")
    generated = BASE.replace("two\n", "two\nsubtitle: str\n").replace("five", "FIVE")
    outcome = merge_file(BASE, yours, generated)
    assert outcome.action == "conflict"
    assert outcome.conflicts == 1
    assert (
        f"two\n<<<<<<< {YOURS}\nsubtitle: str | None = None\n=======\nsubtitle: str\n"
        f">>>>>>> {GENERATED}\nthree\n"
    ) in str(outcome.content)
    assert "FIVE" in str(outcome.content)  # the rest still merges


def test_an_append_after_a_line_the_generator_rewrote_in_place_merges() -> None:
    """A custom route appended after a route the generator renamed: nothing to guess."""
    base = "def destroy_product():\n    delete(product_id)\n"
    yours = base + "\n\ndef cheapest():\n    return 'mine'\n"
    generated = "def destroy_article():\n    delete(article_id)\n"
    outcome = merge_file(base, yours, generated)
    assert outcome.action == "merge"
    assert outcome.content == generated + "\n\ndef cheapest():\n    return 'mine'\n"


def test_an_insertion_beside_a_region_the_other_side_grew_conflicts() -> None:
    """The generator rewrote a line and added one after it, where the user also added one:
    which goes first, and are they the same field? Only the user can say."""
    base = "title: str\n"
    yours = "title: str\nsubtitle: str | None = None\n"
    generated = "title: str = ''\nsubtitle: str\n"
    outcome = merge_file(base, yours, generated)
    assert outcome.action == "conflict"


def test_an_insertion_beside_a_renamed_definition_of_the_same_name_conflicts() -> None:
    base = "title: str\n"
    yours = "title: str\nsubtitle: str | None = None\n"
    generated = "subtitle: str\n"  # the generator renamed title to subtitle
    assert merge_file(base, yours, generated).action == "conflict"


Slot = int  # 2*i: an insertion before base line i (2*size: at the end); 2*i+1: base line i
Edits = dict[Slot, list[str]]  # slot → the lines put there ([] at an odd slot deletes the line)


def apply_slots(base: list[str], *sides: Edits) -> str:
    """Apply the edits of each side (at distinct slots) to `base`."""
    lines: list[str] = []
    for slot in range(2 * len(base) + 1):
        edit = next((side[slot] for side in sides if slot in side), None)
        if slot % 2 == 0:
            lines.extend(edit or [])
        else:
            lines.extend([base[slot // 2]] if edit is None else edit)
    return "".join(lines)


def draw_edit(draw: st.DrawFn, name: str, slot: Slot) -> list[str]:
    """Lines no other edit has (so each can be traced), possibly none for a replacement."""
    count = draw(st.integers(min_value=1 if slot % 2 == 0 else 0, max_value=3))
    return [f"{name} {slot}.{k}\n" for k in range(count)]


@st.composite
def slot_edits(draw: st.DrawFn, *, apart: bool) -> tuple[list[str], Edits, Edits]:
    """Insertions and replacements by both sides; `apart`: no two edits touch each other."""
    size = draw(st.integers(min_value=1, max_value=25))
    base = [f"base line {i}\n" for i in range(size)]
    slots = draw(st.lists(st.integers(0, 2 * size), unique=True, max_size=size))
    if apart:  # at least one untouched base line between any two edits
        kept: list[int] = []
        for slot in sorted(slots):
            if all(abs(slot - other) >= 3 for other in kept):
                kept.append(slot)
        slots = kept
    yours: Edits = {}
    generated: Edits = {}
    for slot in slots:
        side, name = (yours, "yours") if draw(st.booleans()) else (generated, "generated")
        side[slot] = draw_edit(draw, name, slot)
    return base, yours, generated


def body_lines(text: str) -> list[str]:
    """The lines of a merge result without its conflict markers."""
    return [
        line
        for line in text.splitlines(keepends=True)
        if not line.startswith(("<<<<<<< ", "=======", ">>>>>>> "))
    ]


@settings(max_examples=400, deadline=None)
@given(slot_edits(apart=True))
def test_separate_insertions_and_replacements_merge_exactly(
    case: tuple[list[str], Edits, Edits],
) -> None:
    base, yours, generated = case
    outcome = merge_file("".join(base), apply_slots(base, yours), apply_slots(base, generated))
    assert outcome.action in {"merge", "update", "keep", "identical"}
    assert outcome.content == apply_slots(base, yours, generated)


@settings(max_examples=400, deadline=None)
@given(slot_edits(apart=False), st.data())
def test_a_merge_never_invents_drops_or_duplicates_a_line(
    case: tuple[list[str], Edits, Edits], data: st.DataObject
) -> None:
    base, yours, generated = case
    # Both sides often edit the same slot: give the generator its own edit there too.
    for slot in data.draw(st.lists(st.sampled_from(sorted(yours)), unique=True)) if yours else []:
        generated[slot] = draw_edit(data.draw, "generated", slot)
    yours_text, generated_text = apply_slots(base, yours), apply_slots(base, generated)
    outcome = merge_file("".join(base), yours_text, generated_text)
    merged = body_lines(str(outcome.content))
    either_side = set(yours_text.splitlines(keepends=True)) | set(
        generated_text.splitlines(keepends=True)
    )
    assert set(merged) <= either_side  # no line neither side had
    assert len(merged) == len(set(merged))  # every line is unique in the inputs: no duplicates
    if outcome.action == "conflict":
        return
    yours_lines = set(yours_text.splitlines(keepends=True))
    generated_lines = set(generated_text.splitlines(keepends=True))
    assert either_side - set(base) <= set(merged)  # a clean merge holds every added line
    removed = set(base) - (yours_lines & generated_lines)
    assert not removed & set(merged)  # ... and no base line either side removed


@settings(max_examples=300, deadline=None)
@given(slot_edits(apart=True), st.data())
def test_different_insertions_at_one_point_always_conflict(
    case: tuple[list[str], Edits, Edits], data: st.DataObject
) -> None:
    base, yours, generated = case
    gap = 2 * data.draw(st.integers(0, len(base)))
    for side in (yours, generated):  # the shared point: clear the edits touching it
        for slot in (gap - 2, gap - 1, gap, gap + 1, gap + 2):
            side.pop(slot, None)
    yours[gap] = draw_edit(data.draw, "yours", gap)
    generated[gap] = draw_edit(data.draw, "generated", gap)
    outcome = merge_file("".join(base), apply_slots(base, yours), apply_slots(base, generated))
    assert outcome.action == "conflict"
    text = str(outcome.content)
    for line in [*yours[gap], *generated[gap]]:
        assert text.count(line) == 1
