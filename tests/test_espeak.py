"""The embedded speech backend: espeak-ng writes real WAVs whose length follows the text."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from app.core.errors import SpeechError
from app.core.settings import Settings
from app.services.narration.base import SpeechRequest
from app.services.narration.espeak import (
    EspeakSpeaker,
    create,
    espeak_args,
    has_cjk,
    voice_for,
    wav_duration,
    words_per_minute,
)

ZH = "清晨的竹林里，小熊猫蹲在溪边，好奇地望着水中游动的小鱼。"
EN = "In the bamboo forest at dawn, a little red panda watches the fish swim by."


def test_voice_follows_language_or_chinese_text():
    assert voice_for("你好", "en") == "cmn"
    assert voice_for("hello", "zh") == "cmn"
    assert voice_for("hello", "zh-CN") == "cmn"
    assert voice_for("hello", "en") == "en-us"
    assert voice_for("hello", "en", zh_voice="zh", en_voice="en-gb") == "en-gb"
    assert voice_for("故事", "", zh_voice="zh") == "zh"
    assert has_cjk("abc 中") and not has_cjk("abc, déjà vu")


def test_speed_maps_to_clamped_words_per_minute():
    assert words_per_minute(165, 1.0) == 165
    assert words_per_minute(165, 1.5) == 248
    assert words_per_minute(165, 0.1) == 80
    assert words_per_minute(165, 10) == 450
    with pytest.raises(ValueError):
        words_per_minute(165, 0)


def test_text_never_reaches_argv(tmp_path: Path):
    argv = espeak_args("cmn", 165, tmp_path / "a.wav")
    assert argv[0] == "espeak-ng" and argv[-1] == "--stdin"
    assert argv[argv.index("-v") + 1] == "cmn" and argv[argv.index("-s") + 1] == "165"
    assert argv[argv.index("-w") + 1] == str(tmp_path / "a.wav")


async def test_chinese_text_gives_a_wav(tmp_path: Path):
    out = tmp_path / "zh" / "n.wav"
    duration = await EspeakSpeaker().synthesize(SpeechRequest(text=ZH, language="zh"), out)
    assert duration > 1.0
    assert duration == pytest.approx(wav_duration(out))
    with wave.open(str(out)) as wav:
        assert wav.getnchannels() == 1 and wav.getframerate() == 22050 and wav.getsampwidth() == 2
    assert not [p for p in out.parent.iterdir() if p.name != "n.wav"], "temporary file left behind"


async def test_english_text_gives_a_wav(tmp_path: Path):
    duration = await EspeakSpeaker().synthesize(SpeechRequest(text=EN, language="en"), tmp_path / "en.wav")
    assert duration > 1.0


async def test_longer_text_and_slower_speed_give_longer_audio(tmp_path: Path):
    speaker = create(Settings())
    short = await speaker.synthesize(SpeechRequest(text=ZH), tmp_path / "a.wav")
    long = await speaker.synthesize(SpeechRequest(text=ZH * 3), tmp_path / "b.wav")
    fast = await speaker.synthesize(SpeechRequest(text=ZH, speed=2.0), tmp_path / "c.wav")
    assert long > 2 * short
    assert fast < 0.75 * short


async def test_text_that_looks_like_options_is_spoken(tmp_path: Path):
    out = tmp_path / "dash.wav"
    duration = await EspeakSpeaker().synthesize(SpeechRequest(text="-v xx --help 你好，世界", language="zh"), out)
    assert duration > 0.5 and out.exists()


@pytest.mark.parametrize("text", ["", "   \n\t"])
async def test_empty_text_is_rejected(tmp_path: Path, text: str):
    with pytest.raises(ValueError):
        await EspeakSpeaker().synthesize(SpeechRequest(text=text), tmp_path / "x.wav")


async def test_missing_binary_is_a_clear_error(tmp_path: Path):
    speaker = EspeakSpeaker(binary="espeak-ng-definitely-missing")
    with pytest.raises(SpeechError, match="not installed"):
        await speaker.synthesize(SpeechRequest(text="hello", language="en"), tmp_path / "x.wav")


async def test_espeak_failure_is_a_tts_error(tmp_path: Path):
    speaker = EspeakSpeaker(en_voice="nosuchvoice")
    with pytest.raises(SpeechError, match="failed"):
        await speaker.synthesize(SpeechRequest(text="hello", language="en"), tmp_path / "x.wav")
    assert list(tmp_path.iterdir()) == []


def test_voices_and_rate_come_from_settings():
    speaker = create(Settings(TTS_VOICE_ZH="zh", TTS_VOICE_EN="en-gb", TTS_WORDS_PER_MINUTE=140))
    assert (speaker.zh_voice, speaker.en_voice, speaker.wpm) == ("zh", "en-gb", 140)
    assert (EspeakSpeaker().zh_voice, EspeakSpeaker().en_voice, EspeakSpeaker().wpm) == ("cmn", "en-us", 165)


async def test_a_wav_deep_in_a_long_path_is_written_where_asked(tmp_path: Path):
    """espeak-ng cuts its -w path at 200 bytes; stories with UUID ids in deep folders go past that."""
    deep = tmp_path / ("d" * 100) / "stories" / "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9" / "assets" / "shot_01"
    out = deep / ".tmp-1234abcd-narration_fea33d63bc5530f5.wav"
    assert len(str(out)) > 220
    duration = await EspeakSpeaker().synthesize(SpeechRequest(text="小狗找妈妈。", language="zh"), out)
    assert duration > 0.3 and out.is_file() and [p.name for p in deep.iterdir()] == [out.name]
