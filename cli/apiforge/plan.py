"""The file plan: every file a spec generates, with who owns it after generation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# managed: regenerated and three-way merged on every run.
# create_once: written when missing, then the user's (hooks modules, for example).
Ownership = Literal["managed", "create_once"]


@dataclass(frozen=True)
class PlannedFile:
    path: str  # POSIX path relative to the project root
    content: str
    ownership: Ownership = "managed"


FilePlan = dict[str, PlannedFile]
