"""The embedded storyboard planner: rule-based, deterministic, no model and no network.

A full script is narrated verbatim: its sentences are grouped, in order, into 4–12 shots. A
one-line premise becomes a six-shot story arc narrated from templates. Every shot gets the same
expanded style phrase, a cast look repeated verbatim, a camera term, a tone, a "first/then/finally"
`detail` and a still-frame `image_detail` without time words.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.models.storyboard import CAMERA_TERMS, Character, PlannedShot, ShotEdit, Storyboard
from app.services.llm.text import (
    CJK_RE,
    detect_language,
    join_text,
    partition,
    speech_length,
    split_clauses,
    split_paragraphs,
    split_sentences,
)

if TYPE_CHECKING:
    from app.core.settings import Settings

MIN_SHOTS, MAX_SHOTS = 4, 12
#: Speech units per shot (see text.speech_length: 1 per CJK character, 1.5 per English word).
MIN_UNITS, TARGET_UNITS, MAX_UNITS = 12, 26, 40
#: A single sentence up to this long is a premise, expanded into a story arc.
PREMISE_MAX_UNITS = 48
TONES = ("happy", "sad", "tense", "calm", "warm", "mysterious", "excited")


def _digest(*parts: str) -> int:
    """A stable integer hash of the parts (Python's hash() is salted per process)."""
    return int(hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16], 16)


def _pick(options: tuple, *key: str):
    """One of `options`, chosen by a stable hash of `key`."""
    return options[_digest(*key) % len(options)]


# --------------------------------------------------------------------------- style

#: (keywords, zh fragment, en fragment, is_medium). English keywords match whole words.
_STYLE_TABLE: tuple[tuple[tuple[str, ...], str, str, bool], ...] = (
    (("温馨", "温暖", "warm", "cozy", "cosy"), "温暖柔和的色调", "warm soft colour palette", False),
    (("可爱", "萌", "cute", "kawaii"), "圆润可爱的卡通造型", "cute rounded cartoon characters", False),
    (("治愈", "healing"), "清新治愈的氛围", "gentle soothing atmosphere", False),
    (("唯美", "梦幻", "dreamy"), "唯美梦幻的光晕", "dreamy glowing haze", False),
    (("国漫", "国风", "guoman"), "国风3D动画，虚幻引擎5渲染，电影级光影",
     "Chinese 3D animation, Unreal Engine 5 render, cinematic lighting", True),
    (("赛博朋克", "cyberpunk"), "赛博朋克风格，霓虹灯光，雨夜街道反光，高对比度",
     "cyberpunk style, neon lights, rain-slick reflections, high contrast", True),
    (("水彩", "watercolor", "watercolour"), "水彩手绘质感，晕染的柔和笔触",
     "watercolour painting, soft bleeding brushstrokes", True),
    (("油画", "oil painting"), "古典油画质感，厚重的笔触", "classical oil painting, rich impasto brushwork", True),
    (("水墨", "ink wash"), "中国水墨画风格，留白意境", "Chinese ink wash painting, generous negative space", True),
    (("像素", "pixel"), "像素艺术风格，复古16位游戏画面", "pixel art, retro 16-bit game look", True),
    (("吉卜力", "宫崎骏", "ghibli"), "吉卜力式手绘动画风格", "Ghibli-like hand-drawn animation", True),
    (("动漫", "日漫", "二次元", "anime", "manga"), "日系动漫风格，清晰线条，赛璐璐上色",
     "anime style, clean line art, cel shading", True),
    (("皮克斯", "迪士尼", "3d", "三维", "pixar", "disney"), "3D卡通动画电影风格，细腻材质",
     "3D animated film style, detailed materials", True),
    (("写实", "真实", "realistic", "photorealistic", "photo"), "写实摄影风格，真实细节，自然景深",
     "photorealistic, lifelike detail, natural depth of field", True),
    (("电影", "cinematic"), "电影感构图，电影级调色", "cinematic composition, film colour grading", False),
    (("童话", "绘本", "fairy tale", "storybook", "picture book"), "童话绘本插画风格",
     "storybook illustration", True),
    (("剪纸", "paper cut", "papercut"), "剪纸艺术风格，层叠纸张质感", "paper-cut art, layered paper texture", True),
    (("黏土", "粘土", "clay", "claymation"), "黏土定格动画风格，手工质感", "claymation, handmade texture", True),
    (("复古", "怀旧", "vintage", "retro"), "复古胶片质感，柔和颗粒", "vintage film look, soft grain", False),
    (("奇幻", "魔幻", "fantasy"), "奇幻史诗氛围，梦幻光效", "epic fantasy mood, magical light effects", False),
    (("科幻", "sci-fi", "scifi"), "科幻未来风格，充满科技感", "futuristic sci-fi style", False),
    (("暗黑", "哥特", "dark", "gothic"), "暗黑哥特风格，低调光影", "dark gothic style, low-key lighting", False),
)
_DEFAULT_MEDIUM = {"zh": "治愈系插画风格", "en": "soft illustrated style"}
_QUALITY = {"zh": "画面精致，细节丰富，高品质", "en": "finely detailed, high quality"}
_STYLE_FILLER = re.compile(r"[\s,，、/;；+&]+|风格|画风|style|and|和|与", re.I)


def _keyword_re(keyword: str) -> re.Pattern[str]:
    if CJK_RE.search(keyword):
        return re.compile(re.escape(keyword))
    return re.compile(rf"(?<![a-z]){re.escape(keyword)}(?![a-z])", re.I)


def style_phrase(style: str, language: str) -> str:
    """Expand the user's style words into the phrase that opens every shot's prompts.

    Known words (温馨, 可爱, cyberpunk, watercolor…) map to descriptive fragments, a medium is
    added when none was named, and quality tags close it. Unknown words are kept verbatim
    ("<words>风格" / "<words> style"). Empty style gives a warm illustrated default.
    """
    lang = "zh" if language == "zh" else "en"
    fragments: list[str] = []
    has_medium = False
    rest = style
    for keywords, zh, en, medium in _STYLE_TABLE:
        hits = [k for k in keywords if _keyword_re(k).search(style)]
        if hits:
            fragments.append(zh if lang == "zh" else en)
            has_medium = has_medium or medium
            for k in hits:
                rest = _keyword_re(k).sub(" ", rest)
    leftover = _verbatim_style(style, rest, lang)
    if leftover:
        fragments.append(leftover)
    elif not has_medium:
        fragments.append(_DEFAULT_MEDIUM[lang])
    return ("，" if lang == "zh" else ", ").join([*fragments, _QUALITY[lang]])


def _verbatim_style(style: str, rest: str, lang: str) -> str:
    """The user's unknown style words, cleaned of time words, suffixed with 风格 / style."""
    if len(_STYLE_FILLER.sub("", rest)) < 2:
        return ""
    words = remove_time_words(" ".join(rest.split()), lang).strip(" ,，、")
    if not words:
        return ""
    if re.search(r"(风格|画风|style)$", style.strip(), re.I) and words == style.strip():
        return words
    return f"{words}风格" if lang == "zh" else f"{words} style"


# --------------------------------------------------------------------------- time words

_ZH_TIME = re.compile(r"紧接着|首先|先是|然后|接着|随后|之后|最后|最终|后来|先(?![生前辈祖人])")
_EN_TIME = re.compile(
    r"\b(?:at first|first(?:ly)?|and then|then|next(?!\s+to\b)|finally|afterwards|after that|"
    r"eventually|lastly|at last|later)\b,?\s*",
    re.I,
)


