"""Real servers for transport-level tests, with the production settings (DEBUG off, JSON log
lines): `uvicorn backend.asgi:application`, as gunicorn's uvicorn workers serve it (the ASGI
app: WebSockets, and everything in one process), and `gunicorn backend.wsgi:application` with
gunicorn.conf.py, as the deployment serves HTTP.

The requests these tests send are refused or answered before any database or cache work
(`{ __typename }` at most), so the server needs neither: its database is an empty SQLite file.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "backend.settings.production",
    "SECRET_KEY": "asgi-server-tests-only-secret-key-that-is-long-enough-0123456789",
    "ALLOWED_HOSTS": "127.0.0.1",
    "REDIS_URL": "redis://127.0.0.1:6379/13",  # required by the settings, unused here
    "SECURE_SSL_REDIRECT": "false",
    "MAX_REQUEST_BODY_SIZE": "102400",
    "CORS_ALLOWED_ORIGINS": "http://allowed.example",
    "LOG_LEVEL": "INFO",
}


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class AppServer:
    process: subprocess.Popen
    port: int
    log_path: Path
    kind: str = "asgi"

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def request(
        self,
        method: str,
        path: str = "/graphql/",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        *,
        chunked: bool = False,
    ) -> Response:
        """One request on a new connection; `chunked` sends the body without Content-Length."""
        connection = http.client.HTTPConnection(*self.address, timeout=30)
        try:
            if chunked:
                chunks = [body[i : i + 16384] for i in range(0, len(body or b""), 16384)]
                connection.request(
                    method, path, body=iter(chunks), headers=headers or {}, encode_chunked=True
                )
            else:
                connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Response(response.status, response.headers, response.read())
        finally:
            connection.close()

    def log_offset(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> list[str]:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", errors="replace").splitlines()

    def log_problems(self, offset: int, *, requests: int | None = None) -> list[str]:
        """What the log says since `offset` beyond one clean request line per request:
        lines that are not the JSON request line (tracebacks, warnings, errors), and a
        request line count other than `requests`."""
        lines = self.log_since(offset)
        problems = []
        request_lines = 0
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                problems.append(f"not a JSON log line: {line}")
                continue
            if record.get("logger") != "backend.requests" or record.get("level") != "INFO":
                problems.append(f"logged: {line}")
            elif "exc_info" in record:
                problems.append(f"a traceback: {line}")
            else:
                request_lines += 1
        if requests is not None and request_lines != requests:
            problems.append(f"{request_lines} request lines for {requests} requests: {lines}")
        return problems

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(directory: Path, kind: str = "asgi") -> AppServer:
    """`kind`: "asgi" (uvicorn) or "wsgi" (gunicorn, one worker of gunicorn.conf.py's kind)."""
    port = _free_port()
    log_path = directory / f"{kind}.log"
    env = os.environ | PRODUCTION | {"DATABASE_URL": f"sqlite:///{directory / 'unused.sqlite3'}"}
    if kind == "asgi":
        command = [sys.executable, "-m", "uvicorn", "backend.asgi:application"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"]
        # gunicorn.conf.py keeps no access log either: the request line is the app's own.
        command += ["--no-access-log"]
    else:
        command = [sys.executable, "-m", "gunicorn", "backend.wsgi:application"]
        env |= {"BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = AppServer(process, port, log_path, kind)
    deadline = time.monotonic() + 60
    while True:
        try:
            # Answered: the app is loaded, and whatever the server logs as it starts is logged.
            server.request("GET", "/graphql/?query=%7B__typename%7D")
            return server
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"{kind} did not start:\n{log_path.read_text()}") from None
            time.sleep(0.1)
