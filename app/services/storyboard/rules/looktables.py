"""Look attributes as (zh, en), chosen by a hash of the character's name: hair and clothes that fit a
person's age and gender, outfits of roles, accessories and features of creatures, features of things."""

from __future__ import annotations

Pair = tuple[str, str]

#: (gender, age) → hair. Gender "" is used when the script does not say.
HAIR: dict[tuple[str, str], tuple[Pair, ...]] = {
    ("f", "child"): (("扎着两个小辫子的黑发", "black hair in two little braids"), ("齐耳的短发", "a short bob"),
                     ("扎着马尾的棕色头发", "a brown ponytail"), ("蓬松的卷发", "fluffy curls")),
    ("m", "child"): (("乌黑的短发", "short black hair"), ("翘起一撮呆毛的短发", "short hair with a cowlick"),
                     ("蓬松的棕色短发", "fluffy brown hair"), ("圆圆的寸头", "a buzz cut")),
    ("", "child"): (("乌黑的短发", "short black hair"), ("蓬松的棕色头发", "fluffy brown hair")),
    ("f", "adult"): (("齐肩的黑色长发", "shoulder-length black hair"), ("盘起的发髻", "hair in a neat bun"),
                     ("利落的栗色短发", "neat chestnut bob"), ("卷曲的棕色长发", "long wavy brown hair")),
    ("m", "adult"): (("利落的黑色短发", "short neat black hair"), ("微卷的棕发和短胡茬", "wavy brown hair and stubble"),
                     ("整齐的短发", "tidy short hair"), ("短发和络腮胡", "short hair and a full beard")),
    ("", "adult"): (("利落的黑色短发", "short neat black hair"), ("扎起的深棕色头发", "tied-back dark brown hair")),
    ("f", "elder"): (("银白的发髻", "a silver-white bun"), ("花白的短卷发", "short curly grey hair")),
    ("m", "elder"): (("花白的短发", "short grey hair"), ("稀疏的白发和白胡子", "thin white hair and a white beard")),
    ("", "elder"): (("银白的头发", "silver-white hair"), ("花白的短发", "short grey hair")),
}
#: age → clothes (a role's outfit wins).
CLOTHES: dict[str, tuple[Pair, ...]] = {
    "child": (("穿着蓝色背带裤", "blue overalls"), ("穿着黄色雨衣", "a yellow raincoat"),
              ("穿着条纹T恤", "a striped T-shirt"), ("穿着红色连帽衫", "a red hoodie"),
              ("穿着绿色毛衣", "a green sweater")),
    "adult": (("穿着白衬衫和格子马甲", "a white shirt and a plaid vest"), ("穿着灰色长外套", "a long grey coat"),
              ("穿着米色针织开衫", "a beige knitted cardigan"), ("穿着深蓝色工装", "dark blue work clothes")),
    "elder": (("穿着米色针织开衫", "a beige knitted cardigan"), ("穿着对襟棉袄", "a padded cotton jacket"),
              ("穿着灰色长外套", "a long grey coat")),
}
#: role → outfit.
OUTFITS: dict[str, Pair] = {
    "astronaut": ("穿着白色宇航服", "a white spacesuit"), "commander": ("穿着蓝色飞行服", "a blue flight suit"),
    "firefighter": ("穿着橙色消防服，戴着头盔", "an orange firefighter suit and helmet"),
    "teacher": ("穿着米色针织开衫，胸前别着工作牌", "a beige cardigan with a name badge"),
    "fisherman": ("穿着防水的旧外套", "a worn waterproof jacket"),
    "witch": ("戴着尖顶黑帽，披着长斗篷", "a pointed black hat and a long cloak"),
    "wizard": ("穿着缀满星星的长袍", "a long robe covered in stars"),
    "prince": ("戴着小王冠，披着红色披风", "a small crown and a red cape"),
    "princess": ("戴着小王冠，穿着淡粉色长裙", "a small crown and a pale pink gown"),
    "king": ("戴着金色王冠，穿着红色长袍", "a golden crown and a red robe"),
    "queen": ("戴着王冠，穿着华丽的长裙", "a crown and an elegant gown"),
    "baker": ("系着白色围裙", "a white apron"), "chef": ("戴着厨师帽，系着白围裙", "a chef's hat and a white apron"),
    "doctor": ("穿着白大褂", "a white coat"), "nurse": ("穿着护士服", "a nurse's uniform"),
    "police": ("穿着蓝色警服", "a blue police uniform"),
    "conductor": ("穿着深蓝色列车员制服", "a navy conductor's uniform"),
    "sailor": ("穿着蓝白条纹水手服", "a blue-and-white striped sailor top"),
    "captain": ("戴着船长帽", "a captain's cap"),
    "keeper": ("穿着厚毛衣和防水外套", "a thick sweater and an oilskin coat"),
    "knight": ("穿着银色盔甲", "silver armour"),
    "diver": ("穿着黑色潜水服", "a black wetsuit"), "student": ("穿着蓝白校服", "a blue-and-white school uniform"),
    "postman": ("穿着绿色邮差制服", "a green postal uniform"),
    "farmer": ("戴着草帽，穿着工装裤", "a straw hat and dungarees"),
    "rescuer": ("穿着橙色救生衣", "an orange life jacket"), "driver": ("戴着司机帽", "a driver's cap"),
    "clockmaker": ("系着皮围裙，戴着放大镜片", "a leather apron and a magnifying loupe"),
    "scientist": ("穿着白色实验服", "a white lab coat"), "explorer": ("戴着探险帽", "an explorer's hat"),
}
PERSON_FEATURES: tuple[Pair, ...] = (("戴着圆框眼镜", "round glasses"), ("脸颊上有雀斑", "freckled cheeks"),
                                     ("笑起来有酒窝", "dimples when smiling"), ("眼神明亮", "bright eyes"),
                                     ("手腕上系着红绳", "a red string on the wrist"), ("眉毛浓浓的", "thick eyebrows"))
