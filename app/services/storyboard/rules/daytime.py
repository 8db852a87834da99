"""Time of day and weather: the cue words a script uses, and the lighting a shot gets from them.

Cues are read in story order: a time of day holds until another one (or a new day) comes, the weather
until it clears or the day moves on. A script that says nothing gets its tone's default lighting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.services.storyboard.language.text import localized

MORNING, DAY, DUSK, NIGHT = "morning", "day", "dusk", "night"
RAIN, STORM, SNOW, FOG, WIND, CLEAR = "rain", "storm", "snow", "fog", "wind", "clear"
NEW_DAY = "new_day"

#: event → (zh cues, en cues). Longer cues win where two overlap (天快黑 before 天黑).
CUES: dict[str, tuple[str, str]] = {
    MORNING: ("清晨 早晨 早上 黎明 日出 天刚亮 天亮 天快亮 天不亮 太阳升起 太阳出来前 上午 朝阳 晨光 一大早 拂晓",
              "morning|dawn|sunrise|daybreak|first light|sun rise|sun rose|breakfast"),
    DAY: ("中午 正午 午后 下午 白天 烈日 太阳火辣辣 午饭 晌午",
          "noon|midday|afternoon|lunchtime|daylight|lunch"),
    DUSK: ("傍晚 黄昏 夕阳 日落 太阳落山 天色渐渐暗 天色暗 天快黑 暮色 晚霞 落日 天渐渐黑",
           "evening|dusk|sunset|twilight|sun set|sun was setting|nightfall"),
    NIGHT: ("夜 晚上 月光 月色 星光 夜空 满天星 天黑 今晚 天已经黑",
            "night|midnight|tonight|moonlight|moonlit|starlight|under the stars|full of stars|starry"),
    RAIN: ("下雨 下起了大雨 下起了雨 大雨 小雨 雨点 雨水 细雨 暴雨 阴雨 雨中 下着雨 雨滴",
           "rain|rainy|raining|rained|drizzle|downpour"),
    STORM: ("暴风雨 雷声 打雷 闪电 风暴 雷雨 电闪雷鸣", "storm|stormy|thunder|lightning|thunderstorm"),
    SNOW: ("下雪 下起了雪 大雪 雪花 飘雪 雪下 小雪 风雪", "snow|snowy|snowing|snowflakes|snowfall|blizzard"),
    FOG: ("大雾 浓雾 薄雾 雾气 起雾", "fog|foggy|mist|misty"),
    WIND: ("大风 狂风 起风 刮风 风呼呼 刮起了大风", "windy|wind blew|gale|winds began|wind howled"),
    CLEAR: ("雨停 雪停 风停 天晴 彩虹 放晴", "storm had passed|rain stopped|sun came out|stopped raining|rainbow"),
    NEW_DAY: ("第二天 一天 有一天 从那以后 几天后 整个冬天 春天来了",
              "next day|one day|weeks later|days later|from then on|the next morning|years later"),
}
#: Words that say two things at once.
_COMPOUNDS: dict[str, tuple[str, ...]] = {"雨夜": (NIGHT, RAIN), "雪夜": (NIGHT, SNOW), "暴风雨": (STORM, RAIN),
                                          "月夜": (NIGHT,)}
TIMES = (MORNING, DAY, DUSK, NIGHT)
_WEATHERS = (RAIN, STORM, SNOW, FOG, WIND)

#: time → (zh, en) lighting sentence; each names its time of day.
TIME_LIGHT: dict[str, tuple[str, str]] = {
    MORNING: ("清晨柔和的晨光从低角度照入，淡金色调", "Soft early-morning light at a low angle, pale gold tones"),
    DAY: ("白天明亮的日光从高处洒下，阴影短而清晰", "Bright daylight from high above, short crisp shadows"),
    DUSK: ("傍晚金橙色的夕阳逆光，轮廓光明亮，暖橙色调",
           "Golden evening sunset backlight, bright rim light, warm orange tones"),
    NIGHT: ("夜晚清冷的月光从高处洒落，阴影深邃，冷蓝色调",
            "Cool night moonlight from above, deep shadows, cold blue tones"),
}
#: weather → (zh, en) phrase added to the lighting.
WEATHER_LIGHT: dict[str, tuple[str, str]] = {
    RAIN: ("细雨纷飞，地面湿润反光", "falling rain, wet reflective ground"),
    STORM: ("暴风雨中乌云翻滚，闪电划破天空", "a storm of rolling clouds and flashes of lightning"),
    SNOW: ("雪花纷纷飘落，一片银白", "snowflakes drifting down, everything silver-white"),
    FOG: ("浓雾弥漫，远景朦胧", "thick fog, the distance hazy"),
    WIND: ("大风吹动草木和衣角", "strong wind tugging at leaves and clothes"),
}
_OVERCAST = ("阴天的漫射光，色调偏冷", "Diffuse overcast light, cool tones")
_SENTENCE_END = re.compile(r"[。！？!?]|\.(?=\s|$)")
_QUOTES = re.compile(r"“[^”]*”|「[^」]*」|\"[^\"]*\"")


@dataclass(frozen=True)
class Cue:
    """A time or weather word at an offset of the text."""

    start: int
    event: str
    sentence: int = 0


@dataclass
class Sky:
    """The time of day and weather carried from shot to shot (None: not said).

    A new time of day clears weather said in an earlier sentence ("One stormy morning" keeps its storm).
    """

    time: str | None = None
    weather: str | None = None
    sentence: int = 0  # index of the sentence that set the weather

    def apply(self, cue: Cue) -> None:
        """Move the story's clock and weather on by one cue."""
        if cue.event in TIMES:
            if cue.event != self.time and cue.sentence != self.sentence:
                self.weather = None
            self.time = cue.event
        elif cue.event in _WEATHERS:
            self.weather, self.sentence = cue.event, cue.sentence
        elif cue.event == CLEAR:
            self.weather = None
        else:  # a new day: nothing said yet about its hour or sky
            self.time, self.weather = None, None


