"""`scripts/dev`, the README's first command: demo data and GraphiQL on a fresh database."""

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.request import Request, urlopen

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_scripts_dev_serves_the_demo_with_graphiql(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))} | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "ADDRESS": f"127.0.0.1:{port}",
        "NO_BROWSER": "1",
    }
    log = (tmp_path / "dev.log").open("w")
    process = subprocess.Popen(
        ["scripts/dev"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                page = urlopen(
                    Request(f"http://127.0.0.1:{port}/graphql/", headers={"Accept": "text/html"}),
                    timeout=2,
                )
                break
            except OSError:
                assert process.poll() is None, (tmp_path / "dev.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "dev.log").read_text()
                time.sleep(0.5)
        assert b"graphiql" in page.read().lower()
        body = json.dumps({"query": "{ products { totalCount } }"}).encode()
        answer = urlopen(
            Request(
                f"http://127.0.0.1:{port}/graphql/",
                data=body,
                headers={"Content-Type": "application/json"},
            ),
            timeout=10,
        )
        assert json.loads(answer.read())["data"] == {"products": {"totalCount": 6}}
        # A write whose side effect is a task: it runs in-process, with no broker to warn about.
        register = json.dumps(
            {
                "query": "mutation($input: RegisterInput!) { register(input: $input) { email } }",
                "variables": {
                    "input": {"email": "new@example.com", "name": "New", "password": "x7-Kq!m2Lp"}
                },
            }
        ).encode()
        answer = urlopen(
            Request(
                f"http://127.0.0.1:{port}/graphql/",
                data=register,
                headers={"Content-Type": "application/json"},
            ),
            timeout=10,
        )
        assert json.loads(answer.read())["data"] == {"register": {"email": "new@example.com"}}
        output = (tmp_path / "dev.log").read_text()
        assert "Subject: Welcome to the shop" in output
        assert " WARNING " not in output and "Traceback" not in output, output
        assert "admin@example.com / admin-demo-password" in output
        assert "user@example.com / user-demo-password" in output
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
