"""Identifiers reach paths and object keys, so each is checked against one strict pattern.

A shot has two ids: its short id `shot_NN` (from its sequence; used in paths, keys and state) and a
stable UUID derived from the story id and the sequence (`shot_uuid`), for clients that keep only UUID
ids. Either is accepted wherever a shot id is taken; `SHOT_ID_FORMAT` chooses the one shown as `id`.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Literal

from pydantic import StringConstraints

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_ID_RE = re.compile(ID_PATTERN)
_SHORT_RE = re.compile(r"^shot_(\d+)$")

#: An operation, story, user or shot id: letters, digits, '_' and '-', 1–64 chars, no leading
#: punctuation — never '.', '/', or anything a path could interpret.
Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]

#: Which shot id the API shows as `id`: `short` = shot_NN, `uuid` = the shot's stable UUID.
ShotIdFormat = Literal["short", "uuid"]

#: Namespace of shot UUIDs (uuid5 of "<story_id>/<sequence>"): the same story and sequence always give
#: the same UUID, across restarts and re-planning.
_SHOT_NAMESPACE = uuid.UUID("0b6f3c1e-8f55-4c1a-9d4e-2a7c5e9b1f30")


def shot_id_for(sequence: int) -> str:
    return f"shot_{sequence:02d}"


def shot_uuid(story_id: str, sequence: int) -> str:
    """The stable UUID of a story's shot at `sequence` (lower-case, canonical form)."""
    return str(uuid.uuid5(_SHOT_NAMESPACE, f"{story_id}/{sequence}"))


def sequence_of(short_id: str) -> int | None:
    """The sequence a short shot id names (`shot_03` → 3), or None for anything else."""
    match = _SHORT_RE.match(short_id)
    return int(match.group(1)) if match else None


def canonical_shot_ref(ref: str) -> str:
    """A shot reference as stored ids compare: a UUID in any accepted spelling becomes canonical."""
    try:
        return str(uuid.UUID(ref))
    except ValueError:
        return ref


def shown_shot_id(story_id: str, short_id: str, shot_format: ShotIdFormat) -> str:
    """The id a client is shown for the shot `short_id` of `story_id` under `shot_format`."""
    if shot_format == "uuid":
        sequence = sequence_of(short_id)
        if sequence is not None:
            return shot_uuid(story_id, sequence)
    return short_id
