"""Animals and things that can be characters: the nouns naming them and what their bodies look like.

One row per species: key | Chinese nouns | English nouns (singular; an irregular plural after "/") |
body | colours | size. The first Chinese and English nouns are how a look names the species.
"""

from __future__ import annotations

import re
from typing import NamedTuple

ANIMAL, THING = "animal", "thing"

#: body → (zh, en): what covers it.
BODIES: dict[str, tuple[str, str]] = {
    "fur": ("毛发", "fur"), "wool": ("卷卷的羊毛", "curly wool"), "down": ("绒毛", "downy fluff"),
    "feathers": ("羽毛", "feathers"), "scales": ("鳞片", "scales"), "skin": ("皮肤", "skin"),
    "shell": ("硬壳", "shell"), "spines": ("尖刺", "spines"), "fuzz": ("绒毛", "fuzzy coat"),
    "metal": ("金属外壳", "metal body"), "paper": ("纸面", "paper"), "snow": ("雪团身体", "snow body"),
    "wood": ("木质外壳", "wooden case"), "plush": ("绒布", "plush"), "cloth": ("布料", "cloth"),
    "straw": ("稻草", "straw"), "rubber": ("外皮", "rubber skin"),
}
#: colour → (zh, en).
COLOURS: dict[str, tuple[str, str]] = {
    "golden": ("金黄色", "golden"), "light_brown": ("浅棕色", "light brown"), "dark_brown": ("深棕色", "dark brown"),
    "honey": ("蜂蜜色", "honey-coloured"), "cream": ("奶油色", "cream"), "white": ("雪白", "snow-white"),
    "black": ("乌黑", "jet-black"), "grey": ("灰色", "grey"), "silver": ("银灰色", "silver-grey"),
    "ginger": ("橘黄色", "ginger"), "tabby": ("橘白相间", "orange-and-white"),
    "black_white": ("黑白相间", "black-and-white"), "fox_red": ("火红色", "fiery red"), "russet": ("红棕色", "russet"),
    "pink": ("粉红色", "pink"), "yellow": ("嫩黄色", "bright yellow"), "green": ("翠绿色", "bright green"),
    "olive": ("橄榄绿", "olive-green"), "blue": ("天蓝色", "sky-blue"), "blue_grey": ("灰蓝色", "blue-grey"),
    "red": ("鲜红色", "bright red"), "striped": ("黄黑条纹", "yellow-and-black striped"),
    "spotted": ("带白斑点的浅棕色", "light brown, white-spotted"), "tiger": ("橙黑条纹", "orange-and-black striped"),
    "rainbow": ("五彩斑斓", "rainbow-coloured"), "lavender": ("淡紫色", "lavender"), "orange": ("橙色", "orange"),
    "brass": ("黄铜色", "brass"), "teal": ("青绿色", "teal"), "ivory": ("象牙白", "ivory"),
}
#: size → (zh, en).
SIZES = {"s": ("小小的", "tiny"), "m": ("", ""), "l": ("高大的", "big")}

