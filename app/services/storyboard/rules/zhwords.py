"""Chinese words for the cast reader: joining what jieba split (老+渔夫, 鸭+妈妈, 小鸭子+们), telling a
character noun (小花猫, 一群小鸭子, 鸭妈妈, 王老师) and a word shaped like a name (豆豆, 小明, 阿铁, Max)."""

from __future__ import annotations

import re

from app.services.storyboard.rules.places import ZH_PLACE_WORDS
from app.services.storyboard.rules.registry import Noun
from app.services.storyboard.rules.roles import ROLES, ZH_GROUPS, ZH_PRONOUNS, ZH_ROLES, ZH_SURNAMES
from app.services.storyboard.rules.segment import Token
from app.services.storyboard.rules.species import ZH_MATERIALS, ZH_SPECIES
from app.services.storyboard.rules.stopwords import is_english_name_word

_MODIFIERS = frozenset("小老大白黑花黄灰红绿金银棕野胖瘦")
_SINGULAR = re.compile(r"[一那这每][只个位条头匹座棵家]$|^[只个位条头匹]$")
_PLURAL_WORDS = re.compile(r"^(?:一群|一帮|一伙|一队|一家|[三四五六七八九十几]+[只个位条头])$")
BREAK = re.compile(r"[，。！？；：、,.!?;:“”「」\"'（）()\s]")
_PERSON_TAGS = frozenset({"nr", "nrfg", "nrt"})
CJK_NAME = re.compile(r"^[\u4e00-\u9fff]{2,3}$")
#: Doubled words that are adverbs or kin words, never a pet's name.
NOT_NAMES = frozenset("""
    渐渐 慢慢 常常 刚刚 悄悄 早早 偷偷 轻轻 静静 紧紧 好好 高高 大大 小小 满满 天天 星星 宝宝 往往 久久
    默默 匆匆 纷纷 处处 样样 个个 人人 家家 年年 连连 频频 统统 稍稍 微微 暗暗 白白 乖乖 呼呼 哗哗 嘻嘻
    哈哈 呵呵 悠悠 团团 扑通 叮咚 咚咚 滴答 噼啪 沙沙 哗啦 轰隆 呱呱 叽叽 喳喳 嗡嗡 淅沥 刚才 宝贝 多多
    少少 深深 长长 短短 甜甜 暖暖 弯弯 亮亮 快快 点点 片片 层层 阵阵 声声 步步 重重 整整 足足 仅仅 明明
    恰恰 渐渐 时时 隐隐 草草 匆匆""".split())
_AFTER_ADVERB = frozenset({"地", "的", "得", "着", "了"})


# --------------------------------------------------------------------------- words


def merge_words(toks: list[Token]) -> list[Token]:
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
    if tok.word == "们" and (creature(prev.word) or role_of(prev.word)):
        return True
    if role_of(prev.word) and tok.word in ZH_ROLES and ROLES[ZH_ROLES[tok.word]].kin:
        return ROLES[role_of(prev.word) or ""].kin  # 哥哥姐姐(们)
    if tok.word in ZH_ROLES or tok.word in ZH_SPECIES or creature(tok.word):
        if all(ch in _MODIFIERS for ch in prev.word) and len(prev.word) <= 2:
            return True
        if len(prev.word) == 1 and (prev.word in ZH_SURNAMES or prev.word in ZH_SPECIES) and tok.word in ZH_ROLES:
            return True
        return prev.word in ZH_MATERIALS and creature(tok.word) is not None
    return len(prev.word) == 1 and prev.word == tok.word and len(word) == 2 and prev.tag not in ("x", "m", "d")


def creature(word: str) -> str | None:
    """The species key of a creature noun, allowing modifier prefixes (小花猫, 老黄狗)."""
    if word in ZH_SPECIES:
        return ZH_SPECIES[word]
    for cut in (1, 2):
        if len(word) > cut and all(ch in _MODIFIERS for ch in word[:cut]) and word[cut:] in ZH_SPECIES:
            return ZH_SPECIES[word[cut:]]
    return None


def role_of(word: str) -> str | None:
    if word in ZH_ROLES:
        return ZH_ROLES[word]
    if len(word) == 4 and word[:2] in ZH_ROLES and word[2:] in ZH_ROLES:
        return ZH_ROLES[word[:2]]
    if len(word) > 1 and word[0] in _MODIFIERS and word[1:] in ZH_ROLES:
        return ZH_ROLES[word[1:]]
    return None


