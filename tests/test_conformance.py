"""The API against its own OpenAPI document (schemathesis, bounded): no 5xx, no undocumented status,
405 answers carry Allow, chunked bodies over the limit are 413."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

CHECKS = "not_a_server_error,status_code_conformance,unsupported_method,allow_header_conformance"


def test_schemathesis_finds_no_server_error_and_no_undocumented_status(start_service, tmp_path: Path) -> None:
    service = start_service({"VIDEO_WIDTH": "320", "VIDEO_HEIGHT": "180", "MIN_FREE_DISK_MB": "0"})
    st = Path(sys.executable).with_name("st")
    run = subprocess.run([str(st), "run", f"{service.base_url}/openapi.json", "-c", CHECKS, "-n", "25",
                          "--generation-deterministic", "--no-color"], capture_output=True, text=True, timeout=600,
                         cwd=tmp_path)  # its cache of found failures stays out of the repo
    assert run.returncode == 0, run.stdout[-4000:]
    assert "unhandled error" not in service.log() and "Traceback" not in service.log(), service.log()[-3000:]


def test_405_names_the_allowed_methods_and_the_openapi_declares_bearer_auth(start_service) -> None:
    with start_service().client() as client:
        answer = client.get("/api/v1/video/render")
        assert answer.status_code == 405 and answer.headers["allow"] == "POST"
        assert answer.json()["code"] == "method_not_allowed"
        schema = client.get("/openapi.json").json()
        assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
        responses = schema["paths"]["/api/v1/video/render"]["post"]["responses"]
        assert {"202", "401", "404", "409", "413", "422", "429", "503", "507"} <= set(responses)


def test_a_chunked_body_over_the_limit_is_413(start_service) -> None:
    service = start_service({"MAX_BODY_BYTES": "1000"})

    def chunks():  # no Content-Length: the limit is enforced while the body streams in
        for _ in range(10):
            yield b" " * 500

    answer = httpx.post(f"{service.base_url}/api/v1/video/render", content=chunks(),
                        headers={"content-type": "application/json"})
    assert answer.status_code == 413 and answer.json()["code"] == "payload_too_large"
