"""A real HTTP receiver on 127.0.0.1 for webhook tests (no test functions here)."""

from __future__ import annotations

import http.server
import threading
from typing import Any


class Receiver:
    """Records every POST; answers ``status`` (204 by default)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 204
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("Content-Length") or 0)
                outer.requests.append({"path": self.path, "headers": dict(self.headers.items()),
                                       "body": self.rfile.read(length)})
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/warta-hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
