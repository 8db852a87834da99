"""A real HTTP callback receiver that can refuse the first N deliveries."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class CallbackReceiver:
    def __init__(self, refuse_first: int = 0):
        self.refuse_left = refuse_first
        self.attempts: list[dict] = []  # every POST, refused or not
        self.accepted: list[dict] = []  # {headers, body(bytes), event(dict)}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                record = {"headers": dict(self.headers), "body": body, "event": json.loads(body), "at": time.time()}
                with receiver._lock:
                    receiver.attempts.append(record)
                    refuse = receiver.refuse_left > 0
                    if refuse:
                        receiver.refuse_left -= 1
                    else:
                        receiver.accepted.append(record)
                self.send_response(503 if refuse else 204)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/story2video"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CallbackReceiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self, operation_id: str) -> list[dict]:
        with self._lock:
            return [r["event"] for r in self.accepted if r["event"]["operation_id"] == operation_id]