def has_time_words(text: str) -> bool:
    """Whether text contains a sequencing word (先/然后/最后/接着, first/then/finally/next)."""
    return bool(_ZH_TIME.search(text) or _EN_TIME.search(text))


def remove_time_words(text: str, language: str) -> str:
    """Drop sequencing words, then tidy the punctuation left behind."""
    text = _EN_TIME.sub("", _ZH_TIME.sub("", text))
    text = re.sub(r"([，,、])\s*[，,、]+", r"\1", text)
    text = re.sub(r"\s{2,}", " ", text)
    return text.strip(" ，,、;；") if language == "zh" else text.strip(" ,;")


# --------------------------------------------------------------------------- cameras

_CAMERA_ALIASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("360度环绕", ("360", "全景环绕", "full orbit")),
    ("左旋转", ("左旋", "rotate left", "roll left", "counterclockwise", "anticlockwise")),
    ("右旋转", ("右旋", "rotate right", "roll right", "clockwise")),
    ("环绕主体", ("环绕", "orbit", "circle around", "arc shot")),
    ("推镜头", ("拉近", "推", "push", "dolly in", "zoom in", "close in")),
    ("拉镜头", ("拉", "pull", "dolly out", "zoom out", "reveal")),
    ("锁定跟随", ("跟", "follow", "track")),
    ("水平横移", ("横移", "平移", "truck", "slide", "lateral", "horizontal")),
    ("垂直升降", ("升", "降", "crane", "pedestal", "vertical", "boom", "rise")),
    ("上下摇镜", ("上下", "tilt")),
    ("左右摇镜", ("摇", "pan")),
    ("固定镜头", ("固定", "静止", "fixed", "static", "still", "locked", "tripod")),
)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[-_]+", " ", text.lower()).split())


def resolve_camera(value: str) -> str | None:
    """Map a camera term, English label or loose synonym ("push-in", "zoom out") to a CAMERA_TERMS key.

    Returns None when nothing matches.
    """
    wanted = _norm(value)
    for key, label in CAMERA_TERMS.items():
        if wanted in (_norm(key), _norm(label)):
            return key
    for key, aliases in _CAMERA_ALIASES:
        if any(alias in wanted for alias in aliases):
            return key
    return None


# --------------------------------------------------------------------------- cue tables

#: tone → (zh cues, en cues); the tone with most hits wins, ties go to the earlier tone.
_TONE_CUES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "tense": (("危险", "害怕", "追", "逃", "怪兽", "暴风", "紧张", "吼", "可怕", "救命", "尖叫", "惊恐"),
              ("danger", "afraid", "scared", "chase", "flee", "monster", "storm", "tense", "roar", "scream")),
    "sad": (("哭", "伤心", "难过", "泪", "孤单", "孤独", "失去", "悲伤", "想念", "失望", "寂寞"),
            ("cry", "cried", "sad", "tears", "alone", "lonely", "lost", "miss", "missed", "grief")),
    "mysterious": (("神秘", "奇怪", "秘密", "魔法", "发光", "影子", "未知", "古老", "奇妙"),
                   ("mysterious", "strange", "secret", "magic", "glow", "glowing", "shadow", "ancient")),
    "excited": (("冒险", "出发", "激动", "兴奋", "惊喜", "飞"),
                ("adventure", "excited", "thrilled", "surprise", "fly", "flew", "sets off")),
    "happy": (("开心", "高兴", "快乐", "笑", "欢呼", "喜悦", "欢乐", "蹦"),
              ("happy", "laugh", "laughed", "smile", "smiled", "cheer", "joy", "glad")),
    "warm": (("拥抱", "抱", "温暖", "爱", "陪伴", "感谢", "谢谢", "团聚", "回家", "暖"),
             ("hug", "hugged", "embrace", "warm", "love", "loved", "together", "thank", "home")),
    "calm": (("安静", "静静", "慢慢", "宁静", "平静", "睡", "轻轻"),
             ("quiet", "quietly", "calm", "slowly", "peaceful", "sleep", "gently", "still")),
}

#: (zh cues, en cues, zh predicate, en verb phrase, en still-frame state) for the shot's key action.
_ACTIONS: tuple[tuple[tuple[str, ...], tuple[str, ...], str, str, str], ...] = (
    (("跑", "奔", "冲", "追", "逃"), ("run", "ran", "race", "raced", "chase", "chased", "rush", "dash", "flee"),
     "迈开步子飞快地奔跑", "breaks into a fast run", "running at full speed"),
    (("飞", "翅膀"), ("fly", "flew", "flies", "soar", "soared", "wings"),
     "轻盈地腾空而起", "lifts off into the air", "floating in mid-air"),
    (("拥抱", "抱", "依偎"), ("hug", "hugged", "embrace", "embraced", "cuddle"),
     "张开双臂紧紧拥抱", "opens both arms for a tight hug", "in a tight embrace"),
    (("哭", "泪", "伤心", "难过"), ("cry", "cried", "tears", "weep", "wept", "sob"),
     "低下头，泪珠轻轻滑落", "lowers the head as tears fall", "with tears on the cheeks"),
    (("打开", "读", "信", "瓶"), ("open", "opened", "opens", "read", "letter", "message", "bottle"),
     "小心翼翼地打开手中的东西", "carefully opens what is in hand", "holding an opened note"),
    (("发现", "看见", "看到", "找到"),
     ("discover", "discovered", "notice", "noticed", "saw", "spot", "found", "find", "finds"),
     "停下脚步，惊讶地睁大眼睛", "stops and stares in surprise", "wide-eyed with surprise"),
    (("找", "寻", "张望"), ("search", "searches", "searched", "look for", "looks for", "looking for", "seek"),
     "四处张望，仔细寻找", "looks around carefully, searching", "peering around searchingly"),
    (("笑", "开心", "高兴", "欢呼"), ("laugh", "laughed", "smile", "smiled", "cheer", "cheered", "happy"),
     "开心地蹦跳起来", "jumps up happily", "mid-jump, beaming"),
    (("爬", "登", "攀"), ("climb", "climbed", "climbs"),
     "手脚并用向上攀爬", "climbs steadily upward", "clinging on mid-climb"),
    (("睡", "梦", "躺"), ("sleep", "slept", "dream", "dreamed", "lay", "lies"),
     "蜷起身子安静地躺下", "curls up and lies down quietly", "curled up asleep"),
    (("望", "看着", "星星", "月亮"), ("gaze", "gazed", "stare", "stared", "watch", "watched", "stars", "moon"),
     "抬头凝望远方", "gazes into the distance", "gazing into the distance"),
    (("说", "问", "喊", "告诉"), ("say", "said", "ask", "asked", "shout", "shouted", "tell", "told", "whisper"),
     "抬起头开口说话", "looks up and speaks", "speaking with an open expression"),
    (("走", "来到", "出发", "穿过", "一路"), ("walk", "walked", "went", "set off", "sets off", "cross", "travel"),
     "沿着小路慢慢向前走", "walks slowly along the path", "walking along the path"),
)

