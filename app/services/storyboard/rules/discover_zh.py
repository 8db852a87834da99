"""Finding the characters of Chinese text on jieba's words and tags.

Names come from namings (名叫豆豆, 它叫嘎嘎, 大家都叫她周奶奶), appositions (小狗豆豆, 小女孩丽丽,
小狗Max), surname + role (王老师, 张爷爷) and words jieba tags as names that recur (小明). Character
nouns come from the lexicons, with their modifiers (老乌龟, 小花猫, 鸭妈妈) and plurals (一群小鸭子, 孩子们).
"""

from __future__ import annotations

import re

from app.services.storyboard.rules.places import ZH_PLACE_WORDS
from app.services.storyboard.rules.registry import Noun, Registry
from app.services.storyboard.rules.roles import ROLES, ZH_GROUPS, ZH_PRONOUNS, ZH_ROLES, ZH_SURNAMES
from app.services.storyboard.rules.segment import Token
from app.services.storyboard.rules.species import ZH_MATERIALS, ZH_SPECIES
from app.services.storyboard.rules.stopwords import is_english_name_word

_MODIFIERS = frozenset("小老大白黑花黄灰红绿金银棕野胖瘦")
_SINGULAR = re.compile(r"[一那这每][只个位条头匹座棵家]$|^[只个位条头匹]$")
_PLURAL_WORDS = re.compile(r"^(?:一群|一帮|一伙|一队|一家|[三四五六七八九十几]+[只个位条头])$")
_NAMING = frozenset({"名叫", "叫做", "叫", "名字叫", "取名", "取名叫", "起名叫", "名为"})
_BREAK = re.compile(r"[，。！？；：、,.!?;:“”「」\"'（）()\s]")
_PERSON_TAGS = frozenset({"nr", "nrfg", "nrt"})
_CJK_NAME = re.compile(r"^[\u4e00-\u9fff]{2,3}$")
#: Doubled words that are adverbs or kin words, never a pet's name.
_NOT_NAMES = frozenset("""
    渐渐 慢慢 常常 刚刚 悄悄 早早 偷偷 轻轻 静静 紧紧 好好 高高 大大 小小 满满 天天 星星 宝宝 往往 久久
    默默 匆匆 纷纷 处处 样样 个个 人人 家家 年年 连连 频频 统统 稍稍 微微 暗暗 白白 乖乖 呼呼 哗哗 嘻嘻
    哈哈 呵呵 悠悠 团团 扑通 叮咚 咚咚 滴答 噼啪 沙沙 哗啦 轰隆 呱呱 叽叽 喳喳 嗡嗡 淅沥 刚才 宝贝 多多
    少少 深深 长长 短短 甜甜 暖暖 弯弯 亮亮 快快 点点 片片 层层 阵阵 声声 步步 重重 整整 足足 仅仅 明明
    恰恰 渐渐 时时 隐隐 草草 匆匆""".split())
_AFTER_ADVERB = frozenset({"地", "的", "得", "着", "了"})


def read_chinese(toks: list[Token], registry: Registry) -> None:
    """Add the characters of Chinese text (its jieba words; Latin names inside it too) to `registry`."""
    toks = _merge(toks)
    counts = _word_counts(toks)
    nouns: dict[int, Noun] = {}
    for i in range(len(toks)):
        noun = _noun_at(toks, i)
        if noun is not None:
            nouns[i] = noun
    consumed: set[int] = set()
    for i, tok in enumerate(toks):
        if i in consumed:
            continue
        if tok.word in _NAMING:
            consumed |= _naming(toks, i, nouns, registry)
        elif i in nouns:
            consumed |= _apposition(toks, i, nouns[i], registry)
        elif _kin_compound(tok.word) is not None:
            registry.name(tok.word, tok.start, noun=_title_noun(tok))
        elif _is_name(toks, i, counts):
            registry.name(tok.word, tok.start, noun=_title_noun(tok))
    for noun in nouns.values():
        registry.noun(noun)
    _copulas(toks, nouns, registry)


# --------------------------------------------------------------------------- words


def _merge(toks: list[Token]) -> list[Token]:
    """Join words jieba split: 老+渔夫, 鸭+妈妈, 张+爷爷, 小鸭子+们, 火+火."""
    out: list[Token] = []
    for tok in toks:
        if out and _joins(out[-1], tok):
            prev = out.pop()
            tok = Token(prev.word + tok.word, "n", prev.start)
        out.append(tok)
    return out


