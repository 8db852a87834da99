"""The embedded rule-based storyboard planner and its text helpers."""

from __future__ import annotations

import re

import pytest

from app.models.storyboard import CAMERA_TERMS, PlannedShot, ShotEdit, Storyboard
from app.services.storyboard.language.text import (
    detect_language,
    speech_length,
    split_clauses,
    split_sentences,
    strip_space,
)
from app.services.storyboard.rules import planner as embedded
from app.services.storyboard.rules.planner import TONES, RuleBasedPlanner, resolve_camera, style_phrase

ZH_SCRIPT = """从前，在一片茂密的森林里，住着一只名叫豆豆的小狗。豆豆每天都和妈妈一起在河边散步，听妈妈讲故事。

有一天，森林里刮起了大风。豆豆追着一只蝴蝶跑呀跑，等它停下来的时候，已经找不到回家的路了。它害怕极了，坐在大树下哭了起来：“妈妈，你在哪里？”

这时，一只老乌龟慢慢地爬了过来。「别哭，孩子，」老乌龟说，「沿着小河一直走，就能回到家。」豆豆擦干眼泪，谢过老乌龟，沿着河边一路奔跑。

天快黑的时候，豆豆终于看见了熟悉的小屋。妈妈正站在门口焦急地张望。豆豆扑进妈妈的怀里，妈妈紧紧地抱住了它……从那以后，豆豆再也不乱跑了。"""

EN_SCRIPT = """Once upon a time, in a quiet village by the sea, there lived a little fox named Rusty. Rusty loved to
watch the boats sail out each morning with Mr. Smith, the old fisherman.

One stormy night, Mr. Smith did not come home. The waves were 3.5 meters high, and the wind howled like a wolf.
Rusty was afraid, but he knew he had to help.

He ran along the beach, past the lighthouse, calling for his friend. At last he saw a small light on the rocks...
It was Mr. Smith, cold and tired, holding on to his broken boat!

Rusty barked and barked until the villagers came running. Together they pulled Mr. Smith to safety. That night,
by the warm fire, the old man hugged the little fox and whispered, "Thank you, my brave friend." """

TIME_WORDS = re.compile(r"先|然后|最后|接着|\b(?:first|then|finally|next)\b", re.I)


@pytest.fixture
def planner() -> RuleBasedPlanner:
    return embedded.create(settings=None)


async def plan(planner: RuleBasedPlanner, script: str, style: str = "温馨可爱", title: str = "") -> Storyboard:
    return await planner.plan(script=script, style=style, title=title)


# --------------------------------------------------------------------------- text helpers


def test_detect_language() -> None:
    assert detect_language(ZH_SCRIPT) == "zh"
    assert detect_language(EN_SCRIPT) == "en"
    assert detect_language("Tom 和 Jerry 是一对好朋友") == "zh"
    assert detect_language("We flew to 北京 last summer and loved it") == "en"


def test_speech_length_counts_cjk_chars_and_english_words() -> None:
    assert speech_length("小狗找妈妈。") == 5
    assert speech_length("The fox, at 3.5 meters!") == 5 * 1.5
    assert speech_length("，。 !?") == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("「你好。」她说。我们走吧！", ["「你好。」", "她说。", "我们走吧！"]),
        ("他说：“我来了。”然后走了。", ["他说：“我来了。”", "然后走了。"]),
        ("Mr. Smith walked 3.5 meters. Then he stopped.", ["Mr. Smith walked 3.5 meters.", "Then he stopped."]),
        ("Dr. Li met J. K. Rowling, e.g. at a fair. It rained.",
         ["Dr. Li met J. K. Rowling, e.g. at a fair.", "It rained."]),
        ("He waited... And waited. Wait... what?", ["He waited...", "And waited.", "Wait... what?"]),
        ("他想了想……“好吧。”小狗跑了？！真的吗?是的.好",
         ["他想了想……", "“好吧。”", "小狗跑了？！", "真的吗?", "是的.", "好"]),
        ('"Run!" she said. "Now!"', ['"Run!" she said.', '"Now!"']),
        ("先走；再跑。It is 2.5 km; go!", ["先走；", "再跑。", "It is 2.5 km;", "go!"]),
        ("第一章\n小狗出门了。", ["第一章", "小狗出门了。"]),
        ("The fox walked along\nthe river. Chapter Two\nIt was dark.",
         ["The fox walked along the river.", "Chapter Two", "It was dark."]),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize("text", [ZH_SCRIPT, EN_SCRIPT, "a.b.c... 。。！！", "“”「」", "x"])
