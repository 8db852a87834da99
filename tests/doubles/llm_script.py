"""What the LLM doubles (Ollama, DashScope Qwen) share: scripted answers and realistic storyboard replies.

A test queues steps on `double.script`: `Reply(text)` answers with that text as the model's content,
`Fail(status, body)` answers with the vendor's error body, `Hang(seconds)` answers nothing until the
time passes or the double stops. With the queue empty the double answers `double.default_reply`.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

FOX_LOOK = "一只小狐狸，橘红色的毛发，尾巴尖是雪白的，脖子上系着蓝色小围巾，圆圆的琥珀色眼睛"
MOTHER_LOOK = "一只成年狐狸，深红色的毛发，左耳上有一道浅色的疤痕，眼神温柔"
STYLE = "温暖治愈的水彩绘本风格，柔和的晕染笔触，低饱和暖色调，纸张纹理清晰"


@dataclass
class Reply:
    text: str


@dataclass
class Fail:
    status: int
    body: dict[str, Any]


@dataclass
class Hang:
    seconds: float = 30.0


Step = Reply | Fail | Hang


@dataclass
class Script:
    """The queued steps and every request seen (method, path, headers, JSON body)."""

    steps: deque[Step] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def push(self, *steps: Step) -> None:
        self.steps.extend(steps)

    def next(self) -> Step | None:
        return self.steps.popleft() if self.steps else None

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if r["path"] == path]

    async def hang(self, step: Hang) -> None:
        """Wait out a Hang step without blocking the server's shutdown."""
        deadline = time.monotonic() + step.seconds
        while time.monotonic() < deadline and not self.stopping.is_set():
            await asyncio.sleep(0.05)


class ScriptedDouble:
    """What the LLM doubles share: `script`, `default_reply` (used when the queue is empty), `base_url`."""

    def __init__(self, default: Callable[[dict[str, Any]], str]):
        self.script = Script()
        self.default_reply: Callable[[dict[str, Any]], str] = default
        self.base_url = ""

    def release(self) -> None:
        """End the Hang steps being waited out (the double is stopping)."""
        self.script.stopping.set()

    async def _next_answer(self, body: dict[str, Any]) -> Fail | str:
        """The next step for a request with `body`: a Fail, or the text to answer (a Hang is waited out and
        then answered with the default reply, as an empty queue is)."""
        step = self.script.next()
        if isinstance(step, Hang):
            await self.script.hang(step)
            step = None
        if isinstance(step, Fail):
            return step
        return step.text if isinstance(step, Reply) else self.default_reply(body)


def _shot(n: int, subject: str, detail: str, image: str, camera: str, narration: str, tone: str,
          cast: list[str], en: str, zh: str) -> dict[str, Any]:
    return {"sequence": n, "subject": subject, "detail": f"{STYLE}。{detail}", "image_detail": image,
            "camera": camera, "narration": narration, "tone": tone, "characters": cast,
            "video_prompt_en": en, "video_prompt_zh": zh}


