"""Words that name a place, with a picture-friendly description and the locative they take.

Chinese rows: noun | description when the script gives none | locative suffix (里 in, 上 on, 边 by; "-" none).
English rows: noun (a multi-word noun allowed) | description | preposition.
"""

from __future__ import annotations

from typing import NamedTuple

_ZH = """
森林 茂密的 里|树林 幽静的 里|竹林 青翠的 里|草地 开阔的 上|草原 辽阔的 上|草坪 绿油油的 上|田野 开阔的 里
稻田 金黄的 里|麦田 金色的 里|田埂 弯弯的 上|菜园 整齐的 里|花园 开满鲜花的 里|果园 结满果子的 里
萝卜地 绿油油的 里|院子 安静的 里|家 温馨的 里|屋子 温暖的 里|小屋 温馨的 里|房间 温暖的 里|卧室 温馨的 里
厨房 暖融融的 里|客厅 明亮的 里|窝 温暖的 里|树洞 圆圆的 里|山洞 幽深的 里|洞穴 幽深的 里|洞口 圆圆的 -
洞 小小的 里|山顶 高高的 上|山脚下 宁静的 -|山谷 连绵的 里|山坡 长满青草的 上|大山 连绵的 里|山 青翠的 上
河边 清澈的 -|小河 清澈的 边|河 宽宽的 边|溪边 潺潺的 -|小溪 潺潺的 边|湖边 平静的 -|湖 平静的 边|池塘 清澈的 边
岸边 长满青草的 -|海边 宽阔的 -|大海 蔚蓝的 边|海上 波涛起伏的 -|海 蔚蓝的 上|沙滩 金色的 上|海滩 金色的 上
码头 古老的 上|港口 繁忙的 里|灯塔 白色的 里|小岛 绿色的 上|甲板 摇晃的 上|小船 摇晃的 上|城市 热闹的 里
街道 热闹的 上|街上 安静的 -|街角 热闹的 -|巷子 窄窄的 里|小镇 宁静的 里|小城 安静的 里|村子 宁静的 里
村庄 宁静的 里|渔村 宁静的 里|学校 明亮的 里|教室 明亮的 里|操场 宽阔的 上|图书馆 安静的 里|博物馆 宽敞的 里
大厅 宽敞的 里|展厅 安静的 里|公园 绿树成荫的 里|动物园 热闹的 里|游乐园 五彩缤纷的 里|医院 明亮的 里
商店 小小的 里|面包店 飘着香气的 里|文具店 小小的 里|市场 热闹的 里|集市 热闹的 上|车站 古老的 里
火车站 古老的 里|站台 长长的 上|火车 飞驰的 上|大巴 摇晃的 上|飞船 银色的 里|太空 浩瀚的 里|月球 荒凉的 上
星空 浩瀚的 下|天空 辽阔的 里|云朵 白白的 间|屋顶 高高的 上|阁楼 安静的 里|窗边 明亮的 -|窗台 明亮的 上
门口 温暖的 -|台阶 石头 上|桥 古老的 上|小木桥 窄窄的 上|木桥 窄窄的 上|工厂 废弃的 里|城堡 古老的 里
王宫 金碧辉煌的 里|宫殿 华丽的 里|城墙 高高的 上|沙漠 金色的 里|冰山 晶莹的 上|南极 冰天雪地的 -
北极 冰天雪地的 -|雪地 白茫茫的 上|雪山 白雪皑皑的 上|井 幽深的 里|枯井 幽深的 里|井底 幽暗的 -|井沿 石头 上
井口 圆圆的 -|篱笆 木头 边|芦苇丛 茂密的 里|大树 高大的 下|树下 浓荫的 -|巢 小小的 里|车库 堆满杂物的 里
帐篷 小小的 里|营地 热闹的 里|浴室 明亮的 里|地下室 昏暗的 里|温室 暖和的 里|马厩 干净的 里|餐厅 热闹的 里
饭店 热闹的 里|咖啡馆 安静的 里|电影院 昏暗的 里|剧院 华丽的 里|寺庙 古老的 里|机场 繁忙的 里|飞机 平稳的 上
游泳池 碧蓝的 里|体育馆 宽敞的 里|马戏团 热闹的 里|水族馆 幽蓝的 里|农场 开阔的 上|火山 高耸的 上|峡谷 幽深的 里
悬崖 陡峭的 边|冰川 晶莹的 上|超市 明亮的 里|商场 热闹的 里|书店 安静的 里|花店 芬芳的 里|小店 小小的 里
小路 弯弯的 上|路边 长满野草的 -|鸟巢 小小的 里|舱 狭小的 里|幼儿园 五彩缤纷的 里|大楼 高高的 里|楼 高高的 里
池塘边 清澈的 -|海底 幽蓝的 -
"""
_EN = """
forest dense green in|woods quiet in|bamboo forest green in|jungle thick in|meadow open grassy on|field open in
fields open in|grassland wide on|garden flowering in|school garden little in|park leafy in|orchard fruit in
farm quiet on|farmhouse old in|barn red in|yard sunny in|backyard sunny in|house cosy in|home warm at
cottage little in|room warm in|bedroom cosy in|kitchen warm in|attic dusty in|den snug in|nest small in
hive humming in|burrow cosy in|cave deep in|tower crooked in|castle old stone in|palace grand in|hall big in
school hall big in|stage bright on|classroom bright in|school busy at|gym big in|library quiet in
museum grand in|hospital bright in|bakery warm in|shop little in|toy shop cluttered in|market busy at
square cobbled in|street quiet on|streets empty on|city busy in|town little in|village quiet in
mountain village little in|harbour busy at|harbor busy at|pier wooden on|dock wooden on|port busy at
station old in|train station old in|platform long on|train rattling on|bus rumbling on|boat small on|ship big on
deck rocking on|lighthouse white at|island green on|beach sandy on|shore rocky on|sea wide by|ocean wide in
waves rolling in|coast windy on|lake quiet on|pond still by|river winding by|stream clear by|creek little by
riverbank grassy on|marsh misty in|swamp misty in|reeds tall among|valley green in|hill grassy on
hills rolling over|mountain tall on|mountains tall among|desert golden in|snow deep in|ice cold on
iceberg icy on|sky open in|clouds soft among|space station orbiting in|spaceship silver in|moon grey on
rocks dark on|rock lonely on|horizon distant on|bridge old stone on|tunnel dark in|gutter wet in|drain dark in
road long on|path narrow on|lane quiet on|alley narrow in|rooftop high on|roof high on|window bright at
garage cluttered in|shed wooden in|tent small in|camp busy at|campsite quiet at|bathroom bright in
living room cosy in|basement dim in|cellar dark in|greenhouse warm in|stable quiet in|restaurant busy in
cafe cosy in|theatre grand in|theater grand in|cinema dark in|temple old in|airport busy at|plane steady on
pool blue by|circus lively at|aquarium blue in|volcano smoking on|canyon deep in|cliff steep on|glacier icy on
supermarket bright in|bookshop quiet in|bed cosy in|ward quiet in|corridor long in|hallway long in|stall busy at
office busy in|windowsill sunny on|door open at|doorstep worn on|porch wooden on|bench old on|log mossy on
branch high on|tree tall in|oak old by|pines tall among|well deep in|playground busy in|zoo busy at
factory old in|workshop cluttered in|airlock narrow in|kingdom whole across
"""