def test_split_sentences_loses_nothing(text: str) -> None:
    assert strip_space("".join(split_sentences(text))) == strip_space(text)


def test_split_clauses_cuts_long_sentences_at_clause_marks() -> None:
    sentence = "小狗穿过了森林，越过了小河，爬上了高高的山坡，终于看见了远处那座熟悉的小房子和门口等待的妈妈。"
    pieces = split_clauses(sentence, 20)
    assert len(pieces) > 1
    assert "".join(pieces) == sentence
    assert all(p.endswith(("，", "。")) for p in pieces)
    assert split_clauses("短句。", 20) == ["短句。"]


def test_split_clauses_hard_splits_text_without_punctuation() -> None:
    sentence = " ".join(["word"] * 90)
    pieces = split_clauses(sentence, 30)
    assert len(pieces) >= 4
    assert strip_space("".join(pieces)) == strip_space(sentence)
    assert all(speech_length(p) <= 45 for p in pieces)


# --------------------------------------------------------------------------- full scripts


@pytest.mark.parametrize("script", [ZH_SCRIPT, EN_SCRIPT])
async def test_script_is_narrated_exactly_once_in_order(planner: RuleBasedPlanner, script: str) -> None:
    board = await plan(planner, script)
    assert 4 <= len(board.shots) <= 12
    narration = "".join(shot.narration for shot in board.shots)
    assert strip_space(narration) == strip_space(script)
    sentences = split_sentences(script)
    joined = strip_space(narration)
    position = 0
    for sentence in sentences:  # each sentence appears once, after the previous one
        found = joined.find(strip_space(sentence), position)
        assert found == position
        position = found + len(strip_space(sentence))


@pytest.mark.parametrize("script", [ZH_SCRIPT, EN_SCRIPT])
async def test_shots_speak_a_comfortable_amount(planner: RuleBasedPlanner, script: str) -> None:
    lengths = [speech_length(shot.narration) for shot in (await plan(planner, script)).shots]
    assert all(8 <= n <= 60 for n in lengths), lengths
    assert 12 <= sum(lengths) / len(lengths) <= 40


async def test_language_and_title(planner: RuleBasedPlanner) -> None:
    zh = await plan(planner, ZH_SCRIPT, title="豆豆回家")
    en = await plan(planner, EN_SCRIPT, title="")
    assert (zh.language, zh.title) == ("zh", "豆豆回家")
    assert en.language == "en"
    assert en.title.startswith("Once upon a time")


async def test_very_long_script_stays_within_twelve_shots(planner: RuleBasedPlanner) -> None:
    script = "\n\n".join([ZH_SCRIPT] * 20)
    board = await plan(planner, script)
    assert len(board.shots) == 12
    assert strip_space("".join(s.narration for s in board.shots)) == strip_space(script)


async def test_one_huge_sentence_is_split_without_loss(planner: RuleBasedPlanner) -> None:
    script = "，".join(f"小狗走过第{i}座小桥" for i in range(40)) + "。"
    board = await plan(planner, script)
    assert 4 <= len(board.shots) <= 12
    assert "".join(s.narration for s in board.shots) == script


async def test_short_script_keeps_every_sentence(planner: RuleBasedPlanner) -> None:
    board = await plan(planner, "小狗走丢了。它想找妈妈。")
    assert 4 <= len(board.shots) <= 6
    narrations = [s.narration for s in board.shots]
    assert narrations.count("小狗走丢了。") == 1
    assert narrations.count("它想找妈妈。") == 1
    assert narrations.index("小狗走丢了。") < narrations.index("它想找妈妈。")


# --------------------------------------------------------------------------- premises