#: tone → (zh predicate, en verb phrase, en state): the closing beat of a shot without an action cue.
_TONE_BEATS: dict[str, tuple[str, str, str]] = {
    "happy": ("露出灿烂的笑容", "breaks into a bright smile", "with a bright smile"),
    "sad": ("静静地垂下眼帘", "quietly lowers the gaze", "with lowered, sad eyes"),
    "tense": ("屏住呼吸，警惕地望向前方", "holds the breath and stares ahead", "tense and alert, staring ahead"),
    "calm": ("静静地伫立，望向远方", "stands still, gazing far away", "standing still, gazing far away"),
    "warm": ("脸上浮现温暖的微笑", "smiles warmly", "with a warm smile"),
    "mysterious": ("好奇地凝视着前方的微光", "peers curiously at a faint glow", "peering at a faint glow"),
    "excited": ("兴奋地挥舞双手", "waves excitedly", "waving excitedly"),
}

#: role → (zh opening predicate with {place}, en opening verb phrase with {place}).
_OPENERS = {
    "opening": ("安静地站在{place}", "stands quietly {place}"),
    "middle": ("从画面左侧走入", "steps in from the left"),
    "ending": ("放慢脚步，停了下来", "slows down and comes to a stop"),
}

#: (zh cues, en cues, zh noun, zh locative suffix, en preposition, en noun)
_PLACES: tuple[tuple[tuple[str, ...], tuple[str, ...], str, str, str, str], ...] = (
    (("灯塔",), ("lighthouse",), "海边的白色灯塔", "里", "at", "a white lighthouse by the sea"),
    (("森林", "树林"), ("forest", "woods"), "茂密的森林", "里", "in", "a dense green forest"),
    (("河", "溪"), ("river", "stream", "creek"), "清澈的小河", "边", "by", "a clear winding stream"),
    (("海", "沙滩"), ("sea", "ocean", "beach", "shore"), "宽阔的海边沙滩", "上", "on", "a wide sandy seashore"),
    (("山上", "山顶", "山谷", "高山", "大山"), ("mountain", "hill", "valley"), "连绵的山谷", "间", "among",
     "rolling mountain valleys"),
    (("草地", "草原", "田野"), ("meadow", "field", "grassland"), "开阔的草地", "上", "on", "an open grassy meadow"),
    (("花园", "花丛"), ("garden", "flowers"), "开满鲜花的花园", "里", "in", "a garden full of flowers"),
    (("村", "小镇"), ("village", "town"), "宁静的小村庄", "里", "in", "a quiet little village"),
    (("城市", "街道", "街上"), ("city", "street"), "热闹的城市街道", "上", "on", "a busy city street"),
    (("家里", "家中", "小屋", "房间", "屋里"), ("house", "room", "kitchen", "cottage"),
     "温馨的小屋", "里", "in", "a cosy little cottage"),
    (("学校", "教室"), ("school", "classroom"), "明亮的教室", "里", "in", "a bright classroom"),
    (("下雪", "雪地", "大雪", "雪花"), ("snow", "snowy"), "白雪覆盖的大地", "上", "on", "snow-covered land"),
    (("月亮", "星空", "太空", "宇宙", "星星"), ("moon", "stars", "space"), "浩瀚的星空", "下", "under",
     "a vast starry sky"),
    (("天空", "云"), ("sky", "clouds"), "辽阔的天空", "下", "under", "a vast open sky"),
    (("城堡", "王宫"), ("castle", "palace"), "古老的城堡", "里", "in", "an old stone castle"),
    (("沙漠",), ("desert",), "金色的沙漠", "中", "in", "golden desert dunes"),
    (("山洞",), ("cave",), "幽深的山洞", "里", "in", "a deep cave"),
    (("船",), ("boat", "ship"), "摇晃的船甲板", "上", "on", "the deck of a rocking boat"),
)
_DEFAULT_PLACES = (1, 5, 7, 6)  # indexes into _PLACES for stories that name no place

#: time-of-day cues → lighting key; inherited by later shots until another cue appears.
_TIME_CUES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("night", ("夜", "晚上", "月光", "星星", "月亮"), ("night", "moon", "moonlight", "stars", "midnight")),
    ("morning", ("清晨", "早晨", "早上", "日出", "黎明"), ("morning", "dawn", "sunrise")),
    ("dusk", ("黄昏", "傍晚", "夕阳", "日落"), ("dusk", "sunset", "evening")),
    ("rain", ("下雨", "雨", "暴风"), ("rain", "rainy", "storm")),
)
_LIGHTING: dict[str, tuple[str, str]] = {
    "night": ("清冷的月光从右上方洒落，阴影深邃，冷蓝色调",
              "Cool moonlight falls from the upper right, deep shadows, cold blue tones"),
    "morning": ("柔和的晨光从右侧低角度照入，薄雾轻笼，淡金色调",
                "Soft low morning light from the right, light mist, pale gold tones"),
    "dusk": ("金橙色的夕阳从画面后方逆光照来，轮廓光明亮，暖橙色调",
             "Golden sunset backlight from behind, bright rim light, warm orange tones"),
    "rain": ("阴雨天的漫射光，阴影模糊，灰蓝冷色调",
             "Diffuse rainy-day light, soft blurred shadows, cool grey-blue tones"),
    "tense": ("强烈的侧逆光，明暗对比鲜明，阴影锐利，偏冷色调",
              "Hard side backlight, strong contrast, sharp shadows, cool tones"),
    "sad": ("阴天柔和的漫射光，阴影浅淡，低饱和冷色调", "Soft overcast light, faint shadows, muted cool tones"),
    "mysterious": ("幽暗的蓝紫色光线穿过薄雾形成体积光，阴影浓重",
                   "Dim blue-violet light through mist, volumetric rays, deep shadows"),
    "happy": ("明亮的阳光从左上方洒下，阴影短而清晰，鲜亮暖色调",
              "Bright sunlight from the upper left, short crisp shadows, vivid warm tones"),
    "warm": ("温暖的午后阳光从左侧斜射，投下柔和的长影，暖黄色调",
             "Warm afternoon sun slanting from the left, long soft shadows, warm yellow tones"),
    "calm": ("柔和的自然光从左侧照入，阴影轻柔，中性偏暖色调",
             "Soft natural light from the left, gentle shadows, neutral warm tones"),
    "excited": ("明快的阳光从侧面照亮画面，光影跳跃，饱和暖色调",
                "Lively side sunlight, dancing highlights, saturated warm tones"),
}
_POSITIONS = (
    ("主体位于画面前景中央", "subject in the centre foreground"),
    ("主体位于画面左侧三分之一处，右侧留出开阔空间", "subject on the left third, open space to the right"),
    ("主体位于画面右侧，前景有虚化的枝叶", "subject on the right, blurred foliage in the foreground"),
    ("主体位于中景，背景层次分明", "subject in the middle ground, layered background"),
)
_FRAMING = {
    "推镜头": ("近景特写", "close-up"),
    "拉镜头": ("远景全景", "wide establishing shot"),
    "垂直升降": ("高处俯瞰的全景", "high-angle wide view"),
}
_IMAGE_TAGS = {"zh": "构图完整，杰作", "en": "balanced composition, masterpiece"}

_EMOTION_CUES = (("哭", "泪", "拥抱", "抱", "想念", "轻声", "微笑", "心疼"),
                 ("cry", "tears", "hug", "embrace", "miss", "whisper", "smile", "heart", "love"))
_MOTION_CUES = (("跑", "奔", "追", "逃", "飞", "冲", "赶", "游", "骑", "一路", "出发"),
                ("run", "ran", "race", "chase", "flee", "fly", "flew", "rush", "dash", "swim", "ride", "sets off",
                 "travel"))
