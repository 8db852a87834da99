"""CLI commands that drive a running server over its public API: create, regenerate, render, status,
watch, outbox, link.

The server is `--server` (default: PUBLIC_BASE_URL, else http://HOST:PORT from the settings) and the
key `--api-key` (default: API_KEY). Every command takes `--json` for scripts: it then prints the API's
JSON and nothing else. Exit codes: 0 done, 1 the operation failed or was cancelled, 2 the request was
refused or the server could not be reached.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
from httpx_sse import SSEError, connect_sse
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.core.settings import Settings

TERMINAL = ("succeeded", "failed", "cancelled")
FINAL_EVENTS = tuple(f"operation.{status}" for status in TERMINAL)
console = Console()
err_console = Console(stderr=True)

ServerOpt = Annotated[str | None, typer.Option("--server", help="Base URL of the service [default: PUBLIC_BASE_URL "
                                               "or http://HOST:PORT from the settings]", show_default=False)]
ApiKeyOpt = Annotated[str | None, typer.Option("--api-key", help="Bearer key [default: API_KEY from the settings]",
                                               show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON only (for scripts)")]
FileOpt = Annotated[Path | None, typer.Option("--file", "-f", help="JSON file with request fields; options given "
                                              "on the command line override it", exists=True, dir_okay=False)]
WaitOpt = Annotated[bool, typer.Option("--wait/--no-wait", help="Watch the operation until it ends")]
OperationOpt = Annotated[str | None, typer.Option("--operation-id", help="[default: a new id]", show_default=False)]


@dataclass
class Api:
    """The service's API as the CLI uses it."""

    base_url: str
    api_key: str | None
    as_json: bool

    @classmethod
    def of(cls, server: str | None, api_key: str | None, as_json: bool) -> Api:
        if server is None or api_key is None:
            settings = Settings()
            server = server or settings.server.public_base_url
            secret = settings.server.API_KEY
            api_key = api_key or (secret.get_secret_value() if secret else None)
        return cls(server.rstrip("/"), api_key, as_json)

    def client(self, timeout: float | None = 30.0) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             params: dict[str, str] | None = None) -> dict[str, Any]:
        """The answer's JSON; a refusal or an unreachable server ends the command with exit code 2."""
        try:
            with self.client() as client:
                response = client.request(method, path, json=body, params=params)
        except httpx.TransportError as exc:
            fail(f"cannot reach {self.base_url}: {exc}")
        try:
            answer = response.json()
        except ValueError:
            answer = {"code": "http_error", "message": response.text[:300]}
        if not response.is_success:
            if self.as_json:
                print(json.dumps(answer, ensure_ascii=False))
            fail(f"{method} {path} → {response.status_code} {answer.get('code')}: {answer.get('message')}",
                 quiet=self.as_json)
        if not isinstance(answer, dict):
            fail(f"{method} {path} answered {type(answer).__name__}, not an object")
        return answer


def fail(message: str, *, code: int = 2, quiet: bool = False) -> NoReturn:
    if not quiet:
        err_console.print(f"[red]error[/]: {message}", highlight=False)
    raise typer.Exit(code)


def load_body(file: Path | None) -> dict[str, Any]:
    if file is None:
        return {}
    try:
        body = json.loads(file.read_text(encoding="utf-8"))
    except ValueError as exc:
        fail(f"{file}: not JSON ({exc})")
    if not isinstance(body, dict):
        fail(f"{file}: expected a JSON object")
    return body


def new_id(kind: str) -> str:
    return f"cli-{kind}-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"


def merged(base: dict[str, Any], **given: Any) -> dict[str, Any]:
    """`base` with every option that was given (not None) set over it."""
    return {**base, **{key: value for key, value in given.items() if value is not None}}


def owner_of(api: Api, story_id: str) -> str:
    story = api.call("GET", f"/api/v1/stories/{story_id}")
    return str(story["user_id"])


def submit(api: Api, path: str, body: dict[str, Any], wait: bool) -> None:
    op = api.call("POST", path, body)
    if api.as_json and not wait:
        print(json.dumps(op, ensure_ascii=False))
        return
    if not api.as_json:
        console.print(f"[bold]{op['operation_id']}[/] {op['type']} {op['status']} (story {op['story_id']})",
                      highlight=False)
    if wait:
        raise typer.Exit(watch_operation(api, op["operation_id"]))


# --- watching ------------------------------------------------------------------------------------------


@dataclass
class Watched:
    status: str = "queued"
    stage: str = ""
    percent: float = 0.0
    final: dict[str, Any] | None = None


