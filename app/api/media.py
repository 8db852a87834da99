"""/media: published files of the local object store — never a temp name, and signed when API_KEY is set."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs

from fastapi.responses import JSONResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from app.services.publish.signing import MediaSigner


class PublishedMedia(StaticFiles):
    def __init__(self, directory: Path, signer: MediaSigner | None):
        super().__init__(directory=directory)
        self.signer = signer

    async def get_response(self, path: str, scope: Scope) -> Response:
        if any(part.startswith(".") for part in PurePosixPath(path).parts):
            return _error(404, "not_found", "Not Found")  # a temp being written is never served
        if self.signer is not None:
            query = parse_qs(scope.get("query_string", b"").decode())
            expires, signature = query.get("exp", [None])[0], query.get("sig", [None])[0]
            if not expires or not signature:
                return _error(401, "media_signature_required", "this media URL needs its exp and sig parameters")
            if not self.signer.valid(f"/media/{path}", expires, signature):
                return _error(403, "media_signature_invalid", "the media URL's signature is wrong or expired")
        return await super().get_response(path, scope)


def _error(status: int, code: str, message: str) -> Response:
    return JSONResponse({"code": code, "message": message}, status_code=status)