def _joins(prev: Token, tok: Token) -> bool:
    if prev.end != tok.start or not re.match(r"[\u4e00-\u9fff]", prev.word):
        return False
    word = prev.word + tok.word
    if tok.word == "们" and (_creature(prev.word) or _role(prev.word)):
        return True
    if _role(prev.word) and tok.word in ZH_ROLES and ROLES[ZH_ROLES[tok.word]].kin:
        return ROLES[_role(prev.word) or ""].kin  # 哥哥姐姐(们)
    if tok.word in ZH_ROLES or tok.word in ZH_SPECIES or _creature(tok.word):
        if all(ch in _MODIFIERS for ch in prev.word) and len(prev.word) <= 2:
            return True
        if len(prev.word) == 1 and (prev.word in ZH_SURNAMES or prev.word in ZH_SPECIES) and tok.word in ZH_ROLES:
            return True
        return prev.word in ZH_MATERIALS and _creature(tok.word) is not None
    return len(prev.word) == 1 and prev.word == tok.word and len(word) == 2 and prev.tag not in ("x", "m", "d")


def _creature(word: str) -> str | None:
    """The species key of a creature noun, allowing modifier prefixes (小花猫, 老黄狗)."""
    if word in ZH_SPECIES:
        return ZH_SPECIES[word]
    for cut in (1, 2):
        if len(word) > cut and all(ch in _MODIFIERS for ch in word[:cut]) and word[cut:] in ZH_SPECIES:
            return ZH_SPECIES[word[cut:]]
    return None


def _role(word: str) -> str | None:
    if word in ZH_ROLES:
        return ZH_ROLES[word]
    if len(word) == 4 and word[:2] in ZH_ROLES and word[2:] in ZH_ROLES:
        return ZH_ROLES[word[:2]]
    if len(word) > 1 and word[0] in _MODIFIERS and word[1:] in ZH_ROLES:
        return ZH_ROLES[word[1:]]
    return None


def _noun_at(toks: list[Token], i: int) -> Noun | None:
    """The character noun at word i, with its number (一只 / 一群 / -们), or None."""
    tok = toks[i]
    word = tok.word
    plural = word.endswith("们") or word in ZH_GROUPS or _counted(toks, i, _PLURAL_WORDS)
    base = word[:-1] if word.endswith("们") and len(word) > 2 else word
    if word in ZH_GROUPS:
        return Noun(tok.start, tok.end, word, role=ZH_GROUPS[word], plural=True)
    made = next((m for m in ZH_MATERIALS if base.startswith(m) and _creature(base[len(m):])), "")
    species = _creature(base[len(made):]) if made else _creature(base)
    if species is not None and _compounded(toks, i):
        return None  # 兔子灯, 小狗窝: the animal only says what the thing looks like
    if species is not None:
        return Noun(tok.start, tok.end, word, species=species, plural=plural, made=bool(made),
                    singular=_counted(toks, i, _SINGULAR))
    if _kin_compound(base) is not None:
        return None
    role = _role(base)
    if role is not None and not _surnamed(base):
        return Noun(tok.start, tok.end, word, role=role, plural=plural, singular=_counted(toks, i, _SINGULAR))
    return None


def _title_noun(tok: Token) -> Noun | None:
    """The role in a surname + role name (王老师 is a teacher, 张爷爷 a grandfather), or a species + kin
    name (鸭妈妈 is a mother duck, 熊大哥 a bear)."""
    word = tok.word
    kin = _kin_compound(word)
    if kin is not None:
        return Noun(tok.start, tok.end, word, species=kin[0], role=kin[1])
    if _surnamed(word):
        return Noun(tok.start, tok.end, word, role=ZH_ROLES[word[1:]])
    return None


def _kin_compound(word: str) -> tuple[str, str] | None:
    """(species, role) of 鸭妈妈, 熊大哥, 兔奶奶: a creature word followed by a kin word."""
    for cut in range(1, len(word) - 1):
        head, tail = word[:cut], word[cut:]
        species = _creature(head)
        if species is not None and tail in ZH_ROLES and ROLES[ZH_ROLES[tail]].kin:
            return species, ZH_ROLES[tail]
    return None


def _compounded(toks: list[Token], i: int) -> bool:
    """Whether word i modifies the noun right after it (兔子灯), rather than being named by it (小狗豆豆)."""
    if i + 1 >= len(toks) or toks[i + 1].start != toks[i].end:
        return False
    nxt = toks[i + 1]
    if not nxt.tag.startswith("n") or nxt.tag in _PERSON_TAGS or nxt.word in ZH_ROLES or nxt.word in ZH_SPECIES:
        return False
    return len(nxt.word) <= 2 and not _name_like(list(toks), i + 1, apposed=True)


