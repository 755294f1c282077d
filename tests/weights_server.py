"""A tiny HTTP server on 127.0.0.1 for download tests: fixed routes, counted requests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Routes:
    """Path -> body bytes; ``"/slow..."`` paths wait ``delay`` seconds before answering."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.redirects: dict[str, str] = {}  # path -> the path it redirects to (302)
        self.requests: list[str] = []
        self.delay = 3.0
        self.base = ""

    def url(self, path: str) -> str:
        return self.base + path


@contextmanager
def serve(routes: Routes) -> Iterator[Routes]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            routes.requests.append(self.path)
            if self.path.startswith("/slow"):
                time.sleep(routes.delay)
            if self.path in routes.redirects:
                self.send_response(302)
                self.send_header("Location", routes.redirects[self.path])
                self.end_headers()
                return
            body = routes.files.get(self.path)
            if body is None:
                self.send_error(404, "Not Found")
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    routes.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield routes
    finally:
        server.shutdown()
        server.server_close()