class PlaceWord(NamedTuple):
    """A place noun: how a picture describes it when the script gives no description, and its locative."""

    noun: str
    description: str
    locative: str


def _zh_rows() -> dict[str, PlaceWord]:
    rows = {}
    for cell in _ZH.replace("\n", "|").split("|"):
        if cell.strip():
            noun, description, suffix = cell.split()
            rows[noun] = PlaceWord(noun, description, "" if suffix == "-" else suffix)
    return rows


def _en_rows() -> dict[str, PlaceWord]:
    rows = {}
    for cell in _EN.replace("\n", "|").split("|"):
        if cell.strip():
            words = cell.split()
            # multi-word nouns: the noun is every word the next row wouldn't call a description
            noun_len = 2 if " ".join(words[:2]) in _MULTI else 1
            noun = " ".join(words[:noun_len])
            rows[noun] = PlaceWord(noun, " ".join(words[noun_len:-1]), words[-1])
    return rows


_MULTI = frozenset({"bamboo forest", "school garden", "school hall", "toy shop", "train station", "mountain village",
                    "space station", "living room"})
ZH_PLACES = _zh_rows()
EN_PLACES = _en_rows()
ZH_PLACE_WORDS = frozenset(ZH_PLACES)
#: Places for a premise that names none (zh, en nouns).
DEFAULT_PLACES = (("森林", "forest"), ("草地", "meadow"), ("村庄", "village"), ("花园", "garden"))
#: Nouns before 里/上/边… that are no place: body parts, feelings, things held.
ZH_NOT_PLACES = frozenset("""
    怀 怀里 手 手里 手心 心 心里 眼 眼里 眼睛 嘴 嘴里 脖子 肩膀 鼻尖 头 头上 背 背上 脸 脸上 梦 梦里
    耳朵 身 身上 怀抱 口袋 篮子 书包 信 故事 水里 路上 脑海 世界 风 雨 雪 眼前 面前 身边 身后 心中 空中
    阳光 月光 黑暗 里面 外面 胸口 翅膀 尾巴 脚 脚下 沙子 泉水 水 瓶子 纸条 伞 肚子 被子 远处 近处 四周
    周围 前方 后面 旁边 前面 这里 那里 哪里 到处 天边 窗外 门外 屋外 夕阳 阳光 灯光 方向 大家 地上 天上""".split())
#: Nouns right after a place that only say which part of it: 面包店门口, library 门口.
ZH_PLACE_PARTS = frozenset("门口 门前 旁边 附近 外面 里面 边上 角落 口".split())