_MYSTERY_CUES = (("神秘", "秘密", "奇怪", "发光", "影子", "洞", "寻找", "找"),
                 ("mysterious", "secret", "strange", "glow", "shadow", "cave", "search", "look for"))
_VARIETY = ("固定镜头", "左右摇镜", "环绕主体", "上下摇镜", "水平横移", "推镜头", "右旋转", "360度环绕", "左旋转")


def _cue_positions(text: str, cues: tuple[str, ...], lang: str) -> list[int]:
    """Start positions of every cue in text (English cues as whole words, case-insensitive)."""
    if lang == "zh":
        return [m.start() for cue in cues for m in re.finditer(re.escape(cue), text)]
    return [m.start() for cue in cues for m in re.finditer(rf"\b{re.escape(cue)}\b", text, re.I)]


def _has_cue(text: str, pair: tuple[tuple[str, ...], tuple[str, ...]], lang: str) -> bool:
    return bool(_cue_positions(text, pair[0] if lang == "zh" else pair[1], lang))


def detect_tone(text: str, language: str, default: str = "calm") -> str:
    """The tone (one of TONES) with most cue words in text, else `default`."""
    best, best_hits = default, 0
    for tone, pair in _TONE_CUES.items():
        hits = len(_cue_positions(text, pair[0] if language == "zh" else pair[1], language))
        if hits > best_hits:
            best, best_hits = tone, hits
    return best


def _key_action(text: str, lang: str) -> tuple[str, str, str] | None:
    """The action whose cue comes first in text, as (zh predicate, en verb phrase, en state)."""
    found: list[tuple[int, int]] = []
    for rank, (zh, en, *_forms) in enumerate(_ACTIONS):
        positions = _cue_positions(text, zh if lang == "zh" else en, lang)
        if positions:
            found.append((min(positions), rank))
    if not found:
        return None
    return _ACTIONS[min(found)[1]][2:]


def _find_place(text: str, lang: str) -> int | None:
    """Index into _PLACES of the place mentioned first in text."""
    found = []
    for index, (zh, en, *_rest) in enumerate(_PLACES):
        positions = _cue_positions(text, zh if lang == "zh" else en, lang)
        if positions:
            found.append((min(positions), index))
    return min(found)[1] if found else None


def _find_time(text: str, lang: str) -> str | None:
    for key, zh, en in _TIME_CUES:
        if _cue_positions(text, zh if lang == "zh" else en, lang):
            return key
    return None


# --------------------------------------------------------------------------- cast

_ANIMAL, _BIRD, _SCALED, _ROBOT, _PERSON, _ELDER = "animal", "bird", "scaled", "robot", "person", "elder"
_ZH_KINDS: dict[str, tuple[str, ...]] = {
    _ANIMAL: tuple("""小狗 狗狗 小猫 猫咪 兔子 小兔 小兔子 小白兔 小熊 熊猫 大熊 狐狸 小狐狸 大灰狼 小猪 小羊 山羊 小马
        老鼠 小老鼠 猴子 小猴 大象 小象 老虎 狮子 松鼠 小松鼠 刺猬 小鹿 独角兽 狗妈妈 猫妈妈 兔妈妈 熊妈妈 猪妈妈
        羊妈妈 鸭妈妈 鸡妈妈 狗爸爸 熊爸爸""".split()),
    _BIRD: tuple("小鸟 小鸭 鸭子 小鸡 猫头鹰 企鹅 老鹰 燕子 鹦鹉 蝴蝶".split()),
    _SCALED: tuple("乌龟 小乌龟 青蛙 小青蛙 小鱼 鲸鱼 海豚 恐龙 小恐龙 小龙 巨龙".split()),
    _ROBOT: tuple("机器人 小机器人 雪人 外星人 怪兽 精灵 小精灵 仙女".split()),
    _PERSON: tuple("""妈妈 爸爸 姐姐 哥哥 弟弟 妹妹 老师 医生 公主 王子 国王 王后 女王 小女孩 女孩 小男孩 男孩 渔夫
        猎人 农夫 樵夫 骑士 巫师 女巫 魔法师 宇航员 船长 水手 守塔人 灯塔看守人 看守人 画家 厨师 邮递员
        小明 小红""".split()),
    _ELDER: tuple("奶奶 爷爷 外婆 外公 老人 老爷爷 老奶奶".split()),
}
_EN_KINDS: dict[str, tuple[str, ...]] = {
    _ANIMAL: tuple("""dog puppy cat kitten rabbit bunny bear fox wolf pig sheep lamb horse pony mouse monkey elephant
        tiger lion squirrel hedgehog deer unicorn badger""".split()),
    _BIRD: tuple("bird duck duckling chick owl penguin eagle swallow parrot butterfly".split()),
    _SCALED: tuple("turtle tortoise frog fish whale dolphin dinosaur dragon snake".split()),
    _ROBOT: tuple("robot snowman alien monster fairy elf".split()),
    _PERSON: ("lighthouse keeper", *"""keeper mother mom mum father dad sister brother teacher doctor princess prince
        king queen girl boy fisherman hunter farmer woodcutter knight wizard witch astronaut captain sailor painter
        baker cook postman child""".split()),
    _ELDER: ("grandma", "grandpa", "grandmother", "grandfather", "old man", "old woman"),
}
_ZH_KIND = {name: kind for kind, names in _ZH_KINDS.items() for name in names}
_EN_KIND = {name: kind for kind, names in _EN_KINDS.items() for name in names}
_ZH_ANIMAL_CHARS = "狗猫兔熊狐狼猪羊马鼠猴象虎狮鹿"


def _alternation(words) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_ZH_LEXICON_RE = re.compile(_alternation(_ZH_KIND))
_EN_LEXICON_RE = re.compile(rf"\b({_alternation(_EN_KIND)})\b", re.I)
_ZH_NAMED_RE = re.compile(
    rf"(?:名叫|叫做|名字叫)([\u4e00-\u9fff]{{2,3}}?)(?:的({_alternation(_ZH_KIND)})|(?=[的，,。！？、\s]|$))"
)
_EN_NAMED_RE = re.compile(
    rf"\b(?:a|an|the)\s+(?:[a-z]+\s+)?({_alternation(_EN_KIND)})\s+(?:named|called)\s+([A-Z][a-z]+)", re.I
)
_EN_PROPER_RE = re.compile(
    r"\b(?:(Mr|Mrs|Ms|Dr|Miss|Captain|Professor|Uncle|Aunt|King|Queen|Prince|Princess|Sir|Lady)\.?\s+)?"
    r"([A-Z][a-z]+)\b"
)
_EN_STOP = frozenset(
    """the a an he she it they we i you his her their our my its him them us but and or so then when while
    after before one once there this that these those in on at as if every each some all no yes oh suddenly
    finally soon later now today tomorrow yesterday what why how where who which with without from for to of
    by not never always even still just only first next last little big old young long far near here chapter
    monday tuesday wednesday thursday friday saturday sunday january february march april may june july
    august september october november december christmas god please thank hello goodbye mr mrs ms dr miss
    sir lady captain professor uncle aunt king queen prince princess""".split()
)

_COLOURS = (("金黄色", "golden"), ("雪白", "snow-white"), ("浅棕色", "light brown"), ("奶油色", "cream"),
            ("灰蓝色", "blue-grey"), ("橘红色", "ginger"), ("乌黑", "jet-black"), ("银灰色", "silver-grey"))
