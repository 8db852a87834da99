"""The `dashscope` storyboard backend (Qwen) against the DashScope double, driven by the `dashscope` SDK."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from dashscope.api_entities.aio_session import close_shared_aio_session

from app.core.errors import TerminalBackendError, TransientBackendError
from app.core.settings import Settings
from app.core.settings.dashscope import DashScopeSettings
from app.core.settings.storyboard import QwenSettings
from app.models.storyboard import CAMERA_TERMS, Character, PlannedShot, ShotEdit
from app.services.registry import build
from app.services.storyboard.llm.dashscope import QwenPlanner
from tests.doubles.dashscope_qwen import GENERATION, QwenDouble, moderated, serve_qwen, throttled
from tests.doubles.llm_script import FOX_LOOK, Hang, Reply

KEY = "sk-test-qwen"
SCRIPT = "小狐狸阿橘醒来发现妈妈不见了，它跑过山坡、跳过小河，终于在老橡树下找到了妈妈。"


@pytest.fixture
def double() -> Iterator[QwenDouble]:
    with serve_qwen(KEY) as served:
        yield served


@pytest.fixture(autouse=True)
async def sdk_session() -> AsyncIterator[None]:
    """The SDK keeps one aiohttp session per event loop; close this test's before its loop ends."""
    yield
    await close_shared_aio_session()


def planner(api_base: str, key: str | None = KEY, **overrides) -> QwenPlanner:
    cfg = {"MODEL": "qwen-plus", "SEED": 11, "TIMEOUT_S": 5, "RETRIES": 2, "BACKOFF_BASE_S": 0.01,
           "BACKOFF_MAX_S": 0.05, "REPLY_RETRIES": 2}
    account = DashScopeSettings(API_KEY=key, BASE_HTTP_URL=api_base, READY_TIMEOUT_S=2)
    return QwenPlanner(QwenSettings(**{**cfg, **overrides}), account)


async def test_plan_through_the_sdk_returns_a_valid_storyboard(double) -> None:
    board = await planner(double.api_base).plan(script=SCRIPT, style="水彩绘本", title="找妈妈")
    assert board.title == "找妈妈" and len(board.shots) == 6
    assert [c.name for c in board.characters] == ["阿橘", "狐狸妈妈"]
    assert all(s.camera in CAMERA_TERMS and s.prompts.keys() == {"en", "zh"} for s in board.shots)
    assert all(FOX_LOOK in s.image_detail for s in board.shots if "阿橘" in s.characters)


async def test_request_uses_json_mode_bearer_auth_and_the_configured_model(double) -> None:
    await planner(double.api_base, TEMPERATURE=0.2).plan(script=SCRIPT, style="水彩", title="")
    request = double.script.requests[0]
    assert request["headers"]["authorization"] == f"Bearer {KEY}"
    body = request["body"]
    assert body["model"] == "qwen-plus"
    params = body["parameters"]
    assert params["result_format"] == "message" and params["response_format"] == {"type": "json_object"}
    assert params["enable_thinking"] is False and params["temperature"] == 0.2 and params["seed"] == 11
    system = body["input"]["messages"][0]
    assert system["role"] == "system" and "json" in system["content"] and "character bible" in system["content"]


async def test_throttling_429_is_retried_then_succeeds(double) -> None:
    double.script.push(throttled())
    board = await planner(double.api_base).plan(script=SCRIPT, style="", title="")
    assert len(board.shots) == 6 and len(double.generations()) == 2


async def test_data_inspection_failed_is_terminal_with_the_vendors_message_and_not_retried(double) -> None:
    double.script.push(moderated())
    with pytest.raises(TerminalBackendError) as caught:
        await planner(double.api_base).plan(script=SCRIPT, style="", title="")
    assert caught.value.code == "DataInspectionFailed"
    assert caught.value.message.startswith("Input data may contain inappropriate content.")
    assert len(double.generations()) == 1


async def test_invalid_api_key_is_terminal_and_not_retried(double) -> None:
    with pytest.raises(TerminalBackendError) as caught:
        await planner(double.api_base, key="sk-wrong").plan(script=SCRIPT, style="", title="")
    assert caught.value.code == "InvalidApiKey" and "sk-wrong" not in str(caught.value)
    assert len(double.generations()) == 1


