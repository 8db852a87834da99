"""English words that look like names but are not: capitalised function words, days, numbers, verbs."""

from __future__ import annotations

import re

EN_STOP = frozenset(
    """the a an he she it they we i you his her their our my its him them us but and or so then when while
    after before one once there this that these those in on at as if every each some all no yes oh suddenly
    finally soon later now today tomorrow yesterday what why how where who which with without from for to of
    by not never always even still just only first next last little big old young long far near here chapter
    monday tuesday wednesday thursday friday saturday sunday january february march april may june july
    august september october november december christmas god please thank thanks hello goodbye mr mrs ms dr
    miss sir lady captain professor uncle aunt king queen prince princess nobody everyone everybody someone
    somebody nothing something everything inside outside instead back weeks days years months hours minutes
    two three four five six seven eight nine ten eleven twelve twenty hundred thousand underground above
    below meanwhile perhaps maybe together alone again also yet because although though until unless up down
    over under through across into onto out off away home tonight morning evening night noon afternoon dawn
    dusk spring summer autumn fall winter earth sun moon sky mum mom dad mother father grandma grandpa granny
    shot scene end the-end once-upon-a-time let lets don't can't won't i'm it's that's there's what's
    meet look come go run help see wait stop listen remember follow""".split()
)
#: Prepositions before a capitalised word that make it a place (on Gull Rock, in Lisbon, over Africa).
PLACE_PREPS = frozenset("in at on over to from near across toward towards into onto around past beyond".split())
#: Prepositions: a character after one is no subject of its clause.
PREPOSITIONS = frozenset(
    """in at on over to from near across toward towards into onto around past beyond with by for of about
    under behind beside between through along inside outside against among after before like than upon
    without within beneath""".split()
)
#: Common verbs and auxiliaries, to tell a character that is acted on from one that acts.
VERBS = frozenset(
    """is was are were be been had has have do did does saw see sees found find finds held hold gave give took
    take made make met meet told tell heard hear felt feel loved love loves helped help helps watched watch
    played play followed follow lifted lift hugged hug carried carry called call asked ask thanked thank
    pulled pull showed show kept keep led lead brought bring taught teach teaches handed hand visited visit
    befriends befriended follows builds built fed feed caught catch left leave""".split()
)


def is_english_name_word(word: str) -> bool:
    """Whether a Latin word could be a name: capitalised, not a function word, day, number or verb form."""
    if not re.fullmatch(r"[A-Z][a-z]+(?:-[A-Z][a-z]+)?", word):
        return False
    lowered = word.lower()
    return lowered not in EN_STOP