_TEXTURES = {_ANIMAL: ("毛发", "fur"), _BIRD: ("羽毛", "feathers"), _SCALED: ("鳞片", "scales"),
             _ROBOT: ("外壳", "shell")}
_ACCESSORIES = (("系着红色围巾", "a red scarf"), ("背着蓝色小背包", "a small blue backpack"),
                ("戴着黄色领结", "a yellow bow tie"), ("披着绿色小斗篷", "a little green cape"),
                ("挂着铜铃铛项圈", "a brass bell collar"), ("戴着草编小帽", "a tiny straw hat"),
                ("穿着条纹毛衣", "a striped sweater"), ("系着紫色丝带", "a purple ribbon"))
_CREATURE_FEATURES = (("圆圆的大眼睛", "big round eyes"), ("亮晶晶的黑眼睛", "shiny black eyes"),
                      ("额头上有一小块白色印记", "a small white mark on the forehead"),
                      ("粉粉的脸颊", "rosy cheeks"), ("翘起的小尾巴", "a perky little tail"))
_HAIR = (("乌黑的短发", "short black hair"), ("扎着马尾的棕色头发", "a brown ponytail"),
         ("卷曲的红发", "curly red hair"), ("齐肩的黑色长发", "shoulder-length black hair"),
         ("蓬松的金色卷发", "fluffy blond curls"), ("利落的栗色短发", "neat chestnut hair"))
_ELDER_HAIR = (("银白的头发", "silver-white hair"), ("花白的卷发", "curly grey hair"),
               ("灰白的短发", "short grey hair"))
_CLOTHES = (("穿着蓝色背带裤", "blue overalls"), ("穿着黄色雨衣", "a yellow raincoat"),
            ("穿着绿色毛衣", "a green sweater"), ("穿着白衬衫和格子马甲", "a white shirt and a plaid vest"),
            ("穿着深蓝色水手服", "a navy sailor jacket"), ("穿着灰色长外套", "a long grey coat"),
            ("穿着橙色连帽衫", "an orange hoodie"), ("穿着米色针织开衫", "a beige knitted cardigan"))
_PERSON_FEATURES = (("戴着圆框眼镜", "round glasses"), ("脸颊上有雀斑", "freckled cheeks"),
                    ("笑起来有酒窝", "dimples when smiling"), ("背着棕色皮挎包", "a brown leather satchel"),
                    ("眼神明亮", "bright eyes"), ("手腕上系着红绳", "a red string on the wrist"))


def character_look(name: str, kind: str, language: str, species: str = "") -> str:
    """A fixed visual description for a character, chosen by a hash of its name from attribute tables."""
    h = _digest(name)
    i = 0 if language == "zh" else 1
    if kind in _TEXTURES:
        colour = _COLOURS[h % len(_COLOURS)][i]
        texture = _TEXTURES[kind][i]
        first = f"{colour}的{texture}" if i == 0 else f"{colour} {texture}"
        tables = (_ACCESSORIES, _CREATURE_FEATURES)
    else:
        first = (_ELDER_HAIR if kind == _ELDER else _HAIR)[h % (3 if kind == _ELDER else len(_HAIR))][i]
        tables = (_CLOTHES, _PERSON_FEATURES)
    second = tables[0][(h >> 8) % len(tables[0])][i]
    third = tables[1][(h >> 16) % len(tables[1])][i]
    look = ("，" if i == 0 else ", ").join((first, second, third))
    if species:
        look = f"一只{species}，{look}" if i == 0 else f"a {species}, {look}"
    return look


def render_character(name: str, look: str, language: str) -> str:
    """How a character appears in prompts: its name followed by its look in brackets."""
    return f"{name}（{look}）" if language == "zh" else f"{name} ({look})"


@dataclass
class CastMember:
    """A character found in a story, with how often and where it is first mentioned."""

    name: str
    kind: str
    first: int
    count: int = 0
    species: str = ""
    aliases: set[str] = field(default_factory=set)


def _add(found: dict[str, CastMember], name: str, kind: str, pos: int, species: str = "") -> None:
    member = found.setdefault(name, CastMember(name, kind, pos, species=species))
    member.count += 1
    member.first = min(member.first, pos)
    member.species = member.species or species


def _zh_members(text: str) -> dict[str, CastMember]:
    found: dict[str, CastMember] = {}
    species_alias: dict[str, str] = {}
    for m in _ZH_NAMED_RE.finditer(text):
        species = m.group(2) or ""
        kind = _ZH_KIND.get(species, _PERSON)
        _add(found, m.group(1), kind, m.start(1), species)
        if species:
            species_alias[species] = m.group(1)
    for name in list(found):
        for extra in re.finditer(re.escape(name), text):
            if extra.start() != found[name].first:
                _add(found, name, found[name].kind, extra.start())
    for m in _ZH_LEXICON_RE.finditer(text):
        name = species_alias.get(m.group(0), m.group(0))
        _add(found, name, found[name].kind if name in found else _ZH_KIND[m.group(0)], m.start())
    return found


def _en_members(text: str) -> dict[str, CastMember]:
    found: dict[str, CastMember] = {}
    species_alias: dict[str, str] = {}
    for m in _EN_NAMED_RE.finditer(text):
        species = m.group(1).lower()
        species_alias[species] = m.group(2)
        found[m.group(2)] = CastMember(m.group(2), _EN_KIND[species], m.start(), species=species)
    for m in _EN_LEXICON_RE.finditer(text):
        noun = m.group(1).lower()
        name = species_alias.get(noun, f"the {noun}")
        _add(found, name, _EN_KIND[noun] if name not in found else found[name].kind, m.start())
    for m in _EN_PROPER_RE.finditer(text):
        _add_proper(found, text, m)
    return {k: v for k, v in found.items() if v.count > 0}


def _add_proper(found: dict[str, CastMember], text: str, m: re.Match[str]) -> None:
    """Count a capitalised word as a name unless it is a stop word or only ever opens sentences."""
    word = m.group(2)
    if word.lower() in _EN_STOP or word.lower() in _EN_KIND:
        return
    name = f"{m.group(1)}. {word}" if m.group(1) in ("Mr", "Mrs", "Ms", "Dr") else " ".join(
        filter(None, (m.group(1), word)))
    before = text[: m.start()].rstrip()
    opens_sentence = not before or before[-1] in ".!?\"“”:\n"
    if name not in found and opens_sentence and len(re.findall(rf"\b{word}\b", text)) < 2:
        return
    _add(found, name, found[name].kind if name in found else _PERSON, m.start())


def _merge(found: dict[str, CastMember], lang: str) -> list[CastMember]:
    """Fold a name into a longer one that contains it (狐狸 → 小狐狸, Smith → Mr. Smith)."""
    members = sorted(found.values(), key=lambda m: -len(m.name))
    kept: list[CastMember] = []
    for member in members:
        host = next((k for k in kept if _contains(k.name, member.name, lang)), None)
        if host:
            host.count += member.count
            host.first = min(host.first, member.first)
            host.aliases |= {member.name, *member.aliases}
        else:
            kept.append(member)
    return kept


def _contains(longer: str, shorter: str, lang: str) -> bool:
    if lang == "zh":
        return shorter in longer
    bare = shorter.removeprefix("the ")
    return bool(re.search(rf"\b{re.escape(bare)}\b", longer, re.I)) and longer != shorter


