"""The shared media helpers: download-at-once with limits (media_fetch) and fit-clip-to-shot (video.fit)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import Response, StreamingResponse

from app.core.errors import TerminalBackendError, TransientBackendError
from app.services.clip.fit import fit_args, fit_clip
from app.services.media_fetch import check_media_url, download
from tests.doubles.clips import make_clip
from tests.doubles.serving import serve_in_thread
from tests.media import probe, stream


def _media_app() -> FastAPI:
    app = FastAPI()

    @app.get("/ok.bin")
    def ok() -> Response:
        return Response(b"x" * 1000, media_type="application/octet-stream")

    @app.get("/chunked.bin")
    def chunked() -> StreamingResponse:
        return StreamingResponse(iter([b"y" * 600, b"y" * 600]), media_type="application/octet-stream")

    @app.get("/empty.bin")
    def empty() -> Response:
        return Response(b"")

    @app.get("/hop/{n}")
    def hop(n: int) -> Response:
        target = "/ok.bin" if n == 0 else f"/hop/{n - 1}"
        return Response(status_code=302, headers={"Location": target})

    @app.get("/to-metadata")
    def to_metadata() -> Response:
        return Response(status_code=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})

    @app.get("/to-file")
    def to_file() -> Response:
        return Response(status_code=302, headers={"Location": "file:///etc/passwd"})

    @app.get("/busy.bin")
    def busy() -> Response:
        return Response(b"busy", status_code=503)

    return app


@pytest.fixture(scope="module")
def media_url() -> Iterator[str]:
    with serve_in_thread(_media_app()) as base:
        yield base


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a.mp4", "https:///nohost", "//x/y", ""])
def test_check_media_url_rejects_non_http_urls(url: str) -> None:
    with pytest.raises(ValueError):
        check_media_url(url)


def test_check_media_url_accepts_http_and_https() -> None:
    assert check_media_url(" https://cdn.example.com/a.mp4?sig=1 ") == "https://cdn.example.com/a.mp4?sig=1"
    assert check_media_url("http://127.0.0.1:8000/x") == "http://127.0.0.1:8000/x"


async def test_download_writes_the_body_and_leaves_no_part_file(media_url: str, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "ok.bin"
    assert await download(f"{media_url}/ok.bin", out, backend="t", max_bytes=1000) == 1000
    assert out.read_bytes() == b"x" * 1000
    assert [p.name for p in out.parent.iterdir()] == ["ok.bin"]


async def test_download_refuses_a_declared_size_over_the_limit(media_url: str, tmp_path: Path) -> None:
    with pytest.raises(TerminalBackendError) as info:
        await download(f"{media_url}/ok.bin", tmp_path / "a", backend="t", max_bytes=999)
    assert info.value.code == "media_too_large"
    assert list(tmp_path.iterdir()) == []


async def test_download_stops_a_streamed_body_over_the_limit(media_url: str, tmp_path: Path) -> None:
    with pytest.raises(TerminalBackendError) as info:
        await download(f"{media_url}/chunked.bin", tmp_path / "a", backend="t", max_bytes=1000)
    assert info.value.code == "media_too_large"
    assert list(tmp_path.iterdir()) == []


async def test_download_of_an_empty_body_is_terminal(media_url: str, tmp_path: Path) -> None:
    with pytest.raises(TerminalBackendError) as info:
        await download(f"{media_url}/empty.bin", tmp_path / "a", backend="t")
    assert info.value.code == "empty_media"


async def test_download_maps_http_statuses_to_error_kinds(media_url: str, tmp_path: Path) -> None:
    with pytest.raises(TransientBackendError) as busy:
        await download(f"{media_url}/busy.bin", tmp_path / "a", backend="t")
    assert busy.value.code == "http_503"
    with pytest.raises(TerminalBackendError) as missing:
        await download(f"{media_url}/missing.bin", tmp_path / "a", backend="t")
    assert missing.value.code == "http_404"


async def test_download_refuses_file_urls_without_touching_disk(tmp_path: Path) -> None:
    with pytest.raises(TerminalBackendError) as info:
        await download("file:///etc/hostname", tmp_path / "a", backend="t")
    assert info.value.code == "bad_media_url"
    assert list(tmp_path.iterdir()) == []


async def test_download_transport_failure_is_transient(tmp_path: Path) -> None:
    from tests.server import free_port

    with pytest.raises(TransientBackendError) as info:
        await download(f"http://127.0.0.1:{free_port()}/x", tmp_path / "a", backend="t", timeout_s=2)
    assert info.value.code == "download_failed"


def test_fit_args_refuses_odd_sizes_and_empty_durations(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        fit_args(tmp_path / "a", tmp_path / "b", duration=2, width=641, height=360, fps=25)
    with pytest.raises(ValueError):
        fit_args(tmp_path / "a", tmp_path / "b", duration=0, width=640, height=360, fps=25)


def test_fit_args_drops_audio_and_sets_exact_frame_count(tmp_path: Path) -> None:
    args = fit_args(tmp_path / "a.mp4", tmp_path / "b.mp4", duration=2.5, width=640, height=360, fps=24)
    assert "-an" in args and args[args.index("-frames:v") + 1] == "60"
    assert "tpad=stop_mode=clone" in args[args.index("-vf") + 1]


async def test_fit_clip_trims_a_long_clip_and_drops_its_audio(tmp_path: Path) -> None:
    src = tmp_path / "src.mp4"
    make_clip(src, seconds=3, width=320, height=240, fps=30, audio_hz=16000)
    out = tmp_path / "out.mp4"
    await fit_clip(src, out, backend="t", duration=1.5, width=256, height=144, fps=25)
    info = probe(out)
    video = stream(info, "video")
    assert [s["codec_type"] for s in info["streams"]] == ["video"]
    assert (video["codec_name"], video["width"], video["height"], video["nb_frames"]) == ("h264", 256, 144, "38")
    assert video["r_frame_rate"] == "25/1"


async def test_fit_clip_holds_the_last_frame_of_a_short_clip(tmp_path: Path) -> None:
    src = tmp_path / "src.mp4"
    make_clip(src, seconds=1, width=320, height=240, fps=24)
    out = tmp_path / "out.mp4"
    await fit_clip(src, out, backend="t", duration=3.0, width=320, height=240, fps=24)
    video = stream(probe(out), "video")
    assert video["nb_frames"] == "72"
    assert abs(float(video["duration"]) - 3.0) < 0.05


async def test_fit_clip_of_undecodable_media_is_terminal(tmp_path: Path) -> None:
    src = tmp_path / "src.mp4"
    src.write_bytes(b"<html>not a video</html>")
    out = tmp_path / "out.mp4"
    with pytest.raises(TerminalBackendError) as info:
        await fit_clip(src, out, backend="t", duration=1.0, width=320, height=240, fps=24)
    assert info.value.code == "invalid_media"
    assert not out.exists()


async def test_redirects_are_followed_with_every_hop_checked(media_url: str, tmp_path: Path) -> None:
    assert await download(f"{media_url}/hop/3", tmp_path / "a.bin", backend="t") == 1000
    for bad in ("/to-metadata", "/to-file"):
        with pytest.raises(TerminalBackendError) as caught:
            await download(f"{media_url}{bad}", tmp_path / "b.bin", backend="t")
        assert caught.value.code == "bad_media_url"
    with pytest.raises(TerminalBackendError) as too_many:
        await download(f"{media_url}/hop/9", tmp_path / "c.bin", backend="t")
    assert too_many.value.code == "too_many_redirects"
    assert not (tmp_path / "b.bin").exists() and not (tmp_path / "c.bin").exists()
