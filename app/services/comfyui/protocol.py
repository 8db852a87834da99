"""ComfyUI's wire shapes, read purely: POST /prompt rejections, WebSocket events, /history entries.

See providers.md §1: a 400 from /prompt carries `{error, node_errors}`; WebSocket text frames are
`{"type", "data"}` (binary frames are previews); `/history/{id}` is `{}` until the prompt ends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from app.core.errors import BackendError, TerminalBackendError
from app.services.backend import http_status_error

BACKEND = "comfyui"
MESSAGE_LIMIT = 600


@dataclass(frozen=True)
class FileRef:
    """An output file as /history lists it; fetched with GET /view."""

    filename: str
    subfolder: str = ""
    type: str = "output"

    def view_params(self) -> dict[str, str]:
        return {"filename": self.filename, "subfolder": self.subfolder, "type": self.type}


@dataclass(frozen=True)
class WsEvent:
    """What one WebSocket message means for our prompt: finished, or progress in 0…1 (`step` of `total`)."""

    done: bool = False
    progress: float | None = None
    node: str | None = None
    step: int | None = None
    total: int | None = None


def ws_url(base_url: str, client_id: str) -> str:
    """ws(s)://host/ws?clientId=… for an http(s) base URL."""
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    path = parts.path.rstrip("/") + "/ws"
    return urlunsplit((scheme, parts.netloc, path, urlencode({"clientId": client_id}), ""))


def prompt_rejection(status: int, body: str) -> BackendError:
    """The error for a non-200 answer to POST /prompt: a 400 is terminal with the node's own words."""
    if status != 400:
        return http_status_error(BACKEND, status, _clip(body) or f"HTTP {status}")
    try:
        data = json.loads(body)
    except ValueError:
        return TerminalBackendError(BACKEND, "invalid_prompt", _clip(body) or "the prompt was rejected")
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, str):  # very old servers
        error = {"type": "invalid_prompt", "message": error}
    error = error if isinstance(error, dict) else {}
    nodes = data.get("node_errors") if isinstance(data, dict) else None
    code = str(error.get("type") or "invalid_prompt")
    parts = [node_error_text(node_id, info) for node_id, info in (nodes or {}).items() if isinstance(info, dict)]
    if not parts:
        parts = [" ".join(str(error.get(k)) for k in ("message", "details") if error.get(k)) or "rejected"]
    return TerminalBackendError(BACKEND, code, _clip("; ".join(parts)))


def node_error_text(node_id: str, info: dict[str, Any]) -> str:
    """'node 4 (CheckpointLoaderSimple): Value not in list: ckpt_name: …' for one node_errors entry."""
    errors = [e for e in info.get("errors", []) if isinstance(e, dict)]
    said = ", ".join(": ".join(str(e[k]) for k in ("message", "details") if e.get(k)) for e in errors)
    return f"node {node_id} ({info.get('class_type', '?')}): {said or 'invalid'}"


def execution_failure(data: dict[str, Any]) -> TerminalBackendError:
    """The terminal error for an `execution_error` payload: the failing node and its exception."""
    exc_type = data.get("exception_type") or ""
    message = data.get("exception_message") or "execution failed"
    said = f"{exc_type}: {message}" if exc_type else str(message)
    text = f"node {data.get('node_id', '?')} ({data.get('node_type', '?')}): {str(said).strip()}"
    return TerminalBackendError(BACKEND, "execution_error", _clip(text))


def interrupted(data: dict[str, Any]) -> TerminalBackendError:
    node = f" at node {data['node_id']} ({data.get('node_type', '?')})" if data.get("node_id") else ""
    return TerminalBackendError(BACKEND, "execution_interrupted", f"the prompt was interrupted{node}")


def read_ws_event(message: dict[str, Any], prompt_id: str) -> WsEvent | None:
    """Interpret one WebSocket text message for `prompt_id`; None when it is not about our prompt.

    Raises:
        TerminalBackendError: on `execution_error` or `execution_interrupted` for our prompt.
    """
    kind, data = message.get("type"), message.get("data")
    if not isinstance(data, dict) or data.get("prompt_id") != prompt_id:
        return None
    if kind == "execution_error":
        raise execution_failure(data)
    if kind == "execution_interrupted":
        raise interrupted(data)
    if kind == "execution_success" or (kind == "executing" and data.get("node") is None):
        return WsEvent(done=True)
    if kind == "progress" and data.get("max"):
        step, total = int(data.get("value", 0)), int(data["max"])
        return WsEvent(progress=min(max(step / total, 0.0), 1.0), node=data.get("node"), step=min(max(step, 0), total),
                       total=total)
    if kind == "executing":
        return WsEvent(node=data.get("node"))
    return None


def history_entry(body: Any, prompt_id: str) -> dict[str, Any] | None:
    """The prompt's entry in a GET /history/{id} answer; None while it is queued or running."""
    entry = body.get(prompt_id) if isinstance(body, dict) else None
    return entry if isinstance(entry, dict) else None


def history_failure(entry: dict[str, Any]) -> BackendError | None:
    """Why a finished prompt failed (its execution_error, as over the WebSocket); None if it succeeded."""
    status = entry.get("status") or {}
    if status.get("status_str", "success") != "error":
        return None
    for message in status.get("messages") or []:
        if isinstance(message, list) and len(message) == 2 and isinstance(message[1], dict):
            if message[0] == "execution_error":
                return execution_failure(message[1])
            if message[0] == "execution_interrupted":
                return interrupted(message[1])
    return TerminalBackendError(BACKEND, "execution_error", "the prompt ended with an error")


def output_files(entry: dict[str, Any], node_id: str) -> list[FileRef]:
    """The files a node wrote, whatever the key (`images`, `gifs`, `video`, …) it lists them under."""
    outputs = (entry.get("outputs") or {}).get(node_id) or {}
    files = []
    for items in outputs.values():
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("filename"):
                files.append(FileRef(str(item["filename"]), str(item.get("subfolder") or ""),
                                     str(item.get("type") or "output")))
    return files


def _clip(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"