#: (gender, age) → how a look calls the person.
PERSON_NOUNS: dict[tuple[str, str], Pair] = {
    ("f", "child"): ("小女孩", "little girl"), ("m", "child"): ("小男孩", "little boy"),
    ("", "child"): ("孩子", "child"),
    ("f", "adult"): ("女子", "woman"), ("m", "adult"): ("男子", "man"), ("", "adult"): ("成年人", "adult"),
    ("f", "elder"): ("老奶奶", "old woman"), ("m", "elder"): ("老爷爷", "old man"),
    ("", "elder"): ("老人", "elderly person"),
}
ACCESSORIES: tuple[Pair, ...] = (("系着红色围巾", "a red scarf"), ("背着蓝色小背包", "a small blue backpack"),
                                 ("戴着黄色领结", "a yellow bow tie"), ("披着绿色小斗篷", "a little green cape"),
                                 ("挂着铜铃铛项圈", "a brass bell collar"), ("系着紫色丝带", "a purple ribbon"))
CREATURE_FEATURES: tuple[Pair, ...] = (("圆圆的大眼睛", "big round eyes"), ("亮晶晶的黑眼睛", "shiny black eyes"),
                                       ("额头上有一小块白色印记", "a small white mark on the forehead"),
                                       ("粉粉的脸颊", "rosy cheeks"), ("翘起的小尾巴", "a perky little tail"))
#: thing species → its feature.
THING_FEATURES: dict[str, Pair] = {
    "robot": ("圆圆的蓝色眼灯", "round glowing blue eye-lights"), "kite": ("长长的彩带尾巴", "a long ribbon tail"),
    "snowman": ("胡萝卜鼻子和煤球眼睛", "a carrot nose and coal eyes"),
    "paperboat": ("折痕清晰的船身", "crisp folded sides"),
    "doll": ("纽扣眼睛", "button eyes"), "teddy": ("缝补过的耳朵",
    "a patched ear"), "puppet": ("关节上系着细线", "strings at the joints"),
    "scarecrow": ("破草帽", "a ragged straw hat"), "soldier": ("高高的军帽", "a tall shako hat"),
    "balloon": ("细细的白绳", "a thin white string"), "piano": ("泛黄的琴键", "yellowed keys"),
    "clock": ("金色的表盘", "a golden clock face"), "train": ("冒着白烟的烟囱", "a puffing chimney"),
    "car": ("圆圆的车灯", "round headlights"),
}
#: a made thing's body → (zh, en) material word for a thing shaped like an animal (a clockwork mouse).
MADE: dict[str, Pair] = {"metal": ("黄铜发条", "brass clockwork"), "plush": ("毛绒", "plush"),
                         "wood": ("木头", "wooden"), "paper": ("折纸", "folded-paper")}
GROUP_WORDS: Pair = ("一群", "a group of")
PEOPLE_GROUP: Pair = ("穿着五颜六色的衣服，有高有矮", "in colourful clothes, tall and short")