def noun_at(toks: list[Token], i: int) -> Noun | None:
    """The character noun at word i, with its number (一只 / 一群 / -们), or None."""
    tok = toks[i]
    word = tok.word
    plural = word.endswith("们") or word in ZH_GROUPS or _counted(toks, i, _PLURAL_WORDS)
    base = word[:-1] if word.endswith("们") and len(word) > 2 else word
    if word in ZH_GROUPS:
        return Noun(tok.start, tok.end, word, role=ZH_GROUPS[word], plural=True)
    made = next((m for m in ZH_MATERIALS if base.startswith(m) and creature(base[len(m):])), "")
    species = creature(base[len(made):]) if made else creature(base)
    if species is not None and _compounded(toks, i):
        return None  # 兔子灯, 小狗窝: the animal only says what the thing looks like
    if species is not None:
        return Noun(tok.start, tok.end, word, species=species, plural=plural, made=bool(made),
                    singular=_counted(toks, i, _SINGULAR))
    if kin_compound(base) is not None:
        return None
    role = role_of(base)
    if role is not None and not surnamed(base):
        return Noun(tok.start, tok.end, word, role=role, plural=plural, singular=_counted(toks, i, _SINGULAR))
    return None


def title_noun(tok: Token) -> Noun | None:
    """The role in a surname + role name (王老师 is a teacher, 张爷爷 a grandfather), or a species + kin
    name (鸭妈妈 is a mother duck, 熊大哥 a bear)."""
    word = tok.word
    kin = kin_compound(word)
    if kin is not None:
        return Noun(tok.start, tok.end, word, species=kin[0], role=kin[1])
    if surnamed(word):
        return Noun(tok.start, tok.end, word, role=ZH_ROLES[word[1:]])
    return None


def kin_compound(word: str) -> tuple[str, str] | None:
    """(species, role) of 鸭妈妈, 熊大哥, 兔奶奶: a creature word followed by a kin word."""
    for cut in range(1, len(word) - 1):
        head, tail = word[:cut], word[cut:]
        species = creature(head)
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
    return len(nxt.word) <= 2 and not name_like(list(toks), i + 1, apposed=True)


def surnamed(word: str) -> bool:
    """王老师, 张爷爷: a surname and a role (not 熊大哥, a bear)."""
    return (len(word) >= 2 and word[0] in ZH_SURNAMES and word[1:] in ZH_ROLES and word not in ZH_ROLES
            and kin_compound(word) is None)


def _counted(toks: list[Token], i: int, pattern: re.Pattern[str]) -> bool:
    """Whether a classifier matching `pattern` stands up to four words before word i, in its clause."""
    for j in range(i - 1, max(i - 5, -1), -1):
        if BREAK.match(toks[j].word):
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


def word_counts(toks: list[Token]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for tok in toks:
        counts[tok.word] = counts.get(tok.word, 0) + 1
    return counts


# --------------------------------------------------------------------------- names


def name_like(toks: list[Token], i: int, *, apposed: bool = False) -> bool:
    """A word shaped like a name: a Latin name, a word jieba tags as a person, a doubled pet name (豆豆),
    or a nickname (小胖, 阿铁) — never an adverb (悄悄地) or a lexicon noun."""
    tok = toks[i]
    word = tok.word
    if tok.tag == "eng" or re.fullmatch(r"[A-Za-z]+", word):
        return is_english_name_word(word)
    if not CJK_NAME.match(word) or word in ZH_PRONOUNS or creature(word) or role_of(word):
        return False
    if word in NOT_NAMES and not (apposed and _used_as_noun(toks, word)):
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


def is_name(toks: list[Token], i: int, counts: dict[str, int]) -> bool:
    """A word that stands alone as a name: a recurring name-like word that opens a clause at least once,
    a Latin name next to Chinese, or a surname with a role (王老师)."""
    tok = toks[i]
    if surnamed(tok.word):
        return True
    if tok.tag == "eng" or re.fullmatch(r"[A-Za-z]+", tok.word):
        return is_english_name_word(tok.word) and (counts.get(tok.word, 0) >= 2 or _next_to_cjk(toks, i))
    if tok.tag in _PERSON_TAGS and name_like(toks, i) and _opens_clause(toks, i) and _next_to_latin(toks, i):
        return True  # "小明 and his dog…": a person's name said once, leading English words
    return name_like(toks, i) and counts.get(tok.word, 0) >= 2 and _opens_clause(toks, i)


def _opens_clause(toks: list[Token], i: int) -> bool:
    """Whether some occurrence of word i's text starts a clause (only time words or adverbs before it)."""
    for j, tok in enumerate(toks):
        if tok.word != toks[i].word:
            continue
        k = j - 1
        while k >= 0 and toks[k].tag in ("t", "d", "c") and not BREAK.match(toks[k].word):
            k -= 1
        if k < 0 or BREAK.match(toks[k].word):
            return True
    return False


def _next_to_latin(toks: list[Token], i: int) -> bool:
    j = next_word(toks, i)
    return j < len(toks) and bool(re.fullmatch(r"[A-Za-z]+", toks[j].word))


def _next_to_cjk(toks: list[Token], i: int) -> bool:
    neighbours = [toks[j].word for j in (i - 1, i + 1) if 0 <= j < len(toks)]
    return any(re.match(r"[\u4e00-\u9fff]", w) for w in neighbours)


def next_word(toks: list[Token], i: int) -> int:
    """Index of the next word after i that is not whitespace (len(toks) at the end)."""
    j = i + 1
    while j < len(toks) and toks[j].word.isspace():
        j += 1
    return j