def stream_events(api: Api, operation_id: str, *, retries: int = 5) -> Iterator[tuple[str, dict[str, Any]]]:
    """(SSE event name, JSON) of the operation's stream with progress messages, resuming after a dropped
    connection with Last-Event-ID; ends after the final event (or at once if it was already read)."""
    last_id: str | None = None
    failures = 0
    while True:
        headers = {"Last-Event-ID": last_id} if last_id else {}
        try:
            with api.client(timeout=None) as client, connect_sse(
                    client, "GET", f"/api/v1/operations/{operation_id}/events", params={"progress": "true"},
                    headers=headers) as source:
                if source.response.status_code == 204:
                    return
                if not source.response.is_success:
                    source.response.read()
                    fail(f"events of {operation_id}: HTTP {source.response.status_code} {source.response.text[:200]}")
                for sse in source.iter_sse():
                    failures = 0
                    data = sse.json() if sse.data else {}
                    if sse.event != "progress":
                        last_id = sse.id or last_id
                    yield sse.event, data
                    if sse.event in FINAL_EVENTS:
                        return
        except (httpx.TransportError, SSEError) as exc:
            failures += 1
            if failures > retries:
                fail(f"lost the event stream of {operation_id}: {exc}")
            time.sleep(min(0.5 * 2 ** failures, 5.0))


def watch_operation(api: Api, operation_id: str) -> int:
    """Follow an operation to its end; the exit code: 0 succeeded, 1 failed or cancelled."""
    state = Watched()
    if api.as_json:
        for name, data in stream_events(api, operation_id):
            if name != "progress":
                _update(state, name, data)
                print(json.dumps(data, ensure_ascii=False), flush=True)
    elif console.is_terminal:
        _watch_with_bar(api, operation_id, state)
    else:
        _watch_with_lines(api, operation_id, state)
    op = api.call("GET", f"/api/v1/operations/{operation_id}")
    if not api.as_json:
        print_outcome(op)
    # The final event is sent just before the operation's record turns terminal: trust the event.
    status = state.final["status"] if state.final else op["status"]
    return 0 if status == "succeeded" else 1


def _update(state: Watched, name: str, data: dict[str, Any]) -> str | None:
    """Apply one message; a line worth printing (a finished stage, the end) or None."""
    progress = data.get("progress") or {}
    state.status = data.get("status", state.status)
    state.stage = data.get("stage") or progress.get("stage") or state.stage
    state.percent = float(progress.get("percent", state.percent))
    if name == "operation.stage_completed":
        return f"✓ {data['stage']}"
    if name in FINAL_EVENTS:
        state.final = data
        return f"{name.removeprefix('operation.')}"
    return None


def _watch_with_bar(api: Api, operation_id: str, state: Watched) -> None:
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task: TaskID = bar.add_task(operation_id, total=100)
        for name, data in stream_events(api, operation_id):
            line = _update(state, name, data)
            bar.update(task, completed=state.percent, description=f"{operation_id} [{state.status}] {state.stage}")
            if line:
                bar.console.print(f"  {line}", highlight=False)


def _watch_with_lines(api: Api, operation_id: str, state: Watched) -> None:
    """Without a terminal (a log, a pipe): one line per change of progress."""
    shown: tuple[str, str, float] | None = None
    for name, data in stream_events(api, operation_id):
        line = _update(state, name, data)
        now = (state.status, state.stage, state.percent)
        if now != shown:
            shown = now
            print(f"{operation_id} {_bar(state.percent)} {state.percent:5.1f}% {state.status:<9} {state.stage}",
                  flush=True)
        if line:
            print(f"  {line}", flush=True)


def _bar(percent: float, width: int = 24) -> str:
    filled = round(width * max(0.0, min(percent, 100.0)) / 100)
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def print_outcome(op: dict[str, Any]) -> None:
    status = op["status"]
    colour = {"succeeded": "green", "failed": "red", "cancelled": "yellow"}.get(status, "cyan")
    console.print(f"[bold {colour}]{status}[/] {op['operation_id']} ({op['type']}, stage {op['stage']}, "
                  f"{op['progress']['percent']}%)", highlight=False)
    if op.get("error"):
        error = op["error"]
        where = f" at {error['stage']}" + (f"/{error['shot_id']}" if error.get("shot_id") else "")
        console.print(f"  [red]{error['code']}[/]{where}: {error['message']}", highlight=False)
    result = op.get("result") or {}
    for key in ("video_url", "subtitle_url", "subtitle_vtt_url", "cover_url", "image_url", "contact_sheet_url"):
        if result.get(key):
            console.print(f"  {key:<18} {result[key]}", highlight=False)
    timings = op.get("stage_seconds") or {}
    if timings:
        console.print("  time per stage     " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()),
                      highlight=False)


# --- commands ------------------------------------------------------------------------------------------


