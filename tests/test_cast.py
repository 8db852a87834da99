"""Reading a story's cast: names and kinds, pronouns, who is in a scene, looks, and where and when."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.services.storyboard.rules import segment
from app.services.storyboard.rules.cast import Cast, read_cast
from app.services.storyboard.rules.members import ABSENT, ANIMAL, GROUP, PERSON
from app.services.storyboard.rules.planner import build_storyboard
from tests.planner_eval import HAIR

REPO = Path(__file__).resolve().parent.parent


def cast_of(text: str, lang: str = "zh", premise: bool = False) -> Cast:
    return read_cast(text, lang, premise=premise)


def refs_to(cast: Cast, text: str, word: str) -> list[tuple[str, ...]]:
    """The characters each occurrence of `word` (a pronoun, say) was resolved to."""
    return [r.keys for r in cast.refs if text[r.start:r.end] == word]


def key(cast: Cast, name: str) -> str:
    return next(m.key for m in cast.members if m.name == name)


# --------------------------------------------------------------------------- names and kinds


def test_a_named_animal_is_the_hero_with_its_species() -> None:
    cast = cast_of("小猫咪咪提着篮子去看望外婆。外婆给它煮了一碗鱼汤。咪咪吃完饭，帮外婆扫院子。")
    lead = cast.lead
    assert (lead.name, lead.kind, lead.species) == ("咪咪", ANIMAL, "cat")
    assert "外婆" in {m.name for m in cast.members}


def test_a_named_child_keeps_her_name() -> None:
    cast = cast_of("傍晚，小女孩丽丽在教室里等妈妈。丽丽趴在窗边，数着窗外的雨点。")
    assert cast.lead.name == "丽丽"
    assert (cast.lead.kind, cast.lead.gender, cast.lead.age) == (PERSON, "f", "child")
    assert "小女孩" in cast.lead.aliases


def test_a_group_of_animals_is_one_character() -> None:
    cast = cast_of("一群小鸭子跟着鸭妈妈来到池塘边。小鸭子们排成一排，扑通扑通跳进了水里。它们游得真开心。")
    kinds = {m.name: (m.kind, m.species) for m in cast.members}
    assert kinds["小鸭子们"] == (GROUP, "duck")
    assert kinds["鸭妈妈"] == (ANIMAL, "duck")
    english = cast_of("The children of Room 4 planted a garden. They dug neat rows, and the children laughed.", "en")
    assert english.lead.name == "the children" and english.lead.kind == GROUP


def test_english_names_come_from_namings_titles_and_appositions() -> None:
    text = ("In a quiet valley lived a little bear named Bo. Mr. Okafor, the ranger, waved at him. "
            "Her black cat, Soot, watched them. Bo waved back.")
    cast = cast_of(text, "en")
    found = {m.name: m for m in cast.members}
    assert found["Bo"].species == "bear" and found["Bo"].kind == ANIMAL
    assert found["Mr. Okafor"].gender == "m"
    assert found["Soot"].species == "cat"
    assert cast.lead.name == "Bo"


@pytest.mark.parametrize(
    ("premise", "names", "not_names"),
    [
        ("Lily和她的小狗Max去海边 explore 一个神秘的山洞", {"Lily", "Max"}, {"explore"}),
        ("Explore the old cave with a little fox named Rusty", {"Rusty"}, {"Explore"}),
        ("🚀 小宇航员 Leo 第一次登上月球 🌕", {"Leo"}, set()),
        ("A panda named 圆圆 learns to ride a bicycle in the bamboo forest", {"圆圆"}, set()),
    ],
)
def test_mixed_language_premises_with_emoji(premise: str, names: set[str], not_names: set[str]) -> None:
    board = build_storyboard(premise, "")
    cast = {c.name for c in board.characters}
    assert names <= cast
    assert not cast & not_names
    assert board.characters[0].name in names


def test_things_and_animals_never_get_human_hair() -> None:
    board = build_storyboard("机器人阿铁在废弃的工厂里醒来，它的眼睛闪着蓝光。它走出工厂，遇见了一只小花猫。"
                             "小花猫跟着阿铁走了一路。夜里下起了雪，阿铁让小花猫钻进它的怀里。", "")
    looks = {c.name: c.look for c in board.characters}
    assert set(looks) >= {"阿铁", "小花猫"}
    assert "金属" in looks["阿铁"] and "眼睛闪着蓝光" in looks["阿铁"]  # the look the script writes
    assert "毛" in looks["小花猫"]
    assert not any(HAIR.search(look) for look in looks.values())


def test_people_look_their_age_and_written_clothes_win() -> None:
    board = build_storyboard("Grandpa Joe teaches his granddaughter Mia to sail. Mia wore a yellow raincoat. "
                             "Grandpa Joe laughed when the wind took his hat. Mia laughed too.", "")
    looks = {c.name: c.look for c in board.characters}
    assert re.search(r"grey|white|silver", looks["Grandpa Joe"])
    assert "a yellow raincoat" in looks["Mia"] and "little girl" in looks["Mia"]
    zh = build_storyboard("小明今年八岁，总是穿着红色雨衣。小明每天都去河边钓鱼。", "")
    assert "穿着红色雨衣" in zh.characters[0].look and "8岁" in zh.characters[0].look
    assert zh.characters[0].look.count("穿着") == 1


def test_a_relative_of_an_animal_hero_is_of_its_kind() -> None:
    animal = build_storyboard("小狗豆豆醒来，发现妈妈不见了。豆豆到处找妈妈。最后，妈妈回来了，豆豆扑进妈妈怀里。", "")
    person = build_storyboard("小明醒来，发现妈妈不见了。小明到处找妈妈。最后，妈妈回来了，小明扑进妈妈怀里。", "")
    assert "狗" in next(c.look for c in animal.characters if c.name == "妈妈")
    assert HAIR.search(next(c.look for c in person.characters if c.name == "妈妈"))


def test_the_visiting_animal_leads_not_the_grandmother() -> None:
    board = build_storyboard("小兔子跳跳去看望外婆。外婆给跳跳做了胡萝卜饼。跳跳吃饱了，帮外婆扫地。"
                             "天黑了，跳跳和外婆告别，蹦蹦跳跳地回家了。", "")
    assert board.characters[0].name == "跳跳"


# --------------------------------------------------------------------------- pronouns and scenes


def test_pronouns_go_to_the_last_fitting_character() -> None:
    text = "小狗豆豆坐在大树下。这时，妈妈沿着小路朝它跑来。它高兴地叫了起来。"
    cast = cast_of(text)
    doudou = key(cast, "豆豆")
    assert refs_to(cast, text, "它") == [(doudou,), (doudou,)]  # 朝它: not 妈妈, the sentence's subject
    english = "Bo sat on a log. An old owl named Hazel peered down. Bo thanked her and walked home."
    en = cast_of(english, "en")
    assert refs_to(en, english, "her") == [(key(en, "Hazel"),)]


def test_they_means_a_group_or_the_last_two() -> None:
    text = "小狗豆豆在草地上等妈妈。妈妈来了。豆豆扑进妈妈温暖的怀里，它们一起踏着月光回家了。"
    cast = cast_of(text)
    assert set(refs_to(cast, text, "它们")[0]) == {key(cast, "豆豆"), key(cast, "妈妈")}


def test_a_missing_character_is_not_in_the_scene() -> None:
    text = "清晨，小狗豆豆醒来，发现妈妈不见了。它在屋子里到处寻找。傍晚，妈妈回来了。豆豆扑进妈妈的怀里。"
    cast = cast_of(text)
    mother = [r.role for r in cast.refs if r.keys == (key(cast, "妈妈"),)]
    assert mother[0] == ABSENT and all(role != ABSENT for role in mother[1:])
    alone = cast_of("清晨，小狗豆豆醒来，发现妈妈不见了。它在屋子里到处寻找。")
    assert [m.name for m in alone.members] == ["豆豆"]
    english = "Kai woke up alone. He missed his mother and looked for his mother all morning. At noon she came back."
    en = cast_of(english, "en")
    mother_en = [r.role for r in en.refs if en.member(r.keys[0]) and en.member(r.keys[0]).role == "mother"]
    assert mother_en[:2] == [ABSENT, ABSENT] and mother_en[-1] != ABSENT


def test_each_shot_shows_who_its_narration_is_about() -> None:
    script = ("清晨，小狗豆豆在窝里醒来，发现妈妈不见了。它揉揉眼睛，在屋子里到处寻找。\n\n"
              "豆豆跑出家门，穿过开满野花的草地。它跑呀跑，一直跑到河边。\n\n"
              "这时，远处传来熟悉的叫声。妈妈正沿着河岸朝它跑来！\n\n"
              "豆豆扑进妈妈的怀里，它们一起踏着月光回家了。")
    shots = build_storyboard(script, "").shots
    assert shots[0].characters == ["豆豆"]
    assert shots[0].subject.startswith("豆豆")
    assert set(shots[-1].characters) == {"豆豆", "妈妈"}
    assert all("妈妈" not in s.subject.split("（")[0] for s in shots[:2])


def test_place_and_time_come_from_each_shot_and_carry_forward() -> None:
    script = ("One stormy morning, Tomas walked down to the harbour with his grandfather.\n\n"
              "They sat on the pier for hours. Tomas caught nothing.\n\n"
              "That evening, Grandpa cooked soup in the small kitchen behind the shop.\n\n"
              "Late at night, Tomas fell asleep by the fire, dreaming of fish.")
    shots = build_storyboard(script, "watercolor").shots
    pictures = [s.image_detail for s in shots]
    assert "harbour" in pictures[0] and "morning" in pictures[0] and "storm" in pictures[0]
    assert "pier" in pictures[1] and "morning" in pictures[1]  # the hour carries, the place changes
    assert "kitchen" in pictures[2] and "evening" in pictures[2] and "morning" not in pictures[2]
    assert "night" in pictures[3] and "kitchen" in pictures[3]  # still in the kitchen: it named no place


def test_a_script_that_says_nothing_keeps_the_tone_lighting() -> None:
    board = build_storyboard("小熊在玩。小熊很开心。小熊跳起了舞。小熊笑了。", "")
    for shot in board.shots:
        assert not re.search(r"晨|夜|夕阳|月光|白天", shot.image_detail)


def test_premise_time_and_place_light_the_whole_arc() -> None:
    board = build_storyboard("一个小女孩在雨夜的小巷里捡到一只受伤的小鸟", "")
    assert board.characters[0].name == "小女孩"
    for shot in board.shots:
        assert "夜" in shot.image_detail and "雨" in shot.image_detail and "巷" in shot.image_detail
        assert not re.search(r"晨|夕阳|白天", shot.image_detail)


# --------------------------------------------------------------------------- jieba


def test_jieba_loads_once_quietly_and_outside_the_repo(capfd: pytest.CaptureFixture[str]) -> None:
    first = segment._load()
    assert segment._load() is first
    words = [t.word for t in segment.tokens("小狗豆豆和小鸭子在池塘边")]
    assert {"小狗", "小鸭子", "池塘边"} <= set(words)  # the planner's own words come out whole
    assert "".join(words) == "小狗豆豆和小鸭子在池塘边"
    assert not Path(first.tokenizer.tmp_dir).resolve().is_relative_to(REPO)  # type: ignore[attr-defined]
    assert not list(REPO.glob("*.cache"))
    assert "Building prefix dict" not in capfd.readouterr().err


@pytest.mark.parametrize(
    ("premise", "lead", "others", "not_cast"),
    [
        ("小明 and his dog Buddy go camping by the lake", "小明", {"Buddy"}, set()),
        ("A brave knight rescues a baby dragon from a dark cave", "the knight", {"the dragon"}, {"the baby"}),
        ("Zhang Wei, a young baker in Shanghai, bakes a cake for his mother", "Zhang Wei", set(), set()),
    ],
)
def test_premises_name_their_people(premise: str, lead: str, others: set[str], not_cast: set[str]) -> None:
    board = build_storyboard(premise, "")
    names = {c.name for c in board.characters}
    assert board.characters[0].name == lead
    assert others <= names and not names & not_cast