async def test_missing_api_key_fails_before_any_request(double) -> None:
    with pytest.raises(TerminalBackendError) as caught:
        await planner(double.api_base, key=None).plan(script=SCRIPT, style="", title="")
    assert caught.value.code == "missing_api_key" and double.generations() == []


async def test_malformed_json_is_retried_with_the_parse_error_fed_back(double) -> None:
    double.script.push(Reply('```json\n{"shots": [{"subject": "阿橘",'))
    board = await planner(double.api_base).plan(script=SCRIPT, style="", title="")
    assert len(board.shots) == 6
    retry = double.generations()[1]["input"]["messages"]
    assert retry[2]["role"] == "assistant" and "not valid JSON" in retry[3]["content"]


async def test_hanging_endpoint_hits_the_timeout(double) -> None:
    double.script.push(Hang(30))
    started = time.monotonic()
    with pytest.raises(TransientBackendError) as caught:
        await planner(double.api_base, TIMEOUT_S=0.3, RETRIES=0).plan(script=SCRIPT, style="", title="")
    assert caught.value.code == "timeout" and time.monotonic() - started < 3


async def test_ready_with_an_accepted_key_and_not_with_a_wrong_or_missing_one(double) -> None:
    assert (await planner(double.api_base).ready()).ready
    wrong = await planner(double.api_base, key="sk-wrong").ready()
    assert not wrong.ready and "InvalidApiKey" in wrong.detail
    assert not (await planner(double.api_base, key=None).ready()).ready
    assert all(r["path"] != GENERATION for r in double.script.requests)  # readiness costs no tokens


async def test_regenerate_keeps_the_users_detail_and_takes_the_picture_from_qwen(double) -> None:
    shot = PlannedShot(subject="阿橘", detail="旧", image_detail="旧画面", camera="推镜头", narration="n", tone="calm",
                       characters=["阿橘"])
    detail = "阿橘爬上老橡树，朝远方挥手。"
    revised = await planner(double.api_base).revise_shot(
        shot=shot, edit=ShotEdit(detail=detail), characters=[Character(name="阿橘", look=FOX_LOOK)], style="水彩")
    assert revised.detail == detail and "挥手" in revised.image_detail and revised.image_detail != "旧画面"
    assert revised.prompts["zh"].startswith("小狐狸爬上老橡树")
    assert "json" in double.generations()[0]["input"]["messages"][0]["content"]


def test_factory_reads_the_shared_account_and_the_llm_settings(monkeypatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-env")
    monkeypatch.setenv("DASHSCOPE_BASE_HTTP_URL", "https://dashscope-intl.aliyuncs.com/api/v1")
    monkeypatch.setenv("DASHSCOPE_LLM_MODEL", "qwen-flash")
    made = build("storyboard", "dashscope", Settings())
    assert isinstance(made, QwenPlanner) and made.settings.MODEL == "qwen-flash"
    assert made.account.api_key() == "sk-from-env"
    assert made.account.settings.BASE_HTTP_URL == "https://dashscope-intl.aliyuncs.com/api/v1"
    assert "sk-from-env" not in repr(made.account.settings)


async def test_double_enforces_json_mode_and_request_shape_like_dashscope(double) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    body = {"model": "qwen-plus", "input": {"messages": [{"role": "user", "content": "写一个故事"}]},
            "parameters": {"result_format": "message", "response_format": {"type": "json_object"}}}
    async with httpx.AsyncClient(base_url=double.api_base) as client:
        no_json = await client.post("/services/aigc/text-generation/generation", json=body, headers=auth)
        assert no_json.status_code == 400 and no_json.json()["code"] == "InvalidParameter"
        assert "must contain the word 'json'" in no_json.json()["message"]
        no_model = await client.post("/services/aigc/text-generation/generation", json={**body, "model": ""},
                                     headers=auth)
        assert no_model.json()["code"] == "BadRequest.EmptyModel"
        anonymous = await client.post("/services/aigc/text-generation/generation", json=body)
        assert anonymous.status_code == 401 and anonymous.json()["code"] == "InvalidApiKey"
