"""The `ollama` storyboard backend against the Ollama double, driven by the official `ollama` client."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import ollama
import pytest

from app.core.errors import ReplyError, TerminalBackendError, TransientBackendError
from app.core.settings import Settings
from app.core.settings.storyboard import OllamaSettings
from app.models.storyboard import CAMERA_TERMS, Character, PlannedShot, ShotEdit
from app.services.chain import StageChain
from app.services.registry import build
from app.services.storyboard.llm.chat import REVISION_SCHEMA, STORYBOARD_SCHEMA
from app.services.storyboard.llm.ollama import OllamaPlanner
from app.services.storyboard.llm.reply import parse_storyboard_reply
from app.services.storyboard.rules.planner import create as embedded_planner
from tests.doubles.llm_script import FOX_LOOK, MOTHER_LOOK, Fail, Hang, Reply, upstream_capture
from tests.doubles.ollama import OllamaDouble, serve_ollama
from tests.server import free_port

SCRIPT = "小狐狸阿橘醒来发现妈妈不见了，它跑过山坡、跳过小河，终于在老橡树下找到了妈妈。"
BROKEN = '\n{"title": "小狐狸", "shots": [{"subject": "阿橘", "detail": "先'


@pytest.fixture
def double() -> Iterator[OllamaDouble]:
    with serve_ollama() as served:
        yield served


def planner(base_url: str, **overrides) -> OllamaPlanner:
    cfg = {"HOST": base_url, "MODEL": "qwen2.5:7b-instruct", "SEED": 7, "TIMEOUT_S": 5, "RETRIES": 2,
           "BACKOFF_BASE_S": 0.01, "BACKOFF_MAX_S": 0.05, "REPLY_RETRIES": 2}
    return OllamaPlanner(OllamaSettings(**{**cfg, **overrides}))


async def test_plan_returns_a_storyboard_with_bible_looks_and_video_prompts(double) -> None:
    board = await planner(double.base_url).plan(script=SCRIPT, style="水彩绘本", title="找妈妈")
    assert board.title == "找妈妈" and board.language == "zh" and len(board.shots) == 6
    assert {c.name: c.look for c in board.characters} == {"阿橘": FOX_LOOK, "狐狸妈妈": MOTHER_LOOK}
    looks = {c.name: c.look for c in board.characters}
    for shot in board.shots:
        assert shot.camera in CAMERA_TERMS
        assert all(looks[name] in shot.image_detail for name in shot.characters)
        assert set(shot.prompts) == {"en", "zh"} and shot.prompts["en"] != shot.detail
    assert len(double.chats()) == 1


async def test_chat_request_sends_our_schema_as_format_with_options_and_the_configured_model(double) -> None:
    await planner(double.base_url, TEMPERATURE=0.3, NUM_CTX=8192).plan(script=SCRIPT, style="水彩", title="")
    body = double.chats()[0]
    assert body["format"] == STORYBOARD_SCHEMA
    assert body["options"] == {"temperature": 0.3, "num_ctx": 8192, "seed": 7}
    assert body["model"] == "qwen2.5:7b-instruct" and body["stream"] is False and "think" not in body
    system, user = body["messages"]
    assert system["role"] == "system" and "json" in system["content"] and "character bible" in system["content"]
    assert SCRIPT in user["content"]


async def test_english_script_gets_the_english_prompt_and_think_is_sent_when_set(double) -> None:
    board = await planner(double.base_url, THINK=False).plan(script="A fox cub wakes up alone and looks for its "
                                                                    "mother across the hills.", style="", title="")
    body = double.chats()[0]
    assert body["think"] is False and body["messages"][0]["content"].startswith("You are an imaginative")
    assert board.language == "en"


async def test_captured_upstream_reply_from_the_server_parses(double) -> None:
    double.script.push(Reply(upstream_capture()))
    board = await planner(double.base_url).plan(script=SCRIPT, style="国漫", title="雨夜")
    assert len(board.shots) == 5 and board.shots[2].camera == "推镜头"


async def test_malformed_json_is_retried_with_the_parse_error_fed_back(double) -> None:
    double.script.push(Reply(BROKEN))
    board = await planner(double.base_url).plan(script=SCRIPT, style="水彩", title="")
    assert len(board.shots) == 6
    with pytest.raises(ReplyError) as caught:
        parse_storyboard_reply(BROKEN)
    first, second = double.chats()
    assert second["messages"][:2] == first["messages"]
    assert second["messages"][2] == {"role": "assistant", "content": BROKEN}
    assert str(caught.value) in second["messages"][3]["content"] and "JSON" in str(caught.value)


async def test_schema_violation_is_retried_with_the_validation_error_fed_back(double) -> None:
    too_short = '{"shots": [{"subject": "阿橘", "detail": "d", "image_detail": "i", "camera": "推镜头", ' \
                '"narration": "n", "tone": "calm"}]}'
    double.script.push(Reply(too_short))
    await planner(double.base_url).plan(script=SCRIPT, style="", title="")
    feedback = double.chats()[1]["messages"][-1]["content"]
    assert "shots: List should have at least 4 items" in feedback


async def test_replies_that_stay_invalid_end_in_a_terminal_invalid_reply(double) -> None:
    double.script.push(Reply("不是json"), Reply(BROKEN), Reply("{}"))
    with pytest.raises(TerminalBackendError) as caught:
        await planner(double.base_url, REPLY_RETRIES=2).plan(script=SCRIPT, style="", title="")
    assert caught.value.code == "invalid_reply" and "shots: Field required" in caught.value.message
    assert len(double.chats()) == 3


@pytest.mark.parametrize("status", [500, 503])
async def test_server_error_is_retried_then_succeeds(double, status: int) -> None:
    double.script.push(Fail(status, {"error": "llama runner process has terminated"}))
    board = await planner(double.base_url).plan(script=SCRIPT, style="", title="")
    assert len(board.shots) == 6 and len(double.chats()) == 2


async def test_missing_model_is_terminal_with_ollamas_message_and_not_retried(double) -> None:
    with pytest.raises(TerminalBackendError) as caught:
        await planner(double.base_url, MODEL="qwen3:14b").plan(script=SCRIPT, style="", title="")
    assert caught.value.code == "model_not_found"
    assert caught.value.message == 'model "qwen3:14b" not found, try pulling it first'
    assert len(double.chats()) == 1


async def test_failed_plan_falls_back_to_the_embedded_planner_and_says_why(double) -> None:
    chain = StageChain("storyboard", [("ollama", planner(double.base_url, MODEL="qwen3:14b")),
                                      ("embedded", embedded_planner(None))])
    outcome = await chain.call(lambda p: p.plan(script=SCRIPT, style="", title=""))
    assert outcome.backend == "embedded" and len(outcome.value.shots) >= 4
    assert outcome.degraded == 'ollama: model_not_found: model "qwen3:14b" not found, try pulling it first'


async def test_hanging_server_hits_the_timeout(double) -> None:
    double.script.push(Hang(30))
    started = time.monotonic()
    with pytest.raises(TransientBackendError) as caught:
        await planner(double.base_url, TIMEOUT_S=0.3, RETRIES=0).plan(script=SCRIPT, style="", title="")
    assert caught.value.code == "timeout" and time.monotonic() - started < 3


async def test_unreachable_server_is_a_transient_error() -> None:
    with pytest.raises(TransientBackendError) as caught:
        await planner(f"http://127.0.0.1:{free_port()}", RETRIES=1).plan(script=SCRIPT, style="", title="")
    assert caught.value.code == "unreachable"


async def test_ready_when_the_model_is_pulled_and_not_otherwise(double) -> None:
    assert (await planner(double.base_url).ready()).ready
    missing = await planner(double.base_url, MODEL="qwen3").ready()
    assert not missing.ready and "ollama pull qwen3" in missing.detail
    double.models.append("qwen3:latest")
    assert (await planner(double.base_url, MODEL="qwen3").ready()).ready
    down = await planner(f"http://127.0.0.1:{free_port()}").ready()
    assert not down.ready and "unreachable" in down.detail


async def test_regenerate_keeps_the_users_detail_and_asks_the_llm_for_the_picture(double) -> None:
    shot = PlannedShot(subject="阿橘", detail="旧的描述", image_detail="旧画面", camera="推镜头", narration="旧旁白",
                       tone="calm", characters=["阿橘"], prompts={"en": "old prompt"})
    detail = "先是阿橘爬上老橡树，然后四处张望，最后朝远方挥手 "
    revised = await planner(double.base_url).revise_shot(
        shot=shot, edit=ShotEdit(detail=detail, camera="orbit"), characters=[Character(name="阿橘", look=FOX_LOOK)],
        style="水彩")
    assert revised.detail == detail and revised.camera == "环绕主体" and revised.narration == "旧旁白"
    assert "站在老橡树的树枝上挥手" in revised.image_detail and FOX_LOOK in revised.image_detail
    assert revised.prompts["en"].startswith("First the fox climbs") and revised.characters == ["阿橘"]
    body = double.chats()[0]
    assert body["format"] == REVISION_SCHEMA and detail.strip() in body["messages"][1]["content"]


async def test_regenerate_of_the_narration_alone_needs_no_llm_call(double) -> None:
    shot = PlannedShot(subject="s", detail="d", image_detail="i", camera="推镜头", narration="n", tone="calm")
    revised = await planner(double.base_url).revise_shot(shot=shot, edit=ShotEdit(narration="新旁白"), characters=[],
                                                         style="")
    assert revised.narration == "新旁白" and revised.image_detail == "i" and double.chats() == []


@pytest.mark.parametrize(("setting", "sent"), [("-1", -1), ("300", 300), ("1h30m", "1h30m"), ("-1s", "-1s")])
async def test_keep_alive_reaches_ollama_as_a_number_or_a_go_duration(double, setting, sent) -> None:
    board = await planner(double.base_url, KEEP_ALIVE=setting).plan(script=SCRIPT, style="水彩", title="")
    assert len(board.shots) == 6
    assert double.chats()[0]["keep_alive"] == sent  # "-1" as a string would be answered 400


@pytest.mark.parametrize("setting", ["forever", "1d", "5 m"])
def test_keep_alive_ollama_cannot_read_is_refused_with_the_settings(setting) -> None:
    with pytest.raises(ValueError, match="OLLAMA_KEEP_ALIVE"):
        OllamaSettings(KEEP_ALIVE=setting)


async def test_double_reads_keep_alive_as_ollamas_api_duration(double) -> None:
    body = {"model": "qwen2.5:7b-instruct", "messages": [{"role": "user", "content": "hi"}], "stream": False}
    async with httpx.AsyncClient(base_url=double.base_url) as client:
        for accepted in (-1, 0, 300, "5m", "1h30m", "-1s", "0"):
            assert (await client.post("/api/chat", json={**body, "keep_alive": accepted})).status_code == 200
        unitless = await client.post("/api/chat", json={**body, "keep_alive": "-1"})
        assert unitless.status_code == 400 and unitless.json() == {"error": 'time: missing unit in duration "-1"'}
        assert (await client.post("/api/chat", json={**body, "keep_alive": "1d"})).json()["error"] == \
            'time: unknown unit "d" in duration "1d"'
        assert (await client.post("/api/chat", json={**body, "keep_alive": True})).status_code == 400
    with pytest.raises(ollama.ResponseError) as info:  # through the official client, as the old backend sent it
        await ollama.AsyncClient(host=double.base_url).chat(model=body["model"], messages=body["messages"],
                                                            keep_alive="-1")
    assert info.value.status_code == 400 and "missing unit in duration" in info.value.error


def test_factory_reads_ollama_settings_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "http://gpu-box:11434")
    monkeypatch.setenv("OLLAMA_MODEL", "qwen3:8b")
    monkeypatch.setenv("OLLAMA_REPLY_RETRIES", "4")
    made = build("storyboard", "ollama", Settings())
    assert isinstance(made, OllamaPlanner)
    assert (made.settings.HOST, made.settings.MODEL, made.reply_retries) == ("http://gpu-box:11434", "qwen3:8b", 4)


async def test_double_rejects_what_ollama_rejects_and_streams_generate_by_default(double) -> None:
    async with httpx.AsyncClient(base_url=double.base_url) as client:
        assert (await client.post("/api/chat")).json() == {"error": "missing request body"}
        assert (await client.post("/api/chat", json={"messages": []})).json() == {"error": "model is required"}
        bad_role = await client.post("/api/chat", json={"model": "qwen2.5:7b-instruct",
                                                        "messages": [{"role": "narrator", "content": "x"}]})
        assert bad_role.status_code == 400 and "invalid role" in bad_role.json()["error"]
        bad_format = await client.post("/api/chat", json={"model": "qwen2.5:7b-instruct", "format": 3})
        assert bad_format.status_code == 400
    chunks = [c async for c in await ollama.AsyncClient(host=double.base_url).generate(
        model="qwen2.5:7b-instruct", prompt="hi", stream=True)]
    assert chunks[-1].done and chunks[-1].done_reason == "stop" and json.loads(chunks[0].response)["shots"]
