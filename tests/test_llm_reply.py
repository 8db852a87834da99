"""LLM planner logic without a server: the prompts, reading replies, and the consistency repairs."""

from __future__ import annotations

import json

import pytest

from app.core.errors import ReplyError
from app.models.story import Shot
from app.models.storyboard import CAMERA_TERMS, Character, PlannedShot, ShotEdit
from app.services.storyboard.language.vocab import TONES
from app.services.storyboard.llm.assemble import merge_edit, needs_new_picture, to_storyboard
from app.services.storyboard.llm.chat import STORYBOARD_SCHEMA
from app.services.storyboard.llm.prompts import NARRATION_LIMIT, feedback_messages, plan_messages, revise_messages
from app.services.storyboard.llm.reply import (
    extract_json,
    parse_revision_reply,
    parse_storyboard_reply,
    repair_punctuation,
)
from tests.doubles.llm_script import FOX_LOOK, MOTHER_LOOK, STYLE, storyboard_reply, storyboard_text, upstream_capture

TIME_WORDS = ("先", "然后", "接着", "随后", "最后")


def shots_json(count: int, **overrides) -> str:
    shot = {"subject": "小猫", "detail": "先跑，然后跳，最后坐下。", "image_detail": "小猫坐着", "camera": "推镜头",
            "narration": "小猫坐下了。", "tone": "calm", **overrides}
    return json.dumps({"shots": [shot] * count}, ensure_ascii=False)


# --------------------------------------------------------------------------- prompts


@pytest.mark.parametrize("script, language", [("小狐狸在森林里寻找妈妈。", "zh"),
                                              ("A fox cub looks for its mother.", "en")])
def test_plan_prompt_asks_for_json_with_a_character_bible_in_the_scripts_language(script, language) -> None:
    system, user = plan_messages(script=script, style="水彩", title="", language=language)
    text = system["content"]
    assert "json" in text and "json" in user["content"]
    assert "character bible" in text.lower() or "角色设定" in text
    assert all(term in text for term in CAMERA_TERMS)
    assert all(tone in text for tone in TONES)
    assert str(NARRATION_LIMIT[language]) in text
    assert ("先……，然后……，最后……" in text) if language == "zh" else ('"First …, then …, finally …"' in text)
    assert "style_phrase" in text and "video_prompt_en" in text and "video_prompt_zh" in text
    assert script in user["content"] and "水彩" in user["content"]
    assert ("中文旁白" in text) == (language == "zh")


def test_revise_prompt_carries_the_users_detail_the_bible_and_asks_for_json() -> None:
    shot = PlannedShot(subject="阿橘", detail="阿橘爬上老橡树，向远方挥手。", image_detail="旧画面", camera="推镜头",
                       narration="它爬上了树。", tone="happy", characters=["阿橘"])
    cast = [Character(name="阿橘", look=FOX_LOOK)]
    system, user = revise_messages(shot=shot, previous_image="旧画面", characters=cast, style="水彩", language="zh")
    assert "json" in system["content"] and "推镜头 (push-in)" in system["content"]
    assert all(part in user["content"] for part in ("阿橘爬上老橡树，向远方挥手。", FOX_LOOK, "旧画面"))


def test_feedback_echoes_the_rejected_reply_and_states_the_error() -> None:
    assistant, user = feedback_messages("{bad", "shots: Field required", "en")
    assert assistant == {"role": "assistant", "content": "{bad"}
    assert "shots: Field required" in user["content"] and "json" in user["content"]


# --------------------------------------------------------------------------- reading replies


def test_captured_upstream_reply_with_its_quirks_parses_into_our_storyboard() -> None:
    text = upstream_capture()
    assert text.startswith("\n") and "：" in text and '"sound"' in text  # the quirks are really there
    board = to_storyboard(parse_storyboard_reply(text), title="雨夜小猫", language="zh")
    assert [s.camera for s in board.shots] == ["推镜头", "锁定跟随", "推镜头", "环绕主体", "拉镜头"]
    assert [s.tone for s in board.shots] == ["calm", "tense", "sad", "warm", "happy"]
    assert board.shots[0].narration == "雨夜，小橘猫被窗外的声音吵醒了。"
    assert board.title == "雨夜小猫" and board.language == "zh" and board.characters == []
    assert all(not any(w in s.image_detail for w in TIME_WORDS) for s in board.shots)
    assert all("sound" not in s.model_dump() for s in board.shots)


def test_fenced_reply_with_a_think_block_and_chatter_parses() -> None:
    text = f"<think>let me plan</think>\n好的，以下是分镜：\n```json\n{shots_json(4)}\n```\n希望你喜欢！"
    assert len(parse_storyboard_reply(text).shots) == 4


def test_bare_list_of_shots_and_string_sequences_are_accepted_in_story_order() -> None:
    shots = [json.loads(shots_json(1, sequence=str(n), subject=f"s{n}"))["shots"][0] for n in (3, 1, 4, 2)]
    reply = parse_storyboard_reply(json.dumps(shots))
    assert [s.subject for s in reply.shots] == ["s1", "s2", "s3", "s4"]


@pytest.mark.parametrize("given, term", [("Push-in", "推镜头"), ("pan left/right", "左右摇镜"),
                                         ("360° orbit", "360度环绕"), ("dolly out", "拉镜头"),
                                         ("lock-on follow", "锁定跟随"), ("固定镜头", "固定镜头")])
def test_camera_given_as_an_english_label_maps_to_the_term(given: str, term: str) -> None:
    assert parse_storyboard_reply(shots_json(4, camera=given)).shots[0].camera == term