def find_cues(text: str, offset: int = 0) -> list[Cue]:
    """Every time and weather cue in text (Chinese and English), in order; quoted speech is skipped.

    Offsets (and sentence numbers, counted from the start of `text`) are shifted by `offset`.
    """
    masked = _QUOTES.sub(lambda m: " " * len(m.group()), text)
    cues = []
    for m in _CUE_RE.finditer(masked):
        sentence = len(_SENTENCE_END.findall(masked, 0, m.start()))
        word = m.group().lower()
        for event in _COMPOUNDS.get(word, (_EVENT_OF.get(word, ""),)):
            cues.append(Cue(offset + m.start(), event, sentence))
    return cues


def lighting(sky: Sky, default: tuple[str, str], lang: str) -> str:
    """The lighting sentence for a shot: its time of day and weather, else `default` (the tone's)."""
    if sky.time is None and sky.weather is None:
        return localized(default, lang)
    base = localized(TIME_LIGHT[sky.time] if sky.time else _OVERCAST, lang)
    if sky.weather is None:
        return base
    return f"{base}，{localized(WEATHER_LIGHT[sky.weather], lang)}" if lang == "zh" else (
        f"{base}, {WEATHER_LIGHT[sky.weather][1]}")


def _cue_table() -> tuple[re.Pattern[str], dict[str, str]]:
    event_of: dict[str, str] = {}
    zh_words: list[str] = []
    en_words: list[str] = []
    for event, (zh, en) in CUES.items():
        for word in zh.split():
            event_of[word] = event
            zh_words.append(word)
        for word in en.split("|"):
            event_of[word] = event
            en_words.append(word)
    zh_words += list(_COMPOUNDS)
    zh_alt = "|".join(re.escape(w) for w in sorted(zh_words, key=len, reverse=True))
    en_alt = "|".join(re.escape(w) for w in sorted(en_words, key=len, reverse=True))
    return re.compile(rf"{zh_alt}|(?<![A-Za-z])(?:{en_alt})(?![A-Za-z])", re.I), event_of


_CUE_RE, _EVENT_OF = _cue_table()