_ANIMALS = """
dog | 狗 小狗 狗狗 大狗 黄狗 牧羊犬 小奶狗 | dog puppy pup sheepdog hound | fur | golden light_brown cream white | m
cat | 猫 小猫 猫咪 花猫 黑猫 | cat kitten kitty | fur | ginger grey white black tabby | s
rabbit | 兔 兔子 小兔 小兔子 白兔 小白兔 野兔 小野兔 | rabbit bunny hare | fur | white grey light_brown | s
bear | 熊 小熊 狗熊 棕熊 大熊 | bear cub | fur | dark_brown light_brown honey | l
panda | 熊猫 大熊猫 熊猫宝宝 | panda | fur | black_white | l
redpanda | 小熊猫 | red panda, lesser panda | fur | russet | s
fox | 狐狸 小狐狸 | fox | fur | fox_red orange | m
wolf | 狼 灰狼 大灰狼 小狼 | wolf/wolves | fur | grey silver | l
pig | 猪 小猪 猪猪 | pig piglet | skin | pink | m
sheep | 羊 小羊 绵羊 羊羔 | sheep/sheep lamb | wool | white cream | m
goat | 山羊 | goat | fur | white light_brown | m
mouse | 老鼠 小老鼠 鼠 | mouse/mice rat | fur | grey light_brown | s
squirrel | 松鼠 小松鼠 | squirrel | fur | russet light_brown | s
hedgehog | 刺猬 小刺猬 | hedgehog | spines | light_brown dark_brown | s
deer | 鹿 小鹿 梅花鹿 | deer/deer fawn | fur | spotted | m
monkey | 猴子 小猴 小猴子 | monkey | fur | light_brown golden | m
elephant | 大象 小象 | elephant | skin | grey | l
lion | 狮子 小狮子 | lion | fur | golden | l
tiger | 老虎 小老虎 | tiger | fur | tiger | l
horse | 马 小马 马儿 | horse pony foal | fur | light_brown white dark_brown | l
cow | 牛 奶牛 小牛 | cow calf/calves | fur | black_white light_brown | l
hippo | 河马 | hippo | skin | grey | l
giraffe | 长颈鹿 | giraffe | fur | spotted | l
kangaroo | 袋鼠 | kangaroo | fur | light_brown | l
raccoon | 浣熊 | raccoon | fur | grey | s
otter | 水獭 | otter | fur | dark_brown | s
mole | 鼹鼠 | mole | fur | black | s
bat | 蝙蝠 | bat | fur | black | s
unicorn | 独角兽 | unicorn | fur | white lavender | l
seal | 海豹 | seal | fur | grey silver | m
duck | 鸭 鸭子 小鸭 小鸭子 | duck duckling | down | yellow | s
chick | 小鸡 鸡 母鸡 公鸡 | chick chicken hen rooster | down | yellow | s
goose | 鹅 大鹅 大雁 | goose/geese | feathers | white grey | m
bird | 鸟 小鸟 鸟儿 麻雀 燕子 小燕子 | bird sparrow swallow | feathers | blue light_brown red | s
owl | 猫头鹰 | owl | feathers | light_brown dark_brown | m
penguin | 企鹅 小企鹅 | penguin | feathers | black_white | m
swan | 天鹅 | swan | feathers | white | m
crow | 乌鸦 | crow raven | feathers | black | m
parrot | 鹦鹉 | parrot | feathers | green red | s
eagle | 鹰 老鹰 | eagle hawk | feathers | dark_brown | l
pigeon | 鸽子 白鸽 白鸽子 | pigeon dove | feathers | white grey | s
crane | 仙鹤 丹顶鹤 鹤 | crane heron | feathers | white | l
woodpecker | 啄木鸟 | woodpecker | feathers | red | s
butterfly | 蝴蝶 | butterfly/butterflies | fuzz | rainbow blue | s
bee | 蜜蜂 小蜜蜂 | bee | fuzz | striped | s
ant | 蚂蚁 小蚂蚁 | ant | shell | black russet | s
ladybird | 瓢虫 | ladybird ladybug | shell | red | s
snail | 蜗牛 | snail | shell | light_brown | s
frog | 青蛙 小青蛙 蛙 | frog toad | skin | green olive | s
turtle | 乌龟 小乌龟 海龟 龟 | turtle tortoise | shell | olive | m
fish | 鱼 小鱼 金鱼 | fish/fish goldfish | scales | orange silver | s
whale | 鲸 鲸鱼 座头鲸 | whale | skin | blue_grey | l
dolphin | 海豚 | dolphin | skin | grey | l
octopus | 章鱼 | octopus | skin | red | m
crab | 螃蟹 | crab | shell | red | s
shark | 鲨鱼 | shark | skin | grey | l
snake | 蛇 小蛇 | snake | scales | green | m
crocodile | 鳄鱼 | crocodile | scales | olive | l
dinosaur | 恐龙 小恐龙 | dinosaur | scales | green orange | l
dragon | 龙 小龙 巨龙 小绿龙 | dragon | scales | green red golden | l
"""
_THINGS = """
robot | 机器人 小机器人 | robot, android | metal | silver blue white | m
kite | 风筝 纸风筝 | kite | paper | red rainbow blue | m
snowman | 雪人 | snowman/snowmen | snow | white | m
paperboat | 纸船 小纸船 | paper boat | paper | white | s
doll | 布娃娃 娃娃 洋娃娃 | doll, rag doll | cloth | pink | s
teddy | 泰迪熊 玩具熊 | teddy bear, teddy | plush | honey | s
puppet | 木偶 | puppet | wood | light_brown | s
scarecrow | 稻草人 | scarecrow | straw | golden | l
soldier | 锡兵 玩具兵 | toy soldier, tin soldier | metal | red | s
balloon | 气球 | balloon | rubber | red | s
piano | 钢琴 | piano | wood | black | l
clock | 闹钟 座钟 | clock | wood | brass | m
train | 小火车 | little train, toy train | metal | red | m
car | 小汽车 | little car, toy car | metal | red | m
"""


class Species(NamedTuple):
    """An animal or a thing that can be a character."""

    key: str
    kind: str
    zh: tuple[str, ...]
    en: tuple[str, ...]
    plurals: tuple[str, ...]
    body: str
    colours: tuple[str, ...]
    size: str


def _plural(noun: str) -> str:
    if re.search(r"(s|x|ch|sh)$", noun):
        return noun + "es"
    if re.search(r"[^aeiou]y$", noun):
        return noun[:-1] + "ies"
    return noun + "s"


def _parse(table: str, kind: str) -> list[Species]:
    rows = []
    for line in table.strip().splitlines():
        key, zh, en, body, colours, size = (cell.strip() for cell in line.split("|"))
        singulars, plurals = [], []
        for word in (w.strip() for w in en.split(",")) if "," in en or kind == THING else en.split():
            noun, _, plural = word.partition("/")
            singulars.append(noun)
            plurals.append(plural or _plural(noun))
        rows.append(Species(key, kind, tuple(zh.split()), tuple(singulars), tuple(plurals), body,
                            tuple(colours.split()), size))
    return rows


SPECIES: dict[str, Species] = {s.key: s for s in (*_parse(_ANIMALS, ANIMAL), *_parse(_THINGS, THING))}
#: Chinese noun → species key; English singular or plural noun → (species key, plural?).
ZH_SPECIES: dict[str, str] = {w: s.key for s in SPECIES.values() for w in s.zh}
EN_SPECIES: dict[str, tuple[str, bool]] = {
    **{p: (s.key, True) for s in SPECIES.values() for p in s.plurals},
    **{w: (s.key, False) for s in SPECIES.values() for w in s.en},
}
ZH_SPECIES_WORDS = frozenset(ZH_SPECIES)
#: Words before an English animal noun that make it a made thing ("a clockwork mouse", "a toy bear").
EN_MATERIALS: dict[str, str] = {"clockwork": "metal", "toy": "plush", "wooden": "wood", "paper": "paper",
                                "tin": "metal", "mechanical": "metal", "stuffed": "plush", "robot": "metal"}
ZH_MATERIALS: dict[str, str] = {"发条": "metal", "玩具": "plush", "木头": "wood", "纸": "paper", "机械": "metal"}