@pytest.mark.parametrize(
    ("premise", "subject"),
    [
        ("小狗找妈妈的故事", "小狗"),
        ("A lighthouse keeper finds a message in a bottle", "lighthouse keeper"),
        ("An old clockmaker builds a mechanical bird", "clockmaker"),
        ("一只小兔子去月亮上旅行", "小兔子"),
    ],
)
async def test_premise_becomes_a_short_arc_about_its_subject(
    planner: RuleBasedPlanner, premise: str, subject: str
) -> None:
    board = await plan(planner, premise)
    assert 4 <= len(board.shots) <= 6
    assert subject in board.characters[0].name
    assert sum(subject.lower() in s.narration.lower() for s in board.shots) >= len(board.shots) - 1
    assert board.language == detect_language(premise)
    assert len({s.narration for s in board.shots}) == len(board.shots)


async def test_premise_arc_reuses_the_premise_action(planner: RuleBasedPlanner) -> None:
    zh = await plan(planner, "小狗找妈妈的故事")
    en = await plan(planner, "A lighthouse keeper finds a message in a bottle")
    assert any("找妈妈" in s.narration for s in zh.shots)
    assert "找到了妈妈" in zh.shots[-1].narration
    assert any("finds a message in a bottle" in s.narration for s in en.shots)


# --------------------------------------------------------------------------- cast


async def test_cast_has_a_protagonist_and_named_characters(planner: RuleBasedPlanner) -> None:
    zh = await plan(planner, ZH_SCRIPT)
    en = await plan(planner, EN_SCRIPT)
    assert zh.characters[0].name == "豆豆"
    assert "小狗" in zh.characters[0].look
    assert {"妈妈", "老乌龟"} <= {c.name for c in zh.characters}  # the script calls it 老乌龟
    assert en.characters[0].name == "Rusty"
    assert "Mr. Smith" in {c.name for c in en.characters}
    assert "the wolf" not in {c.name for c in en.characters}  # "howled like a wolf" is no character


async def test_cast_always_has_someone(planner: RuleBasedPlanner) -> None:
    board = await plan(planner, "风吹过山岗，云飘过天空，雨落在田野里，太阳又出来了，一切都很安静。" * 2)
    assert [c.name for c in board.characters] == ["主人公"]
    assert all(shot.characters for shot in board.shots)


@pytest.mark.parametrize("script", [ZH_SCRIPT, EN_SCRIPT, "小狗找妈妈的故事"])
async def test_every_image_detail_repeats_the_looks_of_its_characters(
    planner: RuleBasedPlanner, script: str
) -> None:
    board = await plan(planner, script)
    looks = {c.name: c.look for c in board.characters}
    for shot in board.shots:
        assert shot.characters
        for name in shot.characters:
            assert looks[name] in shot.image_detail
        assert shot.subject.startswith(shot.characters[0])
        assert looks[shot.characters[0]] in shot.subject


async def test_looks_are_fixed_per_name(planner: RuleBasedPlanner) -> None:
    a = await plan(planner, ZH_SCRIPT)
    b = await plan(planner, "豆豆和妈妈去河边散步。" * 3 + "名叫豆豆的小狗很开心。")
    assert {c.name: c.look for c in a.characters}["妈妈"] == {c.name: c.look for c in b.characters}["妈妈"]
    looks = [embedded.character_look(name, "animal", "zh") for name in ("小狗", "小猫", "小熊", "狐狸")]
    assert len(set(looks)) > 1


# --------------------------------------------------------------------------- style, camera, tone, detail


@pytest.mark.parametrize("script", [ZH_SCRIPT, EN_SCRIPT])
async def test_style_phrase_is_in_every_shot(planner: RuleBasedPlanner, script: str) -> None:
    board = await plan(planner, script, style="温馨可爱")
    phrase = style_phrase("温馨可爱", board.language)
    for shot in board.shots:
        assert shot.detail.startswith(phrase)
        assert shot.image_detail.startswith(phrase)