def _surnamed(word: str) -> bool:
    """王老师, 张爷爷: a surname and a role (not 熊大哥, a bear)."""
    return (len(word) >= 2 and word[0] in ZH_SURNAMES and word[1:] in ZH_ROLES and word not in ZH_ROLES
            and _kin_compound(word) is None)


def _counted(toks: list[Token], i: int, pattern: re.Pattern[str]) -> bool:
    """Whether a classifier matching `pattern` stands up to four words before word i, in its clause."""
    for j in range(i - 1, max(i - 5, -1), -1):
        if _BREAK.match(toks[j].word):
            return False
        if pattern.search(toks[j].word):
            return True
    return False


def _used_as_noun(toks: list[Token], word: str) -> bool:
    """Whether `word` stands somewhere as an object, after a verb or preposition (找慢慢, 和慢慢)."""
    return any(t.word == word and i and (toks[i - 1].tag.startswith("v") or toks[i - 1].tag in ("p", "c"))
               for i, t in enumerate(toks))


def _count(toks: list[Token], word: str) -> int:
    return sum(t.word == word for t in toks)


def _word_counts(toks: list[Token]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for tok in toks:
        counts[tok.word] = counts.get(tok.word, 0) + 1
    return counts


# --------------------------------------------------------------------------- names


def _name_like(toks: list[Token], i: int, *, apposed: bool = False) -> bool:
    """A word shaped like a name: a Latin name, a word jieba tags as a person, a doubled pet name (豆豆),
    or a nickname (小胖, 阿铁) — never an adverb (悄悄地) or a lexicon noun."""
    tok = toks[i]
    word = tok.word
    if tok.tag == "eng" or re.fullmatch(r"[A-Za-z]+", word):
        return is_english_name_word(word)
    if not _CJK_NAME.match(word) or word in ZH_PRONOUNS or _creature(word) or _role(word):
        return False
    if word in _NOT_NAMES and not (apposed and _used_as_noun(toks, word)):
        return False  # 悄悄 is an adverb; 小乌龟慢慢 … 来找慢慢比赛 names a turtle
    following = toks[i + 1].word if i + 1 < len(toks) else ""
    if following in _AFTER_ADVERB or following == word:
        return False
    if apposed and word[0] == word[1] and _used_as_noun(toks, word):
        return True  # 小乌龟慢慢 … 来找慢慢比赛
    if tok.tag in ("d", "ad", "m", "q", "p", "c", "r"):
        return False
    if tok.tag == "v" and not (apposed and word[0] == word[1] and _count(toks, word) >= 2):
        return False  # 小兔子跳跳 … 跳跳, not 小女孩摸摸口袋
    if tok.tag in _PERSON_TAGS:
        return True
    doubled = len(word) == 2 and word[0] == word[1]
    nickname = len(word) == 2 and word[0] in "小阿" and tok.tag in ("nr", "z", "nz", "n", "ng")
    return doubled or nickname and word not in ZH_PLACE_WORDS


def _is_name(toks: list[Token], i: int, counts: dict[str, int]) -> bool:
    """A word that stands alone as a name: a recurring name-like word that opens a clause at least once,
    a Latin name next to Chinese, or a surname with a role (王老师)."""
    tok = toks[i]
    if _surnamed(tok.word):
        return True
    if tok.tag == "eng" or re.fullmatch(r"[A-Za-z]+", tok.word):
        return is_english_name_word(tok.word) and (counts.get(tok.word, 0) >= 2 or _next_to_cjk(toks, i))
    if tok.tag in _PERSON_TAGS and _name_like(toks, i) and _opens_clause(toks, i) and _next_to_latin(toks, i):
        return True  # "小明 and his dog…": a person's name said once, leading English words
    return _name_like(toks, i) and counts.get(tok.word, 0) >= 2 and _opens_clause(toks, i)


def _opens_clause(toks: list[Token], i: int) -> bool:
    """Whether some occurrence of word i's text starts a clause (only time words or adverbs before it)."""
    for j, tok in enumerate(toks):
        if tok.word != toks[i].word:
            continue
        k = j - 1
        while k >= 0 and toks[k].tag in ("t", "d", "c") and not _BREAK.match(toks[k].word):
            k -= 1
        if k < 0 or _BREAK.match(toks[k].word):
            return True
    return False


def _next_to_latin(toks: list[Token], i: int) -> bool:
    j = _next_word(toks, i)
    return j < len(toks) and bool(re.fullmatch(r"[A-Za-z]+", toks[j].word))


def _next_to_cjk(toks: list[Token], i: int) -> bool:
    neighbours = [toks[j].word for j in (i - 1, i + 1) if 0 <= j < len(toks)]
    return any(re.match(r"[\u4e00-\u9fff]", w) for w in neighbours)


def _next_word(toks: list[Token], i: int) -> int:
    """Index of the next word after i that is not whitespace (len(toks) at the end)."""
    j = i + 1
    while j < len(toks) and toks[j].word.isspace():
        j += 1
    return j


def _apposition(toks: list[Token], i: int, noun: Noun, registry: Registry) -> set[int]:
    """小狗豆豆, 小女孩丽丽, 小狗Max, 宇航员林阿姨: a noun followed by a name names it."""
    j = _next_word(toks, i)
    if noun.plural or j >= len(toks):
        return set()
    tok = toks[j]
    if _surnamed(tok.word) or _kin_compound(tok.word):
        member = registry.name(tok.word, tok.start, noun=_title_noun(tok))
        registry.describe(member, noun)
        return {j}
    if _name_like(toks, j, apposed=True):
        registry.name(tok.word, tok.start, noun=noun)
        return {j}
    return set()


def _naming(toks: list[Token], i: int, nouns: dict[int, Noun], registry: Registry) -> set[int]:
    """名叫X / 它叫X / 大家都叫她X: X is a name; what it names is the noun right after (名叫Bo的小熊)
    or the nearest noun before (一只小鸭子…它叫嘎嘎)."""
    j = _next_word(toks, i)
    if j < len(toks) and toks[j].word in ZH_PRONOUNS:
        j = _next_word(toks, j)
    if j >= len(toks):
        return set()
    name = toks[j]
    if len(name.word) == 1 and j + 1 < len(toks) and re.match(r"[\u4e00-\u9fff]$", toks[j + 1].word):
        name = Token(name.word + toks[j + 1].word, "nr", name.start)  # 火/火 → 火火
        j += 1
    if not (_CJK_NAME.match(name.word) or is_english_name_word(name.word)):
        return set()
    if _creature(name.word) or name.word in ("名字",) or name.word in ZH_PRONOUNS or name.word in _NOT_NAMES:
        return set()
    after = _next_word(toks, j)
    if after < len(toks) and toks[after].word not in ("的", "是") and not _BREAK.match(toks[after].word):
        return set()
    noun, adjacent = _described(toks, i, after, nouns)
    member = registry.name(name.word, name.start, noun=_title_noun(name))
    if noun is not None:
        registry.describe(member, noun, cover=adjacent)
    return {j}


def _described(toks: list[Token], i: int, after: int, nouns: dict[int, Noun]) -> tuple[Noun | None, bool]:
    """The noun a naming names, and whether it is part of the naming (名叫Bo的小熊) or said before it."""
    if after < len(toks) and toks[after].word == "的":
        k = after + 1
        while k < len(toks) and k not in nouns and not _BREAK.match(toks[k].word) and k < after + 4:
            k += 1
        if k in nouns:
            return nouns[k], True
    before = [k for k in nouns if k < i and not nouns[k].plural]
    if before and _sentences_between(toks, before[-1], i) <= 1:
        adjacent = all(_BREAK.match(t.word) is None for t in toks[before[-1] + 1:i]) and i - before[-1] <= 3
        return nouns[before[-1]], adjacent
    return None, False


def _sentences_between(toks: list[Token], a: int, b: int) -> int:
    return sum(1 for t in toks[a:b] if t.word in ("。", "！", "？", "!", "?"))


def _copulas(toks: list[Token], nouns: dict[int, Noun], registry: Registry) -> None:
    """X是一个…NOUN: the named X is what the noun says (Tom是一个 shy 的小男孩); a noun X is the same
    character as the noun (店主是一位胖胖的老奶奶)."""
    for i, tok in enumerate(toks):
        member = registry.members.get(tok.word)
        if (member is None or not member.named) and i not in nouns:
            continue
        j = _next_word(toks, i)
        if j >= len(toks) or toks[j].word != "是":
            continue
        k = j + 1
        while k < len(toks) and k not in nouns and not _BREAK.match(toks[k].word.strip() or "x") and k < j + 6:
            k += 1
        if k not in nouns or nouns[k].plural:
            continue
        if member is not None and member.named:
            registry.describe(member, nouns[k])
        elif not nouns[i].plural:
            registry.same(nouns[i], nouns[k])

