"""What the cast readers produce: characters (members), the places in the text that name them (sites),
and each reference to a character once pronouns are resolved (refs)."""

from __future__ import annotations

from dataclasses import dataclass, field

ANIMAL, PERSON, THING, GROUP = "animal", "person", "thing", "group"
#: How a reference takes part in its clause. Only subjects and objects are in the picture.
SUBJECT, OBJECT, POSSESSIVE, ABSENT, QUOTED = "subject", "object", "possessive", "absent", "quoted"
PRESENT = frozenset({SUBJECT, OBJECT})


@dataclass
class Member:
    """A character: its kind (animal, person, thing, group), species or role, and how the script calls it.

    `species` is a key of species.SPECIES (animals, things, animal groups); `role` a key of roles.ROLES
    (people, and an animal's kin: 鸭妈妈 is a duck with the role mother). `label` is the noun as the
    script wrote it (小狗, sheepdog); `written` the look words the script gives (穿着红色雨衣, a red scarf) by slot
    (wear, coat, feature, build); `names` the proper names it goes by, `forms` every word for it.
    """

    key: str
    name: str
    kind: str
    species: str = ""
    role: str = ""
    gender: str = ""
    age: str = ""
    years: int = 0
    named: bool = False
    label: str = ""
    first: int = 0
    score: float = 0.0
    written: dict[str, str] = field(default_factory=dict)
    forms: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)

    @property
    def aliases(self) -> set[str]:
        """Other words the script uses for this character."""
        return self.forms - {self.name}


@dataclass(frozen=True)
class Site:
    """A stretch of text naming a character (not a pronoun): 豆豆, 小鸭子们, the kitten."""

    start: int
    end: int
    key: str
    classifier: str = ""  # 只/个/一群… or a/the before it


@dataclass(frozen=True)
class Ref:
    """A reference to one or more characters at a place in the text, and its part in the clause."""

    start: int
    end: int
    keys: tuple[str, ...]
    role: str
    pronoun: bool = False

    @property
    def present(self) -> bool:
        return self.role in PRESENT