def test_style_phrase_expands_known_words_and_keeps_unknown_ones() -> None:
    zh = style_phrase("温馨可爱", "zh")
    assert "温暖" in zh and "可爱" in zh and "插画" in zh and "高品质" in zh
    assert "neon" in style_phrase("cyberpunk", "en")
    assert style_phrase("蒸汽波", "zh").startswith("蒸汽波风格")
    assert style_phrase("vaporwave", "en").startswith("vaporwave style")
    assert style_phrase("", "zh")
    assert "photorealistic" not in style_phrase("photogenic toys", "en")  # keywords match whole words


@pytest.mark.parametrize("script", [ZH_SCRIPT, EN_SCRIPT, "小狗找妈妈的故事", "A fox looks for the moon"])
async def test_cameras_are_valid_varied_and_follow_roles(planner: RuleBasedPlanner, script: str) -> None:
    shots = (await plan(planner, script)).shots
    cameras = [s.camera for s in shots]
    assert all(c in CAMERA_TERMS for c in cameras)
    assert len(set(cameras)) >= 3
    assert all(a != b for a, b in zip(cameras, cameras[1:], strict=False))
    assert cameras[0] in ("拉镜头", "垂直升降")
    assert cameras[-1] in ("拉镜头", "垂直升降")


async def test_running_and_hugging_pick_matching_cameras(planner: RuleBasedPlanner) -> None:
    script = ("小猫住在村子里，每天都很开心。小猫在草地上飞快地奔跑追蝴蝶。"
              "小猫见到了奶奶，开心地扑过去拥抱她。天黑了，小猫回到家里睡着了。")
    cameras = [s.camera for s in (await plan(planner, script)).shots]
    assert cameras[1] in ("锁定跟随", "水平横移")
    assert cameras[2] == "推镜头"


@pytest.mark.parametrize("script", [ZH_SCRIPT, EN_SCRIPT, "小狗找妈妈的故事"])
async def test_tones_come_from_cues(planner: RuleBasedPlanner, script: str) -> None:
    tones = [s.tone for s in (await plan(planner, script)).shots]
    assert all(t in TONES for t in tones)
    assert len(set(tones)) > 1


def test_detect_tone_cue_words() -> None:
    assert embedded.detect_tone("她伤心地哭了", "zh") == "sad"
    assert embedded.detect_tone("怪兽追了上来，大家都很害怕", "zh") == "tense"
    assert embedded.detect_tone("They laughed and cheered", "en") == "happy"
    assert embedded.detect_tone("一张桌子", "zh") == "calm"


@pytest.mark.parametrize("script", [ZH_SCRIPT, EN_SCRIPT, "小狗找妈妈的故事", "A lighthouse keeper finds a message"])
async def test_detail_has_motion_and_image_detail_has_no_time_words(planner: RuleBasedPlanner, script: str) -> None:
    board = await plan(planner, script)
    motion = r"先.+，然后.+，最后.+。" if board.language == "zh" else r"First .+, then .+, finally .+\."
    for shot in board.shots:
        assert re.search(motion, shot.detail)
        assert not TIME_WORDS.search(shot.image_detail), shot.image_detail


async def test_planning_is_deterministic(planner: RuleBasedPlanner) -> None:
    for script in (ZH_SCRIPT, EN_SCRIPT, "小狗找妈妈的故事"):
        first = await plan(planner, script)
        second = await embedded.create(None).plan(script=script, style="温馨可爱", title="")
        assert first.model_dump() == second.model_dump()


async def test_empty_script_is_rejected(planner: RuleBasedPlanner) -> None:
    with pytest.raises(ValueError):
        await plan(planner, "  \n ")


# --------------------------------------------------------------------------- revise_shot


def test_resolve_camera() -> None:
    assert resolve_camera("推镜头") == "推镜头"
    assert resolve_camera("push-in") == "推镜头"
    assert resolve_camera("Pull Back") == "拉镜头"
    assert resolve_camera("tilt up/down") == "上下摇镜"
    assert resolve_camera("slow pan") == "左右摇镜"
    assert resolve_camera("counterclockwise roll") == "左旋转"
    assert resolve_camera("360° orbit") == "360度环绕"
    assert resolve_camera("banana") is None


