"""Identifiers reach paths and object keys, so each is checked against one strict pattern."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import StringConstraints

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_ID_RE = re.compile(ID_PATTERN)

#: An operation, story, user or shot id: letters, digits, '_' and '-', 1–64 chars, no leading
#: punctuation — never '.', '/', or anything a path could interpret.
Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]


def shot_id_for(sequence: int) -> str:
    return f"shot_{sequence:02d}"