def extract_cast(text: str, language: str, limit: int = 4) -> list[CastMember]:
    """Find the characters of a story: protagonist first (most mentioned, then earliest), then by appearance.

    In a full script a secondary character must be mentioned at least twice ("howled like a wolf").
    Returns [] when the text names nobody the tables know.
    """
    found = _zh_members(text) if language == "zh" else _en_members(text)
    members = _merge(found, language)
    if not members:
        return []
    members.sort(key=lambda m: (-m.count, m.first))
    lead, others = members[0], sorted(members[1:], key=lambda m: m.first)
    if speech_length(text) > PREMISE_MAX_UNITS:
        others = [m for m in others if m.count > 1]
    return [lead, *others][:limit]


_ZH_LEAD_PREFIX = re.compile(r"\s*(?:从前|很久以前|有一天)?[，,]?\s*有?(?:一[只个位条头匹群座棵])?")
_ZH_LEAD_STOP = re.compile(r"[找去在要想和与把被是说遇发寻，。！？,.!?；;\s]")
_EN_LEAD_STOP = frozenset(
    "who that which is was are were has had have and with in on at to from for of by into can could will would"
    " must should".split()
)


def _leading_phrase(text: str, lang: str) -> tuple[str, str, int] | None:
    """The premise's leading noun phrase as (name, kind, end offset): 会飞的猪, Tom, the old clockmaker."""
    if lang == "zh":
        begin = _ZH_LEAD_PREFIX.match(text).end()
        head = _ZH_LEAD_STOP.split(text[begin:], maxsplit=1)[0]
        head = re.sub(r"(的)?(故事|童话|冒险|传说)$", "", head)
        if not 2 <= len(head) <= 6:
            return None
        kind = _ANIMAL if any(ch in head for ch in _ZH_ANIMAL_CHARS) else _PERSON
        return head, kind, begin + len(head)
    words = list(re.finditer(r"[A-Za-z']+", text))
    article = bool(words) and words[0].group().lower() in ("a", "an", "the")
    head: list[re.Match[str]] = []
    for word in words[int(article):int(article) + 3]:
        w = word.group()
        if w.lower() in _EN_LEAD_STOP or (head and re.search(r"(s|ed)$", w)):
            break
        head.append(word)
    if not head:
        return None
    phrase = " ".join(w.group() for w in head)
    kind = next((_EN_KIND[w.group().lower()] for w in head if w.group().lower() in _EN_KIND), _PERSON)
    name = f"the {phrase.lower()}" if article or not phrase[0].isupper() else phrase
    return name, kind, head[-1].end()


def _generic_hero(lang: str) -> CastMember:
    return CastMember("主人公" if lang == "zh" else "the hero", _PERSON, 0, 1)


def with_premise_lead(premise: str, cast: list[CastMember], lang: str, limit: int = 4) -> list[CastMember]:
    """Make the premise's leading noun phrase the protagonist ("An old clockmaker builds a bird")."""
    lead = _leading_phrase(premise, lang)
    if lead is None:
        return cast
    inside = [m for m in cast if _first_mention(m, premise, lang) < lead[2]]
    if inside:
        return [inside[0], *(m for m in cast if m is not inside[0])]
    return [CastMember(lead[0], lead[1], 0, 1), *cast][:limit]


def _mentions(names: set[str], text: str, lang: str) -> bool:
    """Whether text names any of `names` (English names as whole words, without "the")."""
    return any(_find_name(name, text, lang) >= 0 for name in names)


# --------------------------------------------------------------------------- shot building


@dataclass
class _Beat:
    """One planned shot before rendering: its narration and narrative role."""

    narration: str
    role: str  # opening | middle | ending
    tone: str = ""


@dataclass
class _Context:
    """What every shot of one storyboard shares, plus continuity carried shot to shot."""

    lang: str
    style: str
    cast: list[CastMember]
    looks: dict[str, str]
    place: int
    time: str | None = None
    camera: str = ""
    lead: str = ""


def _without_names(text: str, cast: list[CastMember], lang: str) -> str:
    """Blank out character names, so "lighthouse keeper" is not read as a place."""
    for member in cast:
        for name in sorted({member.name, *member.aliases}, key=len, reverse=True):
            bare = name if lang == "zh" else name.removeprefix("the ")
            text = re.sub(re.escape(bare), " ", text, flags=0 if lang == "zh" else re.I)
    return text


_PRONOUNS = {"zh": re.compile(r"[它他她]"), "en": re.compile(r"\b(?:he|she|him|his|her|they|them)\b", re.I)}


def _shot_cast(ctx: _Context, text: str) -> list[CastMember]:
    """The cast named in a shot, in cast order. A pronoun before any name brings the previous
    shot's lead to the front; a shot naming nobody shows that lead."""
    present = [m for m in ctx.cast if _mentions({m.name, *m.aliases}, text, ctx.lang)]
    previous = next((m for m in ctx.cast if m.name == ctx.lead), ctx.cast[0])
    pronoun = _PRONOUNS[ctx.lang].search(text)
    first_name = min((_first_mention(m, text, ctx.lang) for m in present), default=len(text))
    if pronoun and pronoun.start() < first_name:
        present = [previous, *(m for m in present if m is not previous)]
    return present or [previous]


def _first_mention(member: CastMember, text: str, lang: str) -> int:
    starts = [_find_name(name, text, lang) for name in (member.name, *member.aliases)]
    return min((s for s in starts if s >= 0), default=len(text))


def _find_name(name: str, text: str, lang: str) -> int:
    if lang == "zh":
        return text.find(name)
    m = re.search(rf"\b{re.escape(name.removeprefix('the '))}\b", text, re.I)
    return m.start() if m else -1


def _choose_camera(ctx: _Context, beat: _Beat, index: int) -> str:
    """A camera term by role and cue words, never the same as the previous shot's."""
    text, lang = beat.narration, ctx.lang
    if beat.role == "opening":
        options: tuple[str, ...] = _pick((("拉镜头", "垂直升降"), ("垂直升降", "拉镜头")), text)
    elif beat.role == "ending":
        options = ("拉镜头", "垂直升降")
    elif _has_cue(text, _EMOTION_CUES, lang):
        options = ("推镜头", "环绕主体")
    elif _has_cue(text, _MOTION_CUES, lang):
        options = ("锁定跟随", "水平横移")
    elif _has_cue(text, _MYSTERY_CUES, lang):
        options = ("左右摇镜", "上下摇镜")
    else:
        start = (index + _digest(text)) % len(_VARIETY)
        options = _VARIETY[start:] + _VARIETY[:start]
    return next(c for c in (*options, *_VARIETY) if c != ctx.camera)


_NEUTRAL_BEAT = ("缓缓抬起头", "slowly looks up", "looking up")


def _motion(
    ctx: _Context, actor: str, role: str, tone: str, action: tuple[str, str, str] | None
) -> tuple[str, str]:
    """The "first A, then B, finally C" sentence and the still-frame pose (C as a state).

    A is the role's opener, B the tone's beat, C the cue action; with no cue action, B is a
    neutral beat and C the tone's beat.
    """
    beat = _TONE_BEATS[tone]
    key = action or beat
    middle = beat if action else _NEUTRAL_BEAT
    zh_place, en_place = _place_phrases(ctx.place)
    if ctx.lang == "zh":
        opener = _OPENERS[role][0].format(place=zh_place)
        return f"先{actor}{opener}，然后{middle[0]}，最后{key[0]}。", f"{actor}{key[0]}"
    opener = _OPENERS[role][1].format(place=en_place)
    return f"First {actor} {opener}, then {middle[1]}, finally {key[1]}.", f"{actor} {key[2]}"


