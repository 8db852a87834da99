"""People: the words naming a role (妈妈, teacher, an old woman), with its gender, age and outfit; pronouns.

One row per role: key | Chinese words | English words (comma-separated) | gender | age | flags. Gender is
f, m or -; age child, adult or elder. Flags: `kin` (a relative: an animal's mother is an animal of
its kind), `generic` (a plain word for a person, folded into a named character of the same gender
and age: 小女孩丽丽 … 小女孩), `title` (an English word that may precede a name: Grandma Wang).
"""

from __future__ import annotations

from typing import NamedTuple

PERSON = "person"

_ROLES = """
mother | 妈妈 母亲 妈 娘 | mother, mom, mum, mommy, mama, mummy | f | adult | kin title
father | 爸爸 父亲 爹 | father, dad, daddy, papa | m | adult | kin
grandma | 奶奶 外婆 姥姥 祖母 | grandma, grandmother, granny, nana, grandmama | f | elder | kin title
grandpa | 爷爷 外公 姥爷 祖父 | grandpa, grandfather, granddad, grandad | m | elder | kin title
brother | 哥哥 弟弟 大哥 | brother | m | child | kin
sister | 姐姐 妹妹 大姐 | sister | f | child | kin
son | 儿子 | son | m | child | kin
daughter | 女儿 | daughter | f | child | kin
grandson | 孙子 外孙 | grandson | m | child | kin
granddaughter | 孙女 外孙女 | granddaughter | f | child | kin
uncle | 叔叔 伯伯 舅舅 大叔 | uncle | m | adult | title
aunt | 阿姨 姑姑 婶婶 | aunt, auntie | f | adult | title
oldwoman | 老奶奶 老婆婆 婆婆 阿婆 老太太 老妇人 | old woman, old lady | f | elder | generic
oldman | 老爷爷 老人 老伯伯 老头 老人家 阿公 | old man | m | elder | generic
girl | 小女孩 女孩 小姑娘 姑娘 女孩子 | girl, little girl | f | child | generic
boy | 小男孩 男孩 男孩子 | boy, little boy | m | child | generic
child | 孩子 小朋友 小孩 | child, kid | - | child | generic
baby | 婴儿 小宝宝 | baby | - | child | generic
woman | 女人 女士 妇人 | woman, lady | f | adult | generic
man | 男人 先生 | man, gentleman | m | adult | generic
teacher | 老师 | teacher | - | adult | title
doctor | 医生 大夫 | doctor | - | adult |
nurse | 护士 | nurse | f | adult |
prince | 王子 小王子 | prince | m | child | title
princess | 公主 小公主 | princess | f | child | title
king | 国王 | king | m | adult | title
queen | 王后 女王 | queen | f | adult | title
fisherman | 渔夫 老渔夫 渔民 | fisherman | m | adult |
farmer | 农夫 农民 | farmer | m | adult |
hunter | 猎人 | hunter | m | adult |
woodcutter | 樵夫 | woodcutter | m | adult |
knight | 骑士 | knight | m | adult | title
wizard | 巫师 魔法师 | wizard | m | elder |
witch | 女巫 巫婆 | witch | f | adult |
astronaut | 宇航员 航天员 小宇航员 | astronaut | - | adult |
firefighter | 消防员 | firefighter, fireman | m | adult |
police | 警察 | police officer, policeman | - | adult |
baker | 面包师 | baker | - | adult |
chef | 厨师 | chef, cook | - | adult |
postman | 邮递员 | postman, mail carrier | m | adult |
painter | 画家 | painter, artist | - | adult |
sailor | 水手 | sailor | m | adult |
captain | 船长 | captain | - | adult | title
keeper | 守塔人 灯塔看守人 看守人 | lighthouse keeper, keeper | - | adult |
conductor | 列车员 | conductor | - | adult |
driver | 司机 | driver | - | adult |
shopkeeper | 店主 老板 | shopkeeper | - | adult |
student | 学生 同学 | student, pupil | - | child |
diver | 潜水员 | diver | - | adult |
rescuer | 救援队员 | rescuer | - | adult |
clockmaker | 钟表匠 | clockmaker | m | elder |
scientist | 科学家 | scientist | - | adult |
commander | 指挥官 | commander | - | adult | title
explorer | 探险家 | explorer | - | adult |
villager | 村民 | villager | - | adult |
"""


class Role(NamedTuple):
    """A word for a person: its gender (f, m or ""), age (child, adult, elder) and flags."""

    key: str
    zh: tuple[str, ...]
    en: tuple[str, ...]
    gender: str
    age: str
    kin: bool
    generic: bool
    title: bool


def _parse() -> dict[str, Role]:
    roles = {}
    for line in _ROLES.strip().splitlines():
        key, zh, en, gender, age, flags = (cell.strip() for cell in line.split("|"))
        roles[key] = Role(key, tuple(zh.split()), tuple(w.strip() for w in en.split(",")), gender.strip("-"),
                          age.strip("-"), "kin" in flags, "generic" in flags, "title" in flags)
    return roles


ROLES = _parse()
ZH_ROLES: dict[str, str] = {w: r.key for r in ROLES.values() for w in r.zh}
EN_ROLES: dict[str, str] = {w: r.key for r in ROLES.values() for w in r.en}
EN_ROLE_PLURALS: dict[str, str] = {
    **{w + "s": r.key for r in ROLES.values() for w in r.en if " " not in w},
    "children": "child", "kids": "child", "men": "man", "women": "woman", "firemen": "firefighter",
    "twins": "child", "siblings": "child", "people": "villager", "class": "student", "policemen": "police",
}
ZH_ROLE_WORDS = frozenset(ZH_ROLES)
#: Words that, placed before a Chinese role word, make it someone's name: 王老师, 周奶奶.
ZH_SURNAMES = frozenset("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁"
                        "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严"
                        "覃武戴莫孔向汤")
#: English titles before a name (Mr. Okafor, Captain Lee); they give a gender where they have one.
EN_TITLES: dict[str, str] = {
    "mr": "m", "mrs": "f", "ms": "f", "miss": "f", "dr": "", "doctor": "", "professor": "", "captain": "",
    "commander": "", "sir": "m", "lady": "f", "uncle": "m", "aunt": "f", "auntie": "f", "grandma": "f",
    "grandpa": "m", "granny": "f", "king": "m", "queen": "f", "prince": "m", "princess": "f", "mother": "f",
    "father": "m", "old": "", "little": "", "young": "", "mama": "f", "papa": "m", "nana": "f",
}
#: Chinese group words: 兄妹俩, 孩子们 … → the role or species of the members.
ZH_GROUPS: dict[str, str] = {"兄妹俩": "child", "姐妹俩": "child", "兄弟俩": "child", "孩子们": "child",
                             "双胞胎": "child", "双胞胎姐妹": "child", "双胞胎兄弟": "child", "姐妹们": "child",
                             "兄弟们": "child",
                             "小朋友们": "child", "同学们": "student", "小伙伴们": "child", "村民们": "villager",
                             "大家伙": "child"}
#: Pronouns: surface → (person: he/she/it/they, possessive?).
ZH_PRONOUNS: dict[str, str] = {"它们": "they", "他们": "they", "她们": "they", "它": "it", "他": "he", "她": "she"}
EN_PRONOUNS: dict[str, tuple[str, bool]] = {
    "he": ("he", False), "him": ("he", False), "his": ("he", True), "she": ("she", False),
    "her": ("she", False), "hers": ("she", True), "it": ("it", False), "its": ("it", True),
    "they": ("they", False), "them": ("they", False), "their": ("they", True),
}
