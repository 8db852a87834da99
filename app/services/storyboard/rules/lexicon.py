"""The cast's word tables: the nouns that name characters, words that are no name, and look attributes."""

from __future__ import annotations

#: Kinds of character: a kind picks the attribute tables of a look (fur or hair, accessory or clothes).
ANIMAL, BIRD, SCALED, ROBOT, PERSON, ELDER = "animal", "bird", "scaled", "robot", "person", "elder"
#: kind → the nouns that name such a character.
ZH_KINDS: dict[str, tuple[str, ...]] = {
    ANIMAL: tuple("""小狗 狗狗 小猫 猫咪 兔子 小兔 小兔子 小白兔 小熊 熊猫 大熊 狐狸 小狐狸 大灰狼 小猪 小羊 山羊 小马
        老鼠 小老鼠 猴子 小猴 大象 小象 老虎 狮子 松鼠 小松鼠 刺猬 小鹿 独角兽 狗妈妈 猫妈妈 兔妈妈 熊妈妈 猪妈妈
        羊妈妈 鸭妈妈 鸡妈妈 狗爸爸 熊爸爸""".split()),
    BIRD: tuple("小鸟 小鸭 鸭子 小鸡 猫头鹰 企鹅 老鹰 燕子 鹦鹉 蝴蝶".split()),
    SCALED: tuple("乌龟 小乌龟 青蛙 小青蛙 小鱼 鲸鱼 海豚 恐龙 小恐龙 小龙 巨龙".split()),
    ROBOT: tuple("机器人 小机器人 雪人 外星人 怪兽 精灵 小精灵 仙女".split()),
    PERSON: tuple("""妈妈 爸爸 姐姐 哥哥 弟弟 妹妹 老师 医生 公主 王子 国王 王后 女王 小女孩 女孩 小男孩 男孩 渔夫
        猎人 农夫 樵夫 骑士 巫师 女巫 魔法师 宇航员 船长 水手 守塔人 灯塔看守人 看守人 画家 厨师 邮递员
        小明 小红""".split()),
    ELDER: tuple("奶奶 爷爷 外婆 外公 老人 老爷爷 老奶奶".split()),
}
EN_KINDS: dict[str, tuple[str, ...]] = {
    ANIMAL: tuple("""dog puppy cat kitten rabbit bunny bear fox wolf pig sheep lamb horse pony mouse monkey elephant
        tiger lion squirrel hedgehog deer unicorn badger""".split()),
    BIRD: tuple("bird duck duckling chick owl penguin eagle swallow parrot butterfly".split()),
    SCALED: tuple("turtle tortoise frog fish whale dolphin dinosaur dragon snake".split()),
    ROBOT: tuple("robot snowman alien monster fairy elf".split()),
    PERSON: ("lighthouse keeper", *"""keeper mother mom mum father dad sister brother teacher doctor princess prince
        king queen girl boy fisherman hunter farmer woodcutter knight wizard witch astronaut captain sailor painter
        baker cook postman child""".split()),
    ELDER: ("grandma", "grandpa", "grandmother", "grandfather", "old man", "old woman"),
}
#: noun → kind.
ZH_KIND = {name: kind for kind, names in ZH_KINDS.items() for name in names}
EN_KIND = {name: kind for kind, names in EN_KINDS.items() for name in names}
#: A premise's leading phrase holding one of these characters is an animal (会飞的猪).
ZH_ANIMAL_CHARS = "狗猫兔熊狐狼猪羊马鼠猴象虎狮鹿"

#: Capitalised words that are no name.
EN_STOP = frozenset(
    """the a an he she it they we i you his her their our my its him them us but and or so then when while
    after before one once there this that these those in on at as if every each some all no yes oh suddenly
    finally soon later now today tomorrow yesterday what why how where who which with without from for to of
    by not never always even still just only first next last little big old young long far near here chapter
    monday tuesday wednesday thursday friday saturday sunday january february march april may june july
    august september october november december christmas god please thank hello goodbye mr mrs ms dr miss
    sir lady captain professor uncle aunt king queen prince princess""".split()
)

#: Look attributes as (zh, en), chosen by a hash of the name: creatures get colour + texture, an accessory and
#: a feature; people get hair, clothes and a feature.
COLOURS = (("金黄色", "golden"), ("雪白", "snow-white"), ("浅棕色", "light brown"), ("奶油色", "cream"),
           ("灰蓝色", "blue-grey"), ("橘红色", "ginger"), ("乌黑", "jet-black"), ("银灰色", "silver-grey"))
TEXTURES = {ANIMAL: ("毛发", "fur"), BIRD: ("羽毛", "feathers"), SCALED: ("鳞片", "scales"),
            ROBOT: ("外壳", "shell")}
ACCESSORIES = (("系着红色围巾", "a red scarf"), ("背着蓝色小背包", "a small blue backpack"),
               ("戴着黄色领结", "a yellow bow tie"), ("披着绿色小斗篷", "a little green cape"),
               ("挂着铜铃铛项圈", "a brass bell collar"), ("戴着草编小帽", "a tiny straw hat"),
               ("穿着条纹毛衣", "a striped sweater"), ("系着紫色丝带", "a purple ribbon"))
CREATURE_FEATURES = (("圆圆的大眼睛", "big round eyes"), ("亮晶晶的黑眼睛", "shiny black eyes"),
                     ("额头上有一小块白色印记", "a small white mark on the forehead"),
                     ("粉粉的脸颊", "rosy cheeks"), ("翘起的小尾巴", "a perky little tail"))
HAIR = (("乌黑的短发", "short black hair"), ("扎着马尾的棕色头发", "a brown ponytail"),
        ("卷曲的红发", "curly red hair"), ("齐肩的黑色长发", "shoulder-length black hair"),
        ("蓬松的金色卷发", "fluffy blond curls"), ("利落的栗色短发", "neat chestnut hair"))
ELDER_HAIR = (("银白的头发", "silver-white hair"), ("花白的卷发", "curly grey hair"),
              ("灰白的短发", "short grey hair"))
CLOTHES = (("穿着蓝色背带裤", "blue overalls"), ("穿着黄色雨衣", "a yellow raincoat"),
           ("穿着绿色毛衣", "a green sweater"), ("穿着白衬衫和格子马甲", "a white shirt and a plaid vest"),
           ("穿着深蓝色水手服", "a navy sailor jacket"), ("穿着灰色长外套", "a long grey coat"),
           ("穿着橙色连帽衫", "an orange hoodie"), ("穿着米色针织开衫", "a beige knitted cardigan"))
PERSON_FEATURES = (("戴着圆框眼镜", "round glasses"), ("脸颊上有雀斑", "freckled cheeks"),
                   ("笑起来有酒窝", "dimples when smiling"), ("背着棕色皮挎包", "a brown leather satchel"),
                   ("眼神明亮", "bright eyes"), ("手腕上系着红绳", "a red string on the wrist"))

#: Words that end an English premise's leading noun phrase.
EN_LEAD_STOP = frozenset(
    "who that which is was are were has had have and with in on at to from for of by into can could will would"
    " must should".split()
)