def _place_phrases(index: int) -> tuple[str, str]:
    """(zh locative, en prepositional phrase) of a place, e.g. 茂密的森林里 / in a dense green forest."""
    _zh, _en, noun, suffix, prep, en_noun = _PLACES[index]
    return noun + suffix, f"{prep} {en_noun}"


def _build_shot(ctx: _Context, beat: _Beat, index: int) -> PlannedShot:
    """Render a beat into a PlannedShot, updating the context's continuity (place, time, camera)."""
    lang, text = ctx.lang, beat.narration
    place = _find_place(_without_names(text, ctx.cast, lang), lang)
    ctx.place = ctx.place if place is None else place
    ctx.time = _find_time(text, lang) or ctx.time
    tone = beat.tone or detect_tone(text, lang, "warm" if beat.role == "ending" else "calm")
    camera = _choose_camera(ctx, beat, index)
    ctx.camera = camera
    members = _shot_cast(ctx, text)
    lead = ctx.lead = members[0].name
    zh_noun, en_noun = _PLACES[ctx.place][2], _PLACES[ctx.place][5]
    setting = zh_noun if lang == "zh" else en_noun
    lighting = _LIGHTING[ctx.time or tone][0 if lang == "zh" else 1]
    position = _POSITIONS[index % len(_POSITIONS)][0 if lang == "zh" else 1]
    motion, pose = _motion(ctx, lead, beat.role, tone, _key_action(text, lang))
    renders = [render_character(m.name, ctx.looks[m.name], lang) for m in members]
    framing = _FRAMING.get(camera, ("中景", "medium shot"))[0 if lang == "zh" else 1]
    if lang == "zh":
        detail = f"{ctx.style}。{lighting}。{motion}场景：{setting}，{position}。"
        image = "，".join([ctx.style, *renders, pose, setting, lighting, framing, position, _IMAGE_TAGS["zh"]])
    else:
        detail = f"{ctx.style}. {lighting}. {motion} Setting: {setting}, {position}."
        image = ", ".join([ctx.style, *renders, pose, setting, lighting[0].lower() + lighting[1:], framing,
                           position, _IMAGE_TAGS["en"]])
    return PlannedShot(subject=renders[0], detail=detail, image_detail=image, camera=camera,
                       narration=text, tone=tone, characters=[m.name for m in members])


# --------------------------------------------------------------------------- story modes

_ZH_SEEK = re.compile(r"^(寻找|找|去|回|救|帮|学|追|送|保护)")
_EN_SEEK = re.compile(r"^(?:looks? for|search(?:es)? for|wants? to find|tries to find|goes? to find)\s+(.+)$")
#: (role, tone, zh template, en template); {p} protagonist, {place}/{place2} places, {goal}, {helper}.
_ARC = (
    ("opening", "calm", "从前，在{place}，住着{p}。", "{P} lives {place}."),
    ("middle", "excited", "有一天，{p}{goal}。", "One day, {p} {goal}."),
    ("middle", "excited", "{p}一路来到{place2}，一步一步向前走，心里满怀期待。",
     "{P} sets off for {place2}, step by step, full of hope."),
    ("middle", "tense", "可是路越来越难走，天色也暗了下来，{p}有些害怕。",
     "But the way grows hard, the sky grows dark, and {p} feels afraid."),
    ("middle", "warm", "就在这时，{helper}出现了，带来了新的希望。",
     "Just then, {helper} appears and brings new hope."),
    ("ending", "warm", "{ending}", "{ending}"),
)


@dataclass
class _ArcSlots:
    """Template slots for the premise arc."""

    p: str
    goal: str
    helper: str
    ending: str
    place: int
    place2: int


def _premise_slots(premise: str, cast: list[CastMember], lang: str) -> _ArcSlots:
    """Fill the arc's slots from a premise: its lead, what the lead does (goal), places, a helper."""
    lead = cast[0]
    after = _after_name(premise, lead, lang)
    place = _find_place(_without_names(premise, cast, lang), lang)
    place = _find_place(premise, lang) if place is None else place
    place = _DEFAULT_PLACES[_digest(premise) % len(_DEFAULT_PLACES)] if place is None else place
    place2 = next(i for i in (*_DEFAULT_PLACES, 0) if i != place)
    helper = cast[1].name if len(cast) > 1 and not _mentions({cast[1].name}, after, lang) else ""
    goal, ending = (_zh_goal if lang == "zh" else _en_goal)(after, lead.name)
    helper = helper or ("一位善良的朋友" if lang == "zh" else "a kind friend")
    return _ArcSlots(lead.name, goal, helper, ending, place, place2)


def _zh_goal(after: str, lead: str) -> tuple[str, str]:
    """(goal predicate, ending sentence) for a Chinese premise; 找妈妈 ends with 找到了妈妈."""
    goal = re.sub(r"(的)?(故事|童话|冒险|传说|旅程)$", "", after).strip("，。！？,.!? ")
    seek = _ZH_SEEK.match(goal)
    target = goal[seek.end():] if seek else ""
    if seek and target and seek.group(1) in ("找", "寻找"):
        ending = f"最后，{lead}终于找到了{target}，心里暖暖的。"
    else:
        ending = f"最后，{lead}终于如愿以偿，脸上露出了幸福的笑容。"
    if seek:
        return f"下定决心，要{goal}", ending
    return (goal if goal and not goal.startswith("的") else "踏上了一段奇妙的旅程"), ending


def _en_goal(after: str, lead: str) -> tuple[str, str]:
    """(goal predicate, ending sentence) for an English premise."""
    goal = after.strip(" ,.!?") or "sets out on an unexpected adventure"
    seek = _EN_SEEK.match(goal)
    if seek:
        return goal, f"At last, {lead} finds {seek.group(1)}, and everything feels warm again."
    return goal, f"In the end, {lead} smiles, and everything feels warm and right again."


def _after_name(text: str, member: CastMember, lang: str) -> str:
    """The words of a premise that follow the first mention of a character."""
    ends = []
    for name in (member.name, *member.aliases):
        bare = name if lang == "zh" else name.removeprefix("the ")
        m = re.search(re.escape(bare), text, 0 if lang == "zh" else re.I)
        if m:
            ends.append((m.start(), m.end()))
    return text[min(ends)[1]:].strip() if ends else ""


def _arc_beats(slots: _ArcSlots, lang: str, roles: range | list[int]) -> list[_Beat]:
    zh_place, en_place = _place_phrases(slots.place)
    values = {
        "p": slots.p, "P": slots.p[:1].upper() + slots.p[1:], "goal": slots.goal, "helper": slots.helper,
        "ending": slots.ending, "place": zh_place if lang == "zh" else en_place,
        "place2": _PLACES[slots.place2][2] + _PLACES[slots.place2][3] if lang == "zh" else _PLACES[slots.place2][5],
    }
    beats = []
    for i in roles:
        role, tone, zh, en = _ARC[i]
        beats.append(_Beat((zh if lang == "zh" else en).format(**values), role, tone))
    return beats


