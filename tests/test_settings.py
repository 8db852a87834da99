"""Settings: defaults pick the embedded backends (tests/test_env_example.py checks .env.example)."""

from __future__ import annotations

from app.core.settings import Settings


def test_no_configuration_means_embedded_everywhere(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    stages = ("storyboard", "keyframe", "clip", "narration", "publish")
    assert {settings.stages.provider_for(s) for s in stages} == {"embedded"}
    assert settings.server.bind_host == "127.0.0.1"


def test_local_inference_and_overrides(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOCAL_INFERENCE", "true")
    monkeypatch.setenv("TTS_PROVIDER", "embedded")
    settings = Settings()
    assert settings.stages.provider_for("storyboard") == "ollama"
    assert settings.stages.provider_for("narration") == "embedded"
    monkeypatch.setenv("LOCAL_INFERENCE", "false")
    assert Settings().stages.provider_for("clip") == "pixverse"


def test_api_key_opens_the_bind_address(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("API_KEY", "k")
    settings = Settings()
    assert settings.server.bind_host == "0.0.0.0"
    assert "k" not in repr(settings.server.API_KEY)


def test_stage_settings_take_their_new_names_and_the_old_ones(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLIP_PROVIDER", "pixverse")
    monkeypatch.setenv("IMAGE_FALLBACK", "comfyui,embedded")
    stages = Settings().stages
    assert stages.provider_for("clip") == "pixverse"
    assert stages.chain_for("keyframe") == ["embedded", "comfyui"]


def test_flat_names_reach_the_section_that_declares_them(tmp_path):
    settings = Settings(DATA_DIR=tmp_path, VIDEO_FPS=30, OLLAMA_MODEL="m", HOSTS="http://gpu:8188")
    assert settings.state.DATA_DIR == tmp_path
    assert settings.compose.fps == 30
    assert settings.ollama.MODEL == "m"
    assert settings.comfyui.host_urls == ("http://gpu:8188",)


def test_every_backend_factory_takes_its_settings_from_the_tree(monkeypatch, tmp_path):
    """A factory never reads the environment itself: what the tree holds is what the backend gets."""
    from app.services.registry import BACKENDS, build

    monkeypatch.chdir(tmp_path)
    settings = Settings(OLLAMA_MODEL="from-the-tree", PIXVERSE_MODEL="v-tree", COSYVOICE_SPEAKER="tree-voice",
                        ENHANCE_URL="http://tree:6010")
    monkeypatch.setenv("OLLAMA_MODEL", "from-the-env")
    monkeypatch.setenv("PIXVERSE_MODEL", "v-env")
    monkeypatch.setenv("COSYVOICE_SPEAKER", "env-voice")
    monkeypatch.setenv("ENHANCE_URL", "http://env:6010")
    assert build("storyboard", "ollama", settings).settings.MODEL == "from-the-tree"
    assert build("clip", "pixverse", settings).cfg.MODEL == "v-tree"
    assert build("narration", "cosyvoice", settings).cfg.SPEAKER == "tree-voice"
    assert build("enhance", "http", settings).base_url == "http://tree:6010"
    assert set(BACKENDS) == {"storyboard", "keyframe", "clip", "narration", "enhance", "publish"}