async def test_revise_shot_applies_edit_and_rederives_image_detail(planner: RuleBasedPlanner) -> None:
    board = await plan(planner, ZH_SCRIPT)
    before = board.model_copy(deep=True)
    shot = board.shots[2]
    edit = ShotEdit(detail="先豆豆爬上山坡，然后回头张望，最后坐在山顶看日落。", camera="push-in",
                    narration="豆豆爬上了山坡。", tone="happy")
    revised = await planner.revise_shot(shot=shot, edit=edit, characters=board.characters, style="温馨可爱")
    phrase = style_phrase("温馨可爱", "zh")
    assert revised.detail == edit.detail
    assert revised.image_detail != shot.image_detail
    assert "坐在山顶看日落" in revised.image_detail and "爬上山坡" not in revised.image_detail
    assert revised.image_detail.startswith(phrase)
    assert board.characters[0].look in revised.image_detail
    assert not TIME_WORDS.search(revised.image_detail)
    assert (revised.camera, revised.narration, revised.tone) == ("推镜头", "豆豆爬上了山坡。", "happy")
    assert revised.subject == shot.subject and revised.characters == ["豆豆"]
    assert board == before  # neither the edited shot nor the other shots changed


async def test_revise_shot_swaps_style_and_keeps_unknown_camera(planner: RuleBasedPlanner) -> None:
    board = await plan(planner, EN_SCRIPT, style="watercolor")
    shot = board.shots[1]
    edit = ShotEdit(style="cyberpunk", camera="wobbly banana")
    revised = await planner.revise_shot(shot=shot, edit=edit, characters=board.characters, style="watercolor")
    old, new = style_phrase("watercolor", "en"), style_phrase("cyberpunk", "en")
    assert old not in revised.detail and revised.detail.startswith(new)
    assert revised.image_detail.startswith(new) and old not in revised.image_detail
    assert revised.camera == shot.camera
    assert revised.narration == shot.narration
    for name in revised.characters:
        assert next(c.look for c in board.characters if c.name == name) in revised.image_detail


async def test_revise_shot_without_finally_uses_whole_detail(planner: RuleBasedPlanner) -> None:
    board = await plan(planner, EN_SCRIPT)
    shot = board.shots[0]
    edit = ShotEdit(detail="Then Mr. Smith rows his boat next to the pier", camera="orbit")
    revised = await planner.revise_shot(shot=shot, edit=edit, characters=board.characters, style="温馨可爱")
    assert "Mr. Smith rows his boat" in revised.image_detail
    assert "Mr. Smith" in revised.characters
    assert revised.camera == "环绕主体"
    assert not re.search(r"\bthen\b", revised.image_detail, re.I)


async def test_revise_shot_keeps_who_and_where_of_the_motion(planner: RuleBasedPlanner) -> None:
    board = await plan(planner, "小狗找妈妈的故事")
    detail = ("动画风格。冷暖交织的侧光，高对比度阴影。"
              "画面中央，小狗先绕着屋子转圈，然后冲向门口，最后停在门框前，眼睛里带着疑惑。")
    edit = ShotEdit(detail=detail, style="温馨可爱")
    revised = await planner.revise_shot(shot=board.shots[2], edit=edit, characters=board.characters, style="温馨可爱")
    assert revised.detail == detail
    assert "画面中央，小狗停在门框前，眼睛里带着疑惑" in revised.image_detail
    assert "冷暖交织的侧光" in revised.image_detail and "转圈" not in revised.image_detail
    assert revised.image_detail.startswith(style_phrase("温馨可爱", "zh"))


async def test_revise_shot_is_deterministic(planner: RuleBasedPlanner) -> None:
    board = await plan(planner, ZH_SCRIPT)
    edit = ShotEdit(detail="先妈妈抬头，然后微笑，最后抱住豆豆。")
    runs = [
        await planner.revise_shot(shot=board.shots[3], edit=edit, characters=board.characters, style="温馨可爱")
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert isinstance(runs[0], PlannedShot)
    assert runs[0].characters == ["豆豆", "妈妈"]