def create(
    file: FileOpt = None,
    story_id: Annotated[str | None, typer.Option(help="[default: a new id]", show_default=False)] = None,
    user_id: Annotated[str | None, typer.Option(help="[default: cli]", show_default=False)] = None,
    title: Annotated[str | None, typer.Option("--title", help="display_name")] = None,
    style: Annotated[str | None, typer.Option()] = None,
    script: Annotated[str | None, typer.Option(help="script_content, or @file to read it from a file")] = None,
    aspect_ratio: Annotated[str | None, typer.Option(help="16:9, 9:16 or 1:1")] = None,
    callback_url: Annotated[str | None, typer.Option()] = None,
    operation_id: OperationOpt = None,
    wait: WaitOpt = False,
    server: ServerOpt = None, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:
    """Create a storyboard: plan the shots and draw every keyframe."""
    api = Api.of(server, api_key, as_json)
    if script and script.startswith("@"):
        script = Path(script[1:]).read_text(encoding="utf-8")
    body = merged(load_body(file), story_id=story_id, user_id=user_id, display_name=title, style=style,
                  script_content=script, aspect_ratio=aspect_ratio, callback_url=callback_url,
                  operation_id=operation_id)
    body.setdefault("operation_id", new_id("create"))
    body.setdefault("story_id", f"story-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:4]}")
    body.setdefault("user_id", "cli")
    body.setdefault("display_name", body["story_id"])
    if not body.get("script_content"):
        fail("a script is needed: --script TEXT, --script @file.txt, or script_content in --file")
    submit(api, "/api/v1/storyboard/create", body, wait)


def submit_on_story(api: Api, path: str, body: dict[str, Any], wait: bool, *, kind: str) -> None:
    """Send an operation on an existing story: a fresh operation id and the story's owner unless given."""
    if not body.get("story_id"):
        fail("give STORY_ID (or story_id in --file)")
    body.setdefault("operation_id", new_id(kind))
    if not body.get("user_id"):
        body["user_id"] = owner_of(api, body["story_id"])
    submit(api, path, body, wait)


def regenerate(
    story_id: Annotated[str | None, typer.Argument(help="[or story_id in --file]", show_default=False)] = None,
    shot_id: Annotated[str | None, typer.Argument(help="[or shot_id in --file]", show_default=False)] = None,
    file: FileOpt = None,
    detail: Annotated[str | None, typer.Option()] = None,
    subject: Annotated[str | None, typer.Option()] = None,
    camera: Annotated[str | None, typer.Option()] = None,
    narration: Annotated[str | None, typer.Option()] = None,
    tone: Annotated[str | None, typer.Option()] = None,
    style: Annotated[str | None, typer.Option()] = None,
    user_id: Annotated[str | None, typer.Option(help="[default: the story's owner]", show_default=False)] = None,
    operation_id: OperationOpt = None,
    wait: WaitOpt = False,
    server: ServerOpt = None, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:
    """Edit one shot and draw its next keyframe version."""
    api = Api.of(server, api_key, as_json)
    body = merged(load_body(file), story_id=story_id, shot_id=shot_id, detail=detail, subject=subject, camera=camera,
                  narration=narration, tone=tone, style=style, user_id=user_id, operation_id=operation_id)
    if not body.get("shot_id"):
        fail("give STORY_ID and SHOT_ID (or story_id and shot_id in --file)")
    submit_on_story(api, "/api/v1/shot/regenerate", body, wait, kind="regen")


def render(
    story_id: Annotated[str | None, typer.Argument(help="[or story_id in --file]", show_default=False)] = None,
    file: FileOpt = None,
    bgm: Annotated[str | None, typer.Option(help="A music file name in MUSIC_DIR, or none")] = None,
    transition: Annotated[str | None, typer.Option(help="cut, crossfade or fadeblack")] = None,
    transition_s: Annotated[float | None, typer.Option()] = None,
    resolution: Annotated[str | None, typer.Option(help="720p or 1080p")] = None,
    subtitles: Annotated[bool | None, typer.Option("--subtitles/--no-subtitles",
                                                   help="Burn subtitles in [default: BURN_SUBTITLES]",
                                                   show_default=False)] = None,
    user_id: Annotated[str | None, typer.Option(help="[default: the story's owner]", show_default=False)] = None,
    operation_id: OperationOpt = None,
    wait: WaitOpt = False,
    server: ServerOpt = None, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:
    """Narrate, animate and compose the story into one video (only stale or missing work is redone)."""
    api = Api.of(server, api_key, as_json)
    body = merged(load_body(file), story_id=story_id, bgm=bgm, transition=transition, transition_s=transition_s,
                  resolution=resolution, burn_subtitles=subtitles, user_id=user_id, operation_id=operation_id)
    submit_on_story(api, "/api/v1/video/render", body, wait, kind="render")


def status(
    operation_id: Annotated[str | None, typer.Argument(help="An operation", show_default=False)] = None,
    story: Annotated[str | None, typer.Option("--story", help="Show this story instead")] = None,
    server: ServerOpt = None, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:
    """An operation's status, stage, progress, error and result (or a story with --story)."""
    api = Api.of(server, api_key, as_json)
    if story is None and operation_id is None:
        fail("give an OPERATION_ID or --story STORY_ID")
    if story is not None:
        view = api.call("GET", f"/api/v1/stories/{story}")
        if as_json:
            print(json.dumps(view, ensure_ascii=False))
            return
        print_story(view)
        return
    op = api.call("GET", f"/api/v1/operations/{operation_id}")
    if as_json:
        print(json.dumps(op, ensure_ascii=False))
    else:
        print_outcome(op)
    raise typer.Exit(1 if op["status"] in ("failed", "cancelled") else 0)


def print_story(view: dict[str, Any]) -> None:
    console.print(f"[bold]{view['display_name']}[/] ({view['story_id']}) {view['style']} · {view['status']}",
                  highlight=False)
    table = Table("shot", "v", "camera", "narration", "state")
    for shot in view["shots"]:
        marks = " degraded" if shot.get("degraded") else ""
        table.add_row(shot["id"], str(shot.get("keyframe_version") or "-"), shot["camera"], shot["narration"],
                      f"{shot['status']}{marks}")
    console.print(table)
    for key in ("video_url", "subtitle_url", "cover_url", "contact_sheet_url"):
        if view.get(key):
            console.print(f"  {key:<18} {view[key]}", highlight=False)


def watch(
    operation_id: Annotated[str, typer.Argument(help="The operation to follow")],
    server: ServerOpt = None, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:
    """Live progress of an operation from its event stream, until it ends (exit 1 unless it succeeded)."""
    api = Api.of(server, api_key, as_json)
    api.call("GET", f"/api/v1/operations/{operation_id}")  # a clear error for an unknown id
    raise typer.Exit(watch_operation(api, operation_id))


def outbox(
    dead: Annotated[bool, typer.Option("--dead", help="Only the parked (dead-lettered) events")] = False,
    redeliver: Annotated[list[str] | None, typer.Option("--redeliver", help="Send this parked event again "
                                                        "(repeatable)", show_default=False)] = None,
    all_parked: Annotated[bool, typer.Option("--all", help="With --redeliver or alone after --dead: every "
                                             "parked event")] = False,
    server: ServerOpt = None, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:
    """List the callback outbox (pending and parked events), or re-deliver parked ones."""
    api = Api.of(server, api_key, as_json)
    if redeliver or all_parked:
        answer = api.call("POST", "/api/v1/outbox/redeliver", {"event_ids": redeliver or [], "all": all_parked})
        if as_json:
            print(json.dumps(answer, ensure_ascii=False))
        else:
            console.print(f"re-delivering {len(answer['redelivered'])} event(s)", highlight=False)
            for event_id in answer["not_found"]:
                err_console.print(f"[yellow]not parked[/]: {event_id}", highlight=False)
        raise typer.Exit(1 if answer["not_found"] else 0)
    answer = api.call("GET", "/api/v1/outbox", params={"state": "dead" if dead else "all"})
    if as_json:
        print(json.dumps(answer, ensure_ascii=False))
        return
    for name in ("pending", "dead"):
        events = answer.get(name)
        if events is None:
            continue
        table = Table("event id", "operation", "event", "stage", "attempts", "last error", "receiver",
                      title=f"{name} ({len(events)})")
        for event in events:
            table.add_row(event["event_id"], event["operation_id"], event["event"], event["stage"],
                          str(event["attempts"]), event["last_error"] or "", event["target"])
        console.print(table)


def link(
    story_id: Annotated[str | None, typer.Argument(help="A story [default: the studio's list]",
                                                   show_default=False)] = None,
    ttl_s: Annotated[int | None, typer.Option("--ttl-s", help="Seconds the link works "
                                              "[default: STUDIO_SESSION_TTL_S]", show_default=False)] = None,
    server: ServerOpt = None, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:
    """A signed studio link: opens the studio without the API key, until it expires."""
    api = Api.of(server, api_key, as_json)
    answer = api.call("POST", "/api/v1/studio/links", merged({}, story_id=story_id, ttl_s=ttl_s))
    if as_json:
        print(json.dumps(answer, ensure_ascii=False))
    else:
        print(answer["url"])


def register(cli: typer.Typer) -> None:
    for command in (create, regenerate, render, status, watch, outbox, link):
        cli.command()(command)
