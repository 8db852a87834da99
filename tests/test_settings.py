"""Settings: defaults pick the embedded backends (tests/test_env_example.py checks .env.example)."""

from __future__ import annotations

from app.core.settings import Settings


def test_no_configuration_means_embedded_everywhere(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert {settings.provider_for(s) for s in ("llm", "image", "video", "tts", "storage")} == {"embedded"}
    assert settings.bind_host == "127.0.0.1"


def test_local_inference_and_overrides(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOCAL_INFERENCE", "true")
    monkeypatch.setenv("TTS_PROVIDER", "embedded")
    settings = Settings()
    assert settings.provider_for("llm") == "ollama"
    assert settings.provider_for("tts") == "embedded"
    monkeypatch.setenv("LOCAL_INFERENCE", "false")
    assert Settings().provider_for("video") == "pixverse"


def test_api_key_opens_the_bind_address(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("API_KEY", "k")
    settings = Settings()
    assert settings.bind_host == "0.0.0.0"
    assert "k" not in repr(settings.API_KEY)