def _pieces(paragraphs: list[list[str]], limit: float) -> tuple[list[str], list[bool]]:
    """Sentences cut at clauses where over `limit`, with a flag for each paragraph's first piece."""
    pieces: list[str] = []
    starts: list[bool] = []
    for sentences in paragraphs:
        for n, piece in enumerate(p for s in sentences for p in split_clauses(s, limit)):
            pieces.append(piece)
            starts.append(n == 0)
    return pieces, starts


def _role(index: int, count: int) -> str:
    return "opening" if index == 0 else "ending" if index == count - 1 else "middle"


def _script_beats(paragraphs: list[list[str]], lang: str) -> list[_Beat] | None:
    """Group a script's sentences, in order, into 4–12 beats; None when it has under 4 pieces."""
    total = sum(speech_length(s) for p in paragraphs for s in p)
    shots = min(MAX_SHOTS, max(MIN_SHOTS, round(total / TARGET_UNITS)))
    pieces, starts = _pieces(paragraphs, max(MAX_UNITS, total / shots))
    if len(pieces) < MIN_SHOTS:
        pieces, starts = _pieces(paragraphs, max(10.0, total / MIN_SHOTS))
    if len(pieces) < MIN_SHOTS:
        return None
    bonus = [0.25 * total / shots if start else 0.0 for start in starts]
    cuts = partition([speech_length(p) for p in pieces], shots, bonus)
    bounds = list(zip([0, *cuts], [*cuts, len(pieces)], strict=True))
    return [_Beat(join_text(pieces[a:b], lang), _role(i, len(bounds))) for i, (a, b) in enumerate(bounds)]


def _short_beats(paragraphs: list[list[str]], slots: _ArcSlots, lang: str) -> list[_Beat]:
    """A short script narrated verbatim between a templated opening and ending (4–5 shots)."""
    pieces, _starts = _pieces(paragraphs, MAX_UNITS)
    middle = [_Beat(p, "middle") for p in pieces]
    extra = _arc_beats(slots, lang, [2]) if len(middle) < 2 else []
    return [*_arc_beats(slots, lang, [0]), *middle, *extra, *_arc_beats(slots, lang, [5])]


def _derive_title(script: str, lang: str) -> str:
    first = (split_sentences(script) or [script])[0].strip("。！？.!?；; ")
    if lang == "zh":
        return first[:20]
    return " ".join(first.split()[:12])


def build_storyboard(script: str, style: str, title: str = "") -> Storyboard:
    """Plan a storyboard from a premise or a full script (pure, deterministic)."""
    if not script.strip():
        raise ValueError("script is empty")
    lang = detect_language(script)
    paragraphs = [split_sentences(p) for p in split_paragraphs(script)]
    sentences = [s for p in paragraphs for s in p]
    cast = extract_cast(script, lang)
    beats = None
    if len(sentences) > 1 or speech_length(script) > PREMISE_MAX_UNITS:
        beats = _script_beats(paragraphs, lang)
    if beats is None:
        cast = with_premise_lead(sentences[0], cast, lang)
    cast = cast or [_generic_hero(lang)]
    slots = _premise_slots(script.strip(), cast, lang)
    if beats is None:
        arc = range(len(_ARC)) if len(sentences) == 1 else None
        beats = _arc_beats(slots, lang, arc) if arc else _short_beats(paragraphs, slots, lang)
    looks = {m.name: character_look(m.name, m.kind, lang, m.species) for m in cast}
    ctx = _Context(lang, style_phrase(style, lang), cast, looks, slots.place)
    shots = [_build_shot(ctx, beat, i) for i, beat in enumerate(beats)]
    characters = [Character(name=m.name, look=looks[m.name]) for m in cast]
    return Storyboard(title=title.strip() or _derive_title(script, lang), language=lang,
                      characters=characters, shots=shots)


# --------------------------------------------------------------------------- revision


def _restyle(detail: str, old: str, new: str) -> str:
    """Swap the old style phrase for the new one where the detail carries it; else leave it as is."""
    return detail.replace(old, new) if old and old in detail else detail


def _last_state(motion: str, lang: str) -> str:
    """The final state of a motion sentence: what precedes its first time word (who, where)
    followed by the part after 最后/finally; the whole sentence when there is no such marker."""
    marker = re.compile(r"最后|最终" if lang == "zh" else r"\b(?:finally|lastly|at last)\b", re.I)
    parts = marker.split(motion)
    if len(parts) == 1:
        return motion
    first = _ZH_TIME.search(motion) or _EN_TIME.search(motion)
    prefix = motion[: first.start()] if first else ""
    return prefix + parts[-1].lstrip(" ,，")


def derive_image_detail(detail: str, phrase: str, characters: list[Character], lang: str) -> str:
    """A still-frame prompt from a detail: style phrase, character looks, the last motion state,
    then the detail's other sentences (lighting, setting), with every time word removed."""
    body = detail.replace(phrase, " ")
    sentences = split_sentences(body)
    motion = [s for s in sentences if has_time_words(s)]
    state = _last_state(motion[-1], lang) if motion else ""
    rest = [s for s in sentences if s not in motion]
    renders = [render_character(c.name, c.look, lang) for c in characters if c.look not in body]
    parts = [remove_time_words(re.sub(r"^(场景|Setting)\s*[:：]\s*", "", p), lang) for p in [state, *rest]]
    parts = [p.strip(" 。.，,；;") for p in parts]
    sep = "，" if lang == "zh" else ", "
    return sep.join(p for p in [phrase, *renders, *parts, _IMAGE_TAGS[lang]] if p)


def revise(shot: PlannedShot, edit: ShotEdit, characters: list[Character], style: str) -> PlannedShot:
    """Merge an edit into a shot (pure) and re-derive its `image_detail`.

    Every set field replaces the stored one verbatim; `style` swaps the style phrase where the
    detail carries the old one and always leads the new `image_detail`; a camera is mapped with
    `resolve_camera`, and one that maps to nothing keeps the stored term.
    """
    updates = edit.model_dump(exclude_none=True, exclude={"style"})
    lang = detect_language(" ".join([updates.get("detail", shot.detail), updates.get("narration", shot.narration)]))
    old, new = style_phrase(style, lang), style_phrase(edit.style or style, lang)
    detail = _restyle(updates.get("detail", shot.detail), old, new)
    subject = updates.get("subject", shot.subject)
    camera = resolve_camera(edit.camera) if edit.camera is not None else None
    camera = camera or (shot.camera if shot.camera in CAMERA_TERMS else "固定镜头")
    present = [c for c in characters if _mentions({c.name}, f"{detail} {subject}", lang)]
    image = derive_image_detail(detail, new, present, lang)
    return shot.model_copy(update={
        **updates, "detail": detail, "camera": camera, "image_detail": image,
        "characters": [c.name for c in present],
    })


class RuleBasedPlanner:
    """The embedded StoryboardPlanner: deterministic rules, no model, no network."""

    async def plan(self, *, script: str, style: str, title: str) -> Storyboard:
        """Plan a storyboard; see `build_storyboard`."""
        return build_storyboard(script, style, title)

    async def revise_shot(
        self, *, shot: PlannedShot, edit: ShotEdit, characters: list[Character], style: str
    ) -> PlannedShot:
        """Merge a user's edit into a shot; see `revise`."""
        return revise(shot, edit, characters, style)


def create(settings: Settings | None) -> RuleBasedPlanner:  # noqa: ARG001 - the factory signature is fixed
    """Factory for the `embedded` LLM backend; the planner needs no settings."""
    return RuleBasedPlanner()
