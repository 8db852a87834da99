"""The contact sheet: every shot's keyframe, number and narration on one PNG, made after create and regenerate,
published with the story and linked in the results."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from app.models.requests import CreateStoryboardRequest, RegenerateShotRequest
from app.services.keyframe.contact_sheet import SheetShot, auto_columns, render_contact_sheet
from app.services.publish.local import media_dir
from tests.inproc import service

CREATE = CreateStoryboardRequest(operation_id="op-cs", story_id="story-cs", user_id="u-1", display_name="小狗找妈妈",
                                 script_content="小狗豆豆醒来发现妈妈不见了。它跑出家门。天黑了，它很害怕。它听见妈妈的叫声。"
                                                "它们一起回家。", style="温馨可爱")


def _frames(tmp_path: Path, count: int, size: tuple[int, int] = (320, 180)) -> list[SheetShot]:
    shots = []
    for i in range(1, count + 1):
        path = tmp_path / f"k{i}.png"
        Image.new("RGB", size, (40 * i % 255, 90, 160)).save(path)
        narration = "清晨，小狗豆豆在温暖的窝里醒来。" * (i % 3 + 1)
        shots.append(SheetShot(sequence=i, shot_id=f"shot_{i:02d}", narration=narration, keyframe=path,
                               version=1 + (i == 2)))
    return shots


def test_the_grid_has_a_cell_per_shot_in_rows_of_the_chosen_width(tmp_path: Path):
    shots = _frames(tmp_path, 5)
    sheet = render_contact_sheet(shots, title="小狗找妈妈", subtitle="温馨可爱", thumb_width=200)
    assert auto_columns(5) == 3 and auto_columns(4) == 2 and auto_columns(12) == 4
    gap = 10
    assert sheet.width == 3 * 200 + 4 * gap
    two_rows = sheet.height
    one_row = render_contact_sheet(shots[:3], title="t", thumb_width=200, columns=3).height
    assert two_rows > one_row
    cell = sheet.crop((gap, two_rows - 10, gap + 200, two_rows - 9))
    assert cell.getbbox() is not None
    thumb = sheet.getpixel((gap + 100, sheet.height - one_row + 60))  # inside a thumbnail of the second row
    assert thumb != sheet.getpixel((1, 1))


async def test_create_and_regenerate_publish_a_sheet_linked_in_the_results(tmp_path: Path):
    async with service(tmp_path / "data") as svc:
        created = await svc.run(CREATE)
        assert created.status == "succeeded", created.error
        view = await svc.view("op-cs")
        first_url = view["result"]["contact_sheet_url"]
        assert first_url and first_url.endswith(".png")
        published = media_dir(svc.settings) / first_url.split("/media/", 1)[1]
        with Image.open(published) as sheet:
            assert sheet.format == "PNG" and sheet.width > 2 * 320
        story = await svc.store.get_story("story-cs")
        assert story is not None and story.contact_sheet is not None

        regen = RegenerateShotRequest(operation_id="op-cs2", story_id="story-cs", user_id="u-1", shot_id="shot_02",
                                      narration="豆豆跑出家门，穿过开满野花的草地。")
        assert (await svc.run(regen)).status == "succeeded"
        again = await svc.view("op-cs2")
        second_url = again["result"]["contact_sheet_url"]
        assert second_url and second_url != first_url
        assert svc.presenter.story(await svc.store.get_story("story-cs"))["contact_sheet_url"] == second_url