def storyboard_reply() -> dict[str, Any]:
    """A realistic reply in the shape our prompt asks for: bible, style phrase, video prompts. Shot 3
    forgets the fox's look in its image_detail (a real model's slip the planner repairs)."""
    fox, mother = f"阿橘（{FOX_LOOK}）", f"狐狸妈妈（{MOTHER_LOOK}）"
    shots = [
        _shot(1, "森林边的小狐狸阿橘",
              "清晨的侧逆光从右侧洒下，暖黄色调。先是阿橘从树洞里探出头，然后伸了个懒腰，最后望向远方的山坡。"
              "场景：晨雾中的森林边缘，阿橘在前景左侧。",
              f"{STYLE}，{fox}伸着懒腰站在树洞口，晨雾中的森林边缘，侧逆光，构图完整，杰作，高品质",
              "拉镜头", "清晨，小狐狸阿橘醒来，却发现妈妈不见了。", "calm", ["阿橘"],
              "Watercolor picture book style. First a little red fox peeks out of a tree hollow, then stretches, "
              "finally gazes at the distant hills. Misty forest edge at dawn, warm side light. Slow pull back.",
              "水彩绘本风格，小狐狸从树洞探出头伸懒腰，望向远方山坡，晨雾森林，镜头缓缓拉远"),
        _shot(2, "奔跑的阿橘",
              "正午的顶光，短而硬的阴影。先是阿橘低头嗅着地面，然后竖起耳朵，最后沿着小路跑了起来。"
              "场景：开满野花的山坡，小路从前景延伸到背景。",
              f"{STYLE}，{fox}沿着小路奔跑，四脚腾空，开满野花的山坡，正午顶光，构图完整，杰作，高品质",
              "锁定跟随", "它顺着熟悉的气味，一路跑上开满野花的山坡。", "excited", ["阿橘"],
              "First the fox sniffs the ground, then pricks up its ears, finally runs up a flowery hillside path. "
              "Noon light. The camera follows the fox.",
              "小狐狸嗅着地面，竖起耳朵，沿着开满野花的小路奔跑，镜头锁定跟随"),
        _shot(3, "河边犹豫的阿橘",
              "傍晚的逆光，水面反射金色光斑。先是阿橘停在河边，然后低头看着湍急的河水，最后踩着石头小心地跳了过去。"
              "场景：湍急的小河，石头从前景排到对岸。",
              f"{STYLE}，小狐狸站在河中央的石头上，尾巴高高翘起保持平衡，湍急的小河，傍晚逆光，金色光斑，构图完整，杰作",
              "水平横移", "小河挡住了去路，阿橘鼓起勇气跳过石头。", "tense", ["阿橘"],
              "First the fox stops at a rushing stream, then looks down at the water, finally hops across the stones. "
              "Golden backlight at dusk. The camera trucks sideways.",
              "小狐狸在湍急的小河边犹豫，踩着石头跳过河，傍晚金色逆光，镜头水平横移"),
        _shot(4, "阿橘发现妈妈",
              "黄昏的暖光从左侧照来，色温偏橙。先是阿橘钻出灌木丛，然后看见了熟悉的身影，最后停下脚步睁大眼睛。"
              "场景：山坡顶上的老橡树下，狐狸妈妈在背景中。",
              f"{STYLE}，{fox}站在灌木丛前睁大眼睛，{mother}坐在老橡树下，黄昏暖光，构图完整，杰作，高品质",
              "推镜头", "就在老橡树下，它终于看见了妈妈。", "happy", ["阿橘", "狐狸妈妈"],
              "First the little fox pushes out of a bush, then sees its mother under an old oak, finally freezes "
              "with wide eyes. Warm dusk light. The camera dollies in.",
              "小狐狸钻出灌木丛，看见老橡树下的狐狸妈妈，睁大眼睛，黄昏暖光，镜头推近"),
        _shot(5, "母子相拥",
              "夕阳的金色逆光勾出毛发的轮廓光。先是阿橘扑进妈妈怀里，然后妈妈低头蹭了蹭它，最后两只狐狸依偎在一起。"
              "场景：老橡树下的草地，两只狐狸居中。",
              f"{STYLE}，{fox}依偎在{mother}怀里，老橡树下的草地，夕阳金色轮廓光，构图完整，杰作，高品质",
              "环绕主体", "阿橘扑进妈妈怀里，再也不想分开。", "warm", ["阿橘", "狐狸妈妈"],
              "First the cub leaps into its mother's arms, then she nuzzles it, finally the two foxes cuddle under "
              "the oak. Golden rim light. The camera orbits them.",
              "小狐狸扑进妈妈怀里，妈妈低头蹭它，两只狐狸依偎在一起，夕阳轮廓光，镜头环绕"),
        _shot(6, "星空下的狐狸窝",
              "月光从上方洒下，冷蓝色调，萤火虫点点。先是两只狐狸走回树洞，然后阿橘打了个哈欠，最后蜷在妈妈身边睡着了。"
              "场景：星空下的森林，树洞在画面中央。",
              f"{STYLE}，{fox}蜷在{mother}身边熟睡，树洞里，星空与萤火虫，冷蓝月光，构图完整，杰作，高品质",
              "垂直升降", "夜里，阿橘在妈妈身边安心地睡着了。", "calm", ["阿橘", "狐狸妈妈"],
              "First the two foxes walk back to the hollow, then the cub yawns, finally it falls asleep beside its "
              "mother. Starry night, fireflies, cool moonlight. The camera cranes up.",
              "两只狐狸回到树洞，小狐狸打哈欠，蜷在妈妈身边睡着，星空萤火虫，镜头缓缓升起"),
    ]
    return {"title": "小狐狸找妈妈", "style_phrase": STYLE,
            "characters": [{"name": "阿橘", "look": FOX_LOOK}, {"name": "狐狸妈妈", "look": MOTHER_LOOK}],
            "shots": shots}


def storyboard_text() -> str:
    return json.dumps(storyboard_reply(), ensure_ascii=False)


def revision_reply(image_detail: str) -> str:
    """A regenerate reply; the detail itself is never part of it."""
    return json.dumps({"image_detail": image_detail, "characters": ["阿橘"],
                       "video_prompt_en": "First the fox climbs the oak, then looks around, finally waves.",
                       "video_prompt_zh": "小狐狸爬上老橡树，四处张望，向远方挥手，镜头推近"}, ensure_ascii=False)


def default_reply(body: dict[str, Any]) -> str:
    """What the model says when nothing is scripted: a revision for a regenerate prompt, else a storyboard."""
    system = body.get("system") or next(
        (m.get("content", "") for m in body.get("messages", []) if m.get("role") == "system"), "")
    if "image_detail" in system and '"shots"' not in system:
        return revision_reply(f"{STYLE}，阿橘（{FOX_LOOK}）站在老橡树的树枝上挥手，黄昏暖光，构图完整，杰作")
    return storyboard_text()


def upstream_capture() -> str:
    """The captured upstream-style reply (tests/fixtures/ollama_reply_upstream.txt)."""
    return (FIXTURES / "ollama_reply_upstream.txt").read_text(encoding="utf-8")