def test_unknown_camera_is_rejected_naming_the_field_and_the_terms() -> None:
    with pytest.raises(ReplyError) as caught:
        parse_storyboard_reply(shots_json(4, camera="dutch angle"))
    assert "shots.0.camera" in str(caught.value) and "推镜头" in str(caught.value)


@pytest.mark.parametrize("count, words", [(3, "at least 4"), (13, "at most 12")])
def test_shot_count_outside_4_to_12_is_rejected(count: int, words: str) -> None:
    with pytest.raises(ReplyError, match=words):
        parse_storyboard_reply(shots_json(count))


def test_missing_and_empty_fields_are_rejected() -> None:
    with pytest.raises(ReplyError, match="narration"):
        parse_storyboard_reply(shots_json(4, narration="  "))
    with pytest.raises(ReplyError, match="shots: Field required"):
        parse_storyboard_reply('{"title": "x"}')


@pytest.mark.parametrize("text", ["", "好的，我来想一想。", '{"shots": [{"subject": "猫"', "[1, 2"])
def test_text_that_is_not_json_is_rejected(text: str) -> None:
    with pytest.raises(ReplyError, match="JSON|json"):
        parse_storyboard_reply(text)


def test_full_width_syntax_is_repaired_but_chinese_punctuation_in_values_is_kept() -> None:
    text = '{“subject”：“小猫，跳！”，"detail"："他说\\"好\\"。"，"list"：[1，2，]，}'
    assert json.loads(repair_punctuation(text)) == {"subject": "小猫，跳！", "detail": '他说"好"。', "list": [1, 2]}
    assert extract_json("\n\n" + text) == json.loads(repair_punctuation(text))


def test_revision_reply_needs_an_image_detail() -> None:
    assert parse_revision_reply('{"image_detail": "猫", "extra": 1}').image_detail == "猫"
    with pytest.raises(ReplyError, match="image_detail"):
        parse_revision_reply('{"characters": []}')


# --------------------------------------------------------------------------- consistency


def test_every_picture_of_a_character_repeats_the_bible_look_verbatim() -> None:
    board = to_storyboard(parse_storyboard_reply(storyboard_text()), title="", language="zh")
    looks = {"阿橘": FOX_LOOK, "狐狸妈妈": MOTHER_LOOK}
    assert [c.name for c in board.characters] == ["阿橘", "狐狸妈妈"]
    for shot in board.shots:
        assert shot.characters and all(looks[name] in shot.image_detail for name in shot.characters)
        assert shot.image_detail.startswith(STYLE) and shot.detail.startswith(STYLE)
    assert board.shots[2].image_detail.startswith(f"{STYLE}，阿橘（{FOX_LOOK}），小狐狸站在")  # repaired
    assert board.title == "小狐狸找妈妈"


def test_style_phrase_is_added_where_missing_and_time_words_leave_the_still_frame() -> None:
    data = storyboard_reply()
    data["shots"][0]["detail"] = "先跑，然后停下。"
    data["shots"][0]["image_detail"] = "阿橘然后站着，最后望向远方"
    shot = to_storyboard(parse_storyboard_reply(json.dumps(data, ensure_ascii=False)), title="", language="zh").shots[0]
    assert shot.detail == f"{STYLE}，先跑，然后停下。"
    assert shot.image_detail.startswith(f"{STYLE}，阿橘（{FOX_LOOK}）")
    assert not any(w in shot.image_detail for w in TIME_WORDS)


def test_video_prompts_are_stored_by_language_next_to_the_detail() -> None:
    reply = storyboard_reply()
    board = to_storyboard(parse_storyboard_reply(json.dumps(reply, ensure_ascii=False)), title="", language="zh")
    first = board.shots[0]
    assert first.prompts == {"en": reply["shots"][0]["video_prompt_en"], "zh": reply["shots"][0]["video_prompt_zh"]}
    assert first.detail == reply["shots"][0]["detail"]
    stored = Shot(id="shot_01", sequence=1, **first.model_dump())  # what create's _apply_storyboard does
    assert stored.prompts == first.prompts and stored.detail == first.detail


def test_schema_sent_as_format_inlines_definitions_and_requires_every_field() -> None:
    text = json.dumps(STORYBOARD_SCHEMA, ensure_ascii=False)
    assert "$ref" not in text and "$defs" not in text
    shot = STORYBOARD_SCHEMA["properties"]["shots"]
    assert (shot["minItems"], shot["maxItems"]) == (4, 12)
    assert shot["items"]["properties"]["camera"]["enum"] == list(CAMERA_TERMS)
    assert set(shot["items"]["required"]) == set(shot["items"]["properties"])
    assert STORYBOARD_SCHEMA["required"] == ["title", "style_phrase", "characters", "shots"]


def test_edit_keeps_the_users_detail_verbatim_and_maps_a_camera_wish() -> None:
    shot = PlannedShot(subject="猫", detail="旧", image_detail="旧图", camera="推镜头", narration="旧旁白", tone="calm",
                       prompts={"en": "old"})
    detail = "  小猫先爬上屋顶，然后……最后看月亮 "
    merged = merge_edit(shot, ShotEdit(detail=detail, camera="zoom out"))
    assert merged.detail == detail and merged.camera == "拉镜头" and merged.narration == "旧旁白"
    assert merge_edit(shot, ShotEdit(camera="dutch angle")).camera == "推镜头"
    assert needs_new_picture(ShotEdit(detail="x")) and not needs_new_picture(ShotEdit(narration="新旁白"))
