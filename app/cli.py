"""Command line: `serve` runs the API; `demo` drives the example story through it end to end; `doctor` checks
the machine; create, regenerate, render, status, watch, outbox and link drive a running server (cli_client.py)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from app.cli_client import register as register_client_commands
from app.cli_doctor import doctor

cli = typer.Typer(add_completion=False, help="Story2Video model service")
console = Console()
EXAMPLE = Path(__file__).resolve().parent.parent / "example" / "stories" / "puppy_zh.json"


@cli.command()
def serve() -> None:
    """Run the API server (host, port and backends come from the environment / .env)."""
    from app.main import serve as run_server

    run_server()


@cli.command()
def demo(
    story: Annotated[Path, typer.Option(help="JSON with display_name, style, script_content")] = EXAMPLE,
    data_dir: Annotated[Path, typer.Option(help="Where the demo server keeps its state")] = Path("data/demo"),
    port: Annotated[int, typer.Option(help="0 = any free port")] = 0,
    timeout_s: Annotated[float, typer.Option(help="Give up on an operation that has not ended after this long")] = 1800,
) -> None:
    """Start a server, create the storyboard, render the video, and print where everything is."""
    spec = json.loads(story.read_text(encoding="utf-8"))
    port = port or _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "DATA_DIR": str(data_dir.resolve()),
           "PUBLIC_BASE_URL": base, "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING")}
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "demo-server.log"
    # the server's output goes to a file, not ours: whatever it starts can never hold our caller's pipes
    with log_path.open("ab") as log:
        server = subprocess.Popen([sys.executable, "-m", "app.main"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            _wait_healthy(client, server)
            run_id = time.strftime("%Y%m%d%H%M%S")
            ids = {"story_id": f"demo-{run_id}", "user_id": "demo-user"}
            create = _run_operation(client, "/api/v1/storyboard/create",
                                    {**ids, "operation_id": f"create-{run_id}", **spec}, "storyboard", timeout_s)
            console.print(f"[green]storyboard[/] {len(create['result']['shots'])} shots")
            render = _run_operation(client, "/api/v1/video/render",
                                    {**ids, "operation_id": f"render-{run_id}"}, "render", timeout_s)
            _report(render["result"], data_dir, ids["story_id"])
    except typer.Exit:
        console.print(f"server log: {log_path}")
        raise
    finally:
        _stop(server)


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the server (SIGTERM, then SIGKILL after 30 s) and anything of its process group still running."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(server.pid, signal.SIGKILL)


def _run_operation(client: httpx.Client, path: str, body: dict[str, Any], label: str,
                   timeout_s: float) -> dict[str, Any]:
    response = client.post(path, json=body)
    if response.status_code not in (200, 202):
        console.print(f"[red]{label} refused[/]: {response.text}")
        raise typer.Exit(1)
    op_path = _json_object(response)["links"]["self"]
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
               TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(label, total=100)
        deadline = time.monotonic() + timeout_s
        while True:
            op = _json_object(client.get(op_path))
            bar.update(task, completed=op["progress"]["percent"], description=f"{label}: {op['stage']}")
            if op["status"] in ("succeeded", "failed", "cancelled"):
                break
            if time.monotonic() > deadline:
                console.print(f"[red]{label} still {op['status']} after {timeout_s:.0f}s[/]: {json.dumps(op)}")
                raise typer.Exit(1)
            time.sleep(0.5)
    if op["status"] != "succeeded":
        console.print(f"[red]{label} {op['status']}[/]: {op['error']}")
        raise typer.Exit(1)
    return op


def _json_object(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    if not isinstance(body, dict):
        console.print(f"[red]unexpected answer[/] from {response.request.url}: {response.text[:200]}")
        raise typer.Exit(1)
    return body


def _report(result: dict[str, Any], data_dir: Path, story_id: str) -> None:
    media = data_dir / "media"
    local = {name: media / result[f"{name}_url"].split("/media/", 1)[1] for name in ("video", "subtitle", "cover")}
    console.print(f"[bold green]video[/]      {local['video']}  ({result['duration']:.1f} s)")
    console.print(f"[bold green]subtitles[/]  {local['subtitle']}")
    console.print(f"[bold green]cover[/]      {local['cover']}")
    console.print(f"[bold green]storyboard[/] {data_dir / 'stories' / story_id / 'story.json'}")


def _wait_healthy(client: httpx.Client, server: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            console.print("[red]the server exited during start-up[/]")
            raise typer.Exit(1)
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise typer.Exit(1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # AF_INET: (host, port)


register_client_commands(cli)
cli.command()(doctor)

from app import cli_scaleout  # noqa: E402  (scale-out commands: worker, db upgrade, db import-json)

cli.command()(cli_scaleout.worker)
cli.add_typer(cli_scaleout.db, name="db")

if __name__ == "__main__":
    cli()
