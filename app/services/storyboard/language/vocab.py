"""The embedded planner's word tables: what cue words mean and the phrases prompts are built from.

Tables pair Chinese with English, Chinese first; English cue words match whole words, case-insensitively.
The cast's words (kinds of character, looks) are in `lexicon`.
"""

from __future__ import annotations

MIN_SHOTS, MAX_SHOTS = 4, 12
#: Speech units per shot (see text.speech_length: 1 per CJK character, 1.5 per English word).
TARGET_UNITS, MAX_UNITS = 26, 40
#: A single sentence up to this long is a premise, expanded into a story arc.
PREMISE_MAX_UNITS = 48
TONES = ("happy", "sad", "tense", "calm", "warm", "mysterious", "excited")
MEDIUM_SHOT = ("中景", "medium shot")

#: (keywords, zh fragment, en fragment, is_medium). English keywords match whole words.
STYLE_TABLE: tuple[tuple[tuple[str, ...], str, str, bool], ...] = (
    (("温馨", "温暖", "warm", "cozy", "cosy"), "温暖柔和的色调", "warm soft colour palette", False),
    (("可爱", "萌", "cute", "kawaii"), "圆润可爱的卡通造型", "cute rounded cartoon characters", False),
    (("治愈", "healing"), "清新治愈的氛围", "gentle soothing atmosphere", False),
    (("唯美", "梦幻", "dreamy"), "唯美梦幻的光晕", "dreamy glowing haze", False),
    (("国漫", "国风", "guoman"), "国风3D动画，虚幻引擎5渲染，电影级光影",
     "Chinese 3D animation, Unreal Engine 5 render, cinematic lighting", True),
    (("赛博朋克", "cyberpunk"), "赛博朋克风格，霓虹灯光，湿漉漉的街道反光，高对比度",
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
#: (zh, en) medium added when the style names none, and the quality tags that close every style phrase.
DEFAULT_MEDIUM = ("治愈系插画风格", "soft illustrated style")
QUALITY = ("画面精致，细节丰富，高品质", "finely detailed, high quality")

#: camera term → loose synonyms, matched as substrings of a user's camera wish, first row first.
CAMERA_ALIASES: tuple[tuple[str, tuple[str, ...]], ...] = (
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

#: tone → (zh cues, en cues); the tone with most hits wins, ties go to the earlier tone.
TONE_CUES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
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
ACTIONS: tuple[tuple[tuple[str, ...], tuple[str, ...], str, str, str], ...] = (
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
TONE_BEATS: dict[str, tuple[str, str, str]] = {
    "happy": ("露出灿烂的笑容", "breaks into a bright smile", "with a bright smile"),
    "sad": ("静静地垂下眼帘", "quietly lowers the gaze", "with lowered, sad eyes"),
    "tense": ("屏住呼吸，警惕地望向前方", "holds the breath and stares ahead", "tense and alert, staring ahead"),
    "calm": ("静静地伫立，望向远方", "stands still, gazing far away", "standing still, gazing far away"),
    "warm": ("脸上浮现温暖的微笑", "smiles warmly", "with a warm smile"),
    "mysterious": ("好奇地凝视着前方的微光", "peers curiously at a faint glow", "peering at a faint glow"),
    "excited": ("兴奋地挥舞双手", "waves excitedly", "waving excitedly"),
}
#: The middle beat of a shot whose closing beat is its tone's.
NEUTRAL_BEAT = ("缓缓抬起头", "slowly looks up", "looking up")

#: role → (zh opening predicate with {place}, en opening verb phrase with {place}).
OPENERS = {
    "opening": ("安静地站在{place}", "stands quietly {place}"),
    "middle": ("从画面左侧走入", "steps in from the left"),
    "ending": ("放慢脚步，停了下来", "slows down and comes to a stop"),
}



#: tone → (zh, en) lighting sentence of a shot whose script says nothing of the hour or the weather;
#: none of them names a time of day.
LIGHTING: dict[str, tuple[str, str]] = {
    "tense": ("强烈的侧逆光，明暗对比鲜明，阴影锐利，偏冷色调",
              "Hard side backlight, strong contrast, sharp shadows, cool tones"),
    "sad": ("阴天柔和的漫射光，阴影浅淡，低饱和冷色调", "Soft overcast light, faint shadows, muted cool tones"),
    "mysterious": ("幽暗的蓝紫色光线穿过薄雾形成体积光，阴影浓重",
                   "Dim blue-violet light through mist, volumetric rays, deep shadows"),
    "happy": ("明亮的阳光从左上方洒下，阴影短而清晰，鲜亮暖色调",
              "Bright sunlight from the upper left, short crisp shadows, vivid warm tones"),
    "warm": ("温暖的阳光从左侧斜射，投下柔和的长影，暖黄色调",
             "Warm sun slanting from the left, long soft shadows, warm yellow tones"),
    "calm": ("柔和的自然光从左侧照入，阴影轻柔，中性偏暖色调",
             "Soft natural light from the left, gentle shadows, neutral warm tones"),
    "excited": ("明快的阳光从侧面照亮画面，光影跳跃，饱和暖色调",
                "Lively side sunlight, dancing highlights, saturated warm tones"),
}
#: (zh, en) subject placements, taken in turn shot by shot.
POSITIONS = (
    ("主体位于画面前景中央", "subject in the centre foreground"),
    ("主体位于画面左侧三分之一处，右侧留出开阔空间", "subject on the left third, open space to the right"),
    ("主体位于画面右侧，前景有虚化的枝叶", "subject on the right, blurred foliage in the foreground"),
    ("主体位于中景，背景层次分明", "subject in the middle ground, layered background"),
)
#: camera → (zh, en) framing; other cameras frame MEDIUM_SHOT.
FRAMING = {
    "推镜头": ("近景特写", "close-up"),
    "拉镜头": ("远景全景", "wide establishing shot"),
    "垂直升降": ("高处俯瞰的全景", "high-angle wide view"),
}
#: (zh, en) tags that close every still-frame prompt.
IMAGE_TAGS = ("构图完整，杰作", "balanced composition, masterpiece")

#: (zh cues, en cues) that steer a middle shot's camera: emotion → push-in/orbit, motion → follow/truck,
#: mystery → pan/tilt; other shots rotate through VARIETY.
EMOTION_CUES = (("哭", "泪", "拥抱", "抱", "想念", "轻声", "微笑", "心疼"),
                ("cry", "tears", "hug", "embrace", "miss", "whisper", "smile", "heart", "love"))
MOTION_CUES = (("跑", "奔", "追", "逃", "飞", "冲", "赶", "游", "骑", "一路", "出发"),
               ("run", "ran", "race", "chase", "flee", "fly", "flew", "rush", "dash", "swim", "ride", "sets off",
                "travel"))
MYSTERY_CUES = (("神秘", "秘密", "奇怪", "发光", "影子", "洞", "寻找", "找"),
                ("mysterious", "secret", "strange", "glow", "shadow", "cave", "search", "look for"))
VARIETY = ("固定镜头", "左右摇镜", "环绕主体", "上下摇镜", "水平横移", "推镜头", "右旋转", "360度环绕", "左旋转")
