"""OSS object store (oss2, V4 signatures; V1 by choice) against the OSS double: uploads, resumable multipart, URLs,
errors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.core.errors import TerminalBackendError, TransientBackendError
from app.core.settings.vendors import OssSettings
from app.services.publish.oss import OssObjectStore, check_key, public_url
from tests.doubles.oss import OssDouble, serve_oss

KEY = "users/u1/stories/s1/shots/shot_01/keyframe.png"


@pytest.fixture
def oss() -> Iterator[OssDouble]:
    with serve_oss() as double:
        yield double


def make_store(double: OssDouble, tmp_path: Path, **overrides) -> OssObjectStore:
    cfg = {"ENDPOINT": double.base_url, "BUCKET": double.bucket, "ACCESS_KEY_ID": double.key_id,
           "ACCESS_KEY_SECRET": double.secret, "REGION": double.region, "MULTIPART_THRESHOLD_BYTES": 200 * 1024,
           "PART_SIZE_BYTES": 100 * 1024, "UPLOAD_THREADS": 1, "CONNECT_TIMEOUT_S": 5, "TIMEOUT_S": 30,
           "RETRIES": 2, "BACKOFF_BASE_S": 0.01, "BACKOFF_MAX_S": 0.05}
    return OssObjectStore(OssSettings(**{**cfg, **overrides}), tmp_path / "checkpoints")


def write(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


async def test_oss_puts_a_small_file_with_its_content_type(oss, tmp_path: Path) -> None:
    data = write(tmp_path / "k.png", 5000)
    store = make_store(oss, tmp_path)
    await store.put_file(KEY, tmp_path / "k.png", "image/png")
    assert oss.objects[KEY]["data"] == data and oss.objects[KEY]["content_type"] == "image/png"
    assert oss.calls == ["put"] and oss.signatures == ["v4"]
    head = store.bucket().head_object(KEY)  # HEAD and GET through oss2 itself, signed and CRC-checked
    assert (head.content_type, head.content_length) == ("image/png", 5000)
    assert store.bucket().get_object(KEY).read() == data
    assert not store.bucket().object_exists("users/u1/missing.png")


async def test_oss_uploads_a_big_file_as_a_resumable_multipart_upload(oss, tmp_path: Path) -> None:
    data = write(tmp_path / "movie.mp4", 350 * 1024)
    key = "users/u1/stories/s1/movie/final.mp4"
    await make_store(oss, tmp_path).put_file(key, tmp_path / "movie.mp4", "video/mp4")
    assert oss.objects[key]["data"] == data and oss.objects[key]["content_type"] == "video/mp4"
    assert [c for c in oss.calls if c != "list_parts"] == ["init", "part", "part", "part", "part", "complete"]
    assert not oss.uploads
    assert not any((tmp_path / "checkpoints" / "uploads").iterdir())  # the checkpoint is removed when done


async def test_oss_resumes_a_multipart_upload_without_resending_finished_parts(oss, tmp_path: Path) -> None:
    data = write(tmp_path / "movie.mp4", 350 * 1024)
    oss.http_errors["part"].append(503)  # attempt 1 fails on part 1; attempt 2 resumes the same upload
    oss.http_errors["complete"].append(500)  # attempt 2 fails on complete; attempt 3 only completes
    await make_store(oss, tmp_path).put_file("m/final.mp4", tmp_path / "movie.mp4", "video/mp4")
    assert oss.objects["m/final.mp4"]["data"] == data
    assert sorted(oss.part_calls) == [1, 2, 3, 4]  # each part stored once, none re-sent after the resume
    assert oss.count("init") == 1 and oss.count("list_parts") >= 1 and oss.count("complete") == 2


async def test_oss_presigned_url_is_fetchable_and_verified_by_the_double(oss, tmp_path: Path) -> None:
    data = write(tmp_path / "k.png", 3000)
    store = make_store(oss, tmp_path)
    await store.put_file(KEY, tmp_path / "k.png", "image/png")
    url = store.url(KEY)
    query = parse_qs(urlsplit(url).query)
    assert set(query) == {"x-oss-signature-version", "x-oss-credential", "x-oss-date", "x-oss-expires",
                          "x-oss-signature"}
    assert query["x-oss-signature-version"] == ["OSS4-HMAC-SHA256"] and query["x-oss-expires"] == ["3600"]
    assert query["x-oss-credential"][0].split("/")[2:] == [oss.region, "oss", "aliyun_v4_request"]
    response = httpx.get(url)
    assert response.status_code == 200 and response.content == data
    assert response.headers["content-type"] == "image/png"


async def test_oss_presigned_url_is_refused_when_tampered_or_expired(oss, tmp_path: Path) -> None:
    write(tmp_path / "k.png", 3000)
    store = make_store(oss, tmp_path)
    await store.put_file(KEY, tmp_path / "k.png", "image/png")
    tampered = store.url(KEY).replace("keyframe.png", "other.png")
    response = httpx.get(tampered)
    assert response.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in response.text
    url = make_store(oss, tmp_path, URL_EXPIRES_S=10).url(KEY)
    oss.clock_offset_s = 11  # the URL's 10 s are over by the server's clock
    response = httpx.get(url)
    assert response.status_code == 403 and "Request has expired." in response.text


async def test_oss_v4_is_the_default_and_works_on_a_new_bucket_that_refuses_v1(tmp_path: Path) -> None:
    data = write(tmp_path / "k.png", 4000)
    with serve_oss(accept_v1=False, region="ap-southeast-1") as new_bucket:
        store = make_store(new_bucket, tmp_path)
        await store.put_file(KEY, tmp_path / "k.png", "image/png")
        await store.put_file("m/big.mp4", tmp_path / "k.png", "video/mp4")
        assert (await store.ready()).ready
        assert httpx.get(store.url(KEY)).content == data
        assert new_bucket.signatures and set(new_bucket.signatures) == {"v4"}
        with pytest.raises(TerminalBackendError) as info:  # V1, as the store used to sign
            await make_store(new_bucket, tmp_path, SIGNATURE_VERSION="v1").put_file(KEY, tmp_path / "k.png", "x/y")
        assert info.value.code == "AccessDenied" and "signature version 1" in info.value.message


async def test_oss_v1_only_by_explicit_choice_on_a_bucket_that_still_takes_it(oss, tmp_path: Path) -> None:
    data = write(tmp_path / "k.png", 3000)
    store = make_store(oss, tmp_path, SIGNATURE_VERSION="v1", REGION="")
    await store.put_file(KEY, tmp_path / "k.png", "image/png")
    url = store.url(KEY)
    assert set(parse_qs(urlsplit(url).query)) == {"OSSAccessKeyId", "Expires", "Signature"}
    assert httpx.get(url).content == data and oss.signatures == ["v1", "v1"]


async def test_oss_v4_signs_the_region_and_a_wrong_one_is_refused(oss, tmp_path: Path) -> None:
    write(tmp_path / "k.png", 100)
    with pytest.raises(TerminalBackendError) as info:
        await make_store(oss, tmp_path, REGION="cn-beijing").put_file(KEY, tmp_path / "k.png", "image/png")
    assert info.value.code == "AccessDenied" and "region" in info.value.message


def test_oss_v4_settings_region_and_url_lifetime() -> None:
    base = {"BUCKET": "b", "ACCESS_KEY_ID": "id", "ACCESS_KEY_SECRET": "s"}
    assert OssSettings(**base, ENDPOINT="https://oss-cn-hangzhou.aliyuncs.com").region() == "cn-hangzhou"
    assert OssSettings(**base, ENDPOINT="oss-ap-southeast-1-internal.aliyuncs.com").region() == "ap-southeast-1"
    assert OssSettings(**base, ENDPOINT="https://oss-cn-hangzhou.aliyuncs.com", REGION="cn-shanghai").region() == \
        "cn-shanghai"
    custom = OssSettings(**base, ENDPOINT="https://media.example.com", IS_CNAME=True)
    assert custom.missing() == ["OSS_REGION"]
    assert OssSettings(**base, ENDPOINT="https://media.example.com", SIGNATURE_VERSION="v1").missing() == []
    assert OssSettings(**base, ENDPOINT="https://oss-accelerate.aliyuncs.com").missing() == ["OSS_REGION"]
    with pytest.raises(ValueError, match="7 days"):
        OssSettings(**base, ENDPOINT="https://oss-cn-hangzhou.aliyuncs.com", URL_EXPIRES_S=8 * 24 * 3600)
    assert OssSettings(**base, SIGNATURE_VERSION="v1", URL_EXPIRES_S=8 * 24 * 3600).URL_EXPIRES_S > 604800


async def test_oss_unsigned_request_is_refused(oss) -> None:
    response = httpx.get(f"{oss.base_url}/{oss.bucket}/{KEY}")
    assert response.status_code == 403 and "<Code>AccessDenied</Code>" in response.text


def test_oss_public_base_url_mode_builds_urls_without_signing(oss, tmp_path: Path) -> None:
    store = make_store(oss, tmp_path, PUBLIC_BASE_URL="https://cdn.example.com/media/")
    assert store.url("users/u1/stories/s1/a b.mp4") == "https://cdn.example.com/media/users/u1/stories/s1/a%20b.mp4"
    assert public_url("https://cdn.example.com", "x/y.png") == "https://cdn.example.com/x/y.png"


async def test_oss_wrong_secret_is_a_terminal_signature_error_and_not_retried(oss, tmp_path: Path) -> None:
    write(tmp_path / "k.png", 1000)
    with pytest.raises(TerminalBackendError) as info:
        await make_store(oss, tmp_path, ACCESS_KEY_SECRET="wrong").put_file(KEY, tmp_path / "k.png", "image/png")
    assert info.value.code == "SignatureDoesNotMatch"
    assert "signature we calculated does not match" in info.value.message
    assert "wrong" not in info.value.message and oss.secret not in str(info.value)
    assert oss.requests == 1 and not oss.objects


async def test_oss_retries_a_503_and_then_succeeds(oss, tmp_path: Path) -> None:
    write(tmp_path / "k.png", 1000)
    oss.http_errors["put"].extend([503, 500])
    await make_store(oss, tmp_path).put_file(KEY, tmp_path / "k.png", "image/png")
    assert oss.count("put") == 3 and KEY in oss.objects


async def test_oss_hanging_upload_times_out_after_its_retries(oss, tmp_path: Path) -> None:
    write(tmp_path / "k.png", 1000)
    oss.hang.add("put")
    with pytest.raises(TransientBackendError) as info:
        await make_store(oss, tmp_path, CONNECT_TIMEOUT_S=0.3, RETRIES=1).put_file(KEY, tmp_path / "k.png", "x/y")
    assert info.value.code == "timeout"
    assert oss.count("put") == 2


async def test_oss_rejects_unsafe_keys_without_calling_oss(oss, tmp_path: Path) -> None:
    write(tmp_path / "k.png", 10)
    for key in ("", "/abs/key.png", "users/../etc/passwd"):
        with pytest.raises(TerminalBackendError):
            await make_store(oss, tmp_path).put_file(key, tmp_path / "k.png", "image/png")
    assert oss.requests == 0
    assert check_key("users/u/stories/s/a.png") == "users/u/stories/s/a.png"


async def test_oss_readiness_needs_credentials_that_the_bucket_accepts(oss, tmp_path: Path) -> None:
    ready = await make_store(oss, tmp_path).ready()
    assert ready.ready and oss.bucket in ready.detail
    wrong = await make_store(oss, tmp_path, ACCESS_KEY_SECRET="wrong").ready()
    assert not wrong.ready and wrong.detail.startswith("SignatureDoesNotMatch")
    unset = await make_store(oss, tmp_path, ACCESS_KEY_ID=None, ACCESS_KEY_SECRET=None).ready()
    assert not unset.ready and "OSS_ACCESS_KEY_ID" in unset.detail and "OSS_ACCESS_KEY_SECRET" in unset.detail
