"""`python -m bench --users 10000`: the API as deployed, loaded with wrk, against a bare view.

Each operation is measured as a share of the bare baseline (bench/bare/), which answers it
with the same bytes.

1. Creates the database (default `shop_bench` on 127.0.0.1:5432) if missing, migrates it and
   seeds it with `seed_bench --users N` when empty (`--reseed` replaces other data).
2. Starts the bare baseline (`gunicorn bench.bare.wsgi:application`, sync workers, no
   middleware, `values()` + orjson) and the API on `bench.settings` (production settings plus
   the in-stack plain views of bench/views.py) as deployed: `gunicorn backend.wsgi:application`
   with gunicorn.conf.py. `--serve` serves it other ways too (uvicorn workers, gthread, sync
   workers; `executed`: as deployed with the compiled plans off), each its own gunicorn, the
   same number of workers. Operations go as production clients send them: trusted documents
   by id (`documentId`), answered by their compiled plans (`schema/core/compiled/`);
   `AdminUsers (last 20)` by the admin app's document that pages both ways (`AdminUsersPage`,
   clients/persisted-documents/admin.json).
3. Checks that each bare answer equals the API's, byte for byte; counts SQL per request
   in-process; then loads each operation in interleaved rounds with wrk: the bare view, then
   the API each way it is served (A B C A B C ...), with keep-alive connections and, with
   `--close`, with `Connection: close` as well. Each gunicorn worker's CPU time is read from
   /proc before and after each load: CPU per request, and how evenly the workers shared it.
4. Prints markdown tables and writes them into bench/RESULTS.md, in the block of its data size
   and ways of serving (the rest of the file is kept), with the date and the machine.
"""

from __future__ import annotations

import argparse
import base64
import collections
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "RESULTS.md"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def markers(users: int, variant: str = "") -> tuple[str, str]:
    """Each data size (and way of serving, when not the deployed one alone) keeps its own
    block in RESULTS.md, rewritten by its next run."""
    key = f"bench:{users}" + (f":{variant}" if variant else "")
    return f"<!-- {key}:begin -->", f"<!-- {key}:end -->"


BASELINE_PATH = "/bench/baseline/admin-users-with-orders"
CATALOG_BASELINE_PATH = "/bench/baseline/catalog-first-1"
ADMIN = ("admin@bench.example", "bench-admin-password")
USER = ("user0000001@bench.example", "bench-user-password")
# `MyOrders` of this many users in turn; `AdminUsers` after this many cursors in turn: more
# sets of variables than a worker keeps statements for (schema/core/compiled/statements.py).
CALLERS, PAGES = 50, 2000
CHECKED = 50  # of those in turn, checked against the bare view before timing


@dataclass(frozen=True)
class Serving:
    """One way of serving the API: gunicorn with gunicorn.conf.py, this app, these options."""

    name: str
    app: str
    options: tuple[str, ...] = ()
    description: str = ""
    environment: tuple[tuple[str, str], ...] = ()


SERVINGS = {
    "wsgi": Serving(
        "wsgi",
        "backend.wsgi:application",
        description="as deployed: `gunicorn backend.wsgi:application` (gunicorn.conf.py: sync "
        "workers)",
    ),
    "asgi": Serving(
        "asgi",
        "backend.asgi:application",
        description="`gunicorn backend.asgi:application`: uvicorn workers, the sync view in a "
        "thread (all in one ASGI process, WebSockets included)",
    ),
    "gthread": Serving(
        "gthread",
        "backend.wsgi:application",
        ("-k", "gthread", "--threads", "4"),
        description="`gunicorn backend.wsgi:application -k gthread --threads 4`",
    ),
    "sync": Serving(
        "sync",
        "backend.wsgi:application",
        ("-k", "sync"),
        description="`gunicorn backend.wsgi:application -k sync`",
    ),
    "executed": Serving(
        "executed",
        "backend.wsgi:application",
        description="as deployed, with GRAPHQL_COMPILED_OPERATIONS=false: every operation "
        "executed by GraphQL, none answered by its compiled plan",
        environment=(("GRAPHQL_COMPILED_OPERATIONS", "false"),),
    ),
}
BARE = "bare"
# No control socket: every gunicorn master on the machine would take the same path
# (~/.gunicorn/gunicorn.ctl), and a command meant for another reach these.
QUIET = ("--no-control-socket",)


@dataclass
class Operation:
    label: str
    name: str  # the contract operation (its bare view's too)
    variables: dict
    token: str | None
    path: str = "/graphql/"
    body: bytes = b""
    sql: int | None = None
    bare_sql: int | None = None
    bytes: int | None = None
    # Per way of serving and connection mode: the rounds, each with the bare round before it.
    rounds: dict[tuple[str, str], list[dict]] = field(
        default_factory=lambda: collections.defaultdict(list)
    )
    user: int | None = None  # who asks, for the bare view
    document: str | None = None  # the trusted document sent, when not the contract's `name`
    # Requests sent in turn, each its own caller or variables (this one's are the first's).
    turns: list[Operation] = field(default_factory=list)

    @property
    def bare_path(self) -> str:
        return f"/bare/{self.name}" + (f"?user={self.user}" if self.user else "")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--users", type=int, help="Seed this many users when the database is empty."
    )
    parser.add_argument("--reseed", action="store_true", help="Flush and seed --users again.")
    parser.add_argument("--database", default="shop_bench", help="Database name (PostgreSQL).")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="Server URL.")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9", help="Cache (cleared).")
    parser.add_argument(
        "--port", type=int, default=8765, help="The first server's; the others take the next."
    )
    parser.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY")
    parser.add_argument(
        "--serve",
        default="wsgi",
        help=f"Comma-separated ways to serve the API, among {', '.join(SERVINGS)} "
        "(default: wsgi, the deployment).",
    )
    parser.add_argument(
        "--close",
        action="store_true",
        help="Also load every operation with `Connection: close` (a connection per request).",
    )
    parser.add_argument("--duration", type=int, default=5, help="Seconds per round.")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds per side (A B A B ...).")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--only", help="Comma-separated contract operation names to run.")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="SECONDS",
        help="py-spy one worker for this long under an AdminUsersWithOrders load.",
    )
    parser.add_argument("--no-write", action="store_true", help="Do not update RESULTS.md.")
    args = parser.parse_args()
    args.servings = [SERVINGS[name] for name in args.serve.split(",")]
    args.modes = ["keep-alive", "close"] if args.close else ["keep-alive"]
    return args


def configure_environment(
    args: argparse.Namespace, *, workers: int, **overrides: str
) -> dict[str, str]:
    """The server's settings, also this process's (it seeds and checks in-process);
    `overrides` for another benchmark's differences (bench/subscriptions.py)."""
    values = {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789abcdef",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "REDIS_URL": args.redis,
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"{args.pg}/{args.database}",
        "WEB_CONCURRENCY": str(workers),
        "BIND": f"127.0.0.1:{args.port}",
        "DEBUG": "false",
        "GRAPHQL_SQL_QUERY_COUNT": "false",
        "ACCESS_TOKEN_LIFETIME": "3600",  # a long run must not outlive its tokens
        # The server logs as production does (a JSON line per request, to a file).
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        # The allocator the Dockerfile sets.
        "PYTHONMALLOC": "malloc",
        "MALLOC_MMAP_THRESHOLD_": "65536",
        "MALLOC_ARENA_MAX": "2",
        **overrides,
    }
    os.environ.update(values)
    os.environ["LOG_LEVEL"] = "WARNING"  # this process: no line per in-process request
    sys.path.insert(0, str(ROOT))
    return values


def ensure_database(args: argparse.Namespace) -> None:
    import psycopg

    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        if not conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [args.database]
        ).fetchone():
            conn.execute(f'CREATE DATABASE "{args.database}"')
            print(f"created database {args.database}")


def prepare_data(args: argparse.Namespace) -> tuple[int, float | None]:
    from django.core.management import call_command

    from apps.users.models import User

    call_command("migrate", verbosity=0)
    users = User.objects.count()
    seeded = None
    if users == 0 or args.reseed:
        if not args.users:
            sys.exit("The database is empty: pass --users N to seed it.")
        started = time.perf_counter()
        call_command("seed_bench", users=args.users, flush=args.reseed)
        seeded = time.perf_counter() - started
        users = User.objects.count()
    elif args.users and users != args.users:
        sys.exit(f"The database has {users:,} users, not {args.users:,}: pass --reseed.")
    return users, seeded


def operations(only: set[str] | None) -> list[Operation]:
    """The contract's operations, deep pages included, and the in-stack plain views (the same
    answers as two of them, served inside the API's stack)."""
    from apps.orders.models import Order
    from apps.users.models import User
    from apps.users.tokens import token_obtain
    from schema.core.trusted_documents import entries

    admin = token_obtain(email=ADMIN[0], password=ADMIN[1], client_address="127.0.0.1").access_token
    user = token_obtain(email=USER[0], password=USER[1], client_address="127.0.0.1").access_token
    user_pk = User.objects.get(email=USER[0]).pk
    order = Order.objects.filter(user_id=user_pk).order_by("pk").first()
    order_id = base64.b64encode(f"Order:{order.pk}".encode()).decode()
    ops = [
        Operation(
            "AdminUsersWithOrders (50/10)",
            "AdminUsersWithOrders",
            {"first": 50, "ordersFirst": 10},
            admin,
        ),
        Operation("Catalog (first 20)", "Catalog", {"first": 20}, None),
        Operation("MyOrders", "MyOrders", {}, user, user=user_pk),
        Operation("OrderById", "OrderById", {"id": order_id}, user, user=user_pk),
        Operation("Catalog (first 1)", "Catalog", {"first": 1}, None),
        # Deep pages: each must cost what the first page costs (keyset pagination).
        Operation("AdminUsers (first 20)", "AdminUsers", {"first": 20}, admin),
        Operation(
            "AdminUsers (20 after the middle)",
            "AdminUsers",
            {"first": 20, "after": middle_user_cursor()},
            admin,
        ),
        # Paging backwards: the admin app's own document (clients/persisted-documents/).
        Operation(
            "AdminUsers (last 20)", "AdminUsers", {"last": 20}, admin, document="AdminUsersPage"
        ),
    ]
    # Many callers, and more sets of variables than a worker keeps statements for.
    ops += [
        in_turn(f"MyOrders ({CALLERS} callers in turn)", callers(CALLERS)),
        in_turn(f"AdminUsers (20 after {PAGES:,} cursors in turn)", pages(admin, PAGES)),
    ]
    if only:
        ops = [op for op in ops if op.name in only]
    ids = {found.name: found.id for found in entries()}
    for op in ops:  # as a production client sends a trusted document: its id
        for sent in [op, *op.turns]:
            document_id = ids[sent.document or sent.name]
            body = {"documentId": f"sha256:{document_id}", "variables": sent.variables}
            sent.body = json.dumps(body).encode()
    in_stack = []
    by_label = {op.label: op for op in ops}
    for label, path, of in (
        (
            "In-stack plain view (AdminUsersWithOrders 50/10)",
            BASELINE_PATH,
            "AdminUsersWithOrders (50/10)",
        ),
        (
            "In-stack plain view (Catalog first 1, cached)",
            CATALOG_BASELINE_PATH,
            "Catalog (first 1)",
        ),
    ):
        if op := by_label.get(of):
            view = Operation(label, op.name, op.variables, op.token, path=path, body=op.body)
            in_stack.append(view)
    return ops + in_stack


def in_turn(label: str, turns: list[Operation]) -> Operation:
    """One operation sent as `turns`, one after the other."""
    first = turns[0]
    return Operation(label, first.name, first.variables, first.token, user=first.user, turns=turns)


def callers(count: int) -> list[Operation]:
    """`MyOrders` of `count` different users, each with its own Bearer token."""
    from apps.users.models import User
    from apps.users.tokens import token_obtain

    users = User.objects.filter(email__startswith="user").order_by("email")[:count]
    return [
        Operation(
            "MyOrders",
            "MyOrders",
            {},
            token_obtain(email=u.email, password=USER[1], client_address="127.0.0.1").access_token,
            user=u.pk,
        )
        for u in users
    ]


def pages(admin: str, count: int) -> list[Operation]:
    """`AdminUsers`, 20 after each of `count` cursors spread over the whole list."""
    from apps.users.models import User

    total = User.objects.count()
    ordered = User.objects.order_by("-date_joined", "-pk")
    return [
        Operation("AdminUsers", "AdminUsers", {"first": 20, "after": user_cursor(user)}, admin)
        for user in (ordered[at * (total - 21) // count] for at in range(count))
    ]


def user_cursor(user) -> str:
    """A user's cursor in `AdminUsers`' ordering (dateJoined DESC, then pk)."""
    from strawberry.relay import to_base64
    from strawberry_django.relay.cursor_connection import DjangoCursorEdge

    joined = type(user)._meta.get_field("date_joined").value_to_string(user)
    values = json.dumps([joined, str(user.pk)], separators=(",", ":"))
    return to_base64(DjangoCursorEdge.CURSOR_PREFIX, values)


def middle_user_cursor() -> str:
    """The cursor of the user halfway down `AdminUsers`' ordering."""
    from apps.users.models import User

    return user_cursor(User.objects.order_by("-date_joined", "-pk")[User.objects.count() // 2])


def count_sql(ops: list[Operation]) -> None:
    """Statements per request, whole request (Bearer auth included), measured in-process; and
    the bare view's, called directly."""
    from django.db import connection
    from django.test import Client, RequestFactory
    from django.test.utils import CaptureQueriesContext

    from apps.core import invalidation
    from bench.bare.views import VIEWS

    # As a serving process once its change notices are subscribed: a Bearer token it has
    # checked runs no SQL (apps/users/tokens.py).
    deadline = time.monotonic() + 10
    while invalidation.lease() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    for op in ops:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {op.token}"} if op.token else {}
        client = Client(HTTP_HOST="127.0.0.1", **headers)
        client.post(op.path, op.body, content_type="application/json")  # warm caches
        with CaptureQueriesContext(connection) as queries:
            response = client.post(op.path, op.body, content_type="application/json")
        assert response.status_code == 200, response.content[:500]
        op.sql = len(queries)
        request = RequestFactory().post(op.bare_path, op.body, content_type="application/json")
        with CaptureQueriesContext(connection) as queries:
            VIEWS[op.name](request)
        op.bare_sql = len(queries)


def post(port: int, op: Operation, path: str | None = None) -> bytes:
    headers = {"Content-Type": "application/json"}
    if op.token:
        headers["Authorization"] = f"Bearer {op.token}"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path or op.path}", data=op.body, headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def start_server(
    env: dict[str, str],
    logs: Path,
    port: int,
    *options: str,
    workers: int = 1,
    app: str = "backend.asgi:application",
    config: str = "gunicorn.conf.py",
    log_name: str = "gunicorn.log",
    ready_path: str = "/healthz",
) -> subprocess.Popen:
    """gunicorn serving `app` as deployed (`config`, plus `options`), once it answers with
    `workers` workers; stopped again if it does not, or on Ctrl-C while it starts."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            sys.exit(f"Port {port} is taken: pass --port.")
    log = (logs / log_name).open("wb")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), app, "-c", config, *options],
        cwd=ROOT,
        env={**os.environ, **env, "BIND": f"127.0.0.1:{port}"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                sys.exit(f"gunicorn exited: see {logs / log_name}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{ready_path}", timeout=2):
                    pass
            except urllib.error.HTTPError:
                pass  # it answers
            except OSError:
                time.sleep(0.3)
                continue
            if len(workers_of(server.pid)) >= workers:
                return server
            time.sleep(0.3)
        sys.exit(f"gunicorn did not answer within 60 s: see {logs / log_name}")
    except BaseException:
        stop_server(server)
        raise


def stop_server(server: subprocess.Popen) -> None:
    """The whole process group: gunicorn and its workers."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


def _stat_fields(pid: int | str) -> list[str]:
    """/proc/<pid>/stat after the command name (which may hold spaces): field 3 onwards."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def workers_of(master: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = _stat_fields(stat.parent.name)
        except OSError:
            continue
        if int(fields[1]) == master:
            pids.append(int(stat.parent.name))
    return sorted(pids)


def cpu_seconds(pids: list[int]) -> list[float]:
    """Each process's CPU time so far (utime + stime), all its threads included."""
    seconds = []
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except OSError:
            seconds.append(float("nan"))  # gone: the worker was replaced
            continue
        seconds.append((int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return seconds


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


class LoadFailed(Exception):
    """wrk could not load the server (it refused connections)."""


def wrk(
    port: int,
    op: Operation,
    seconds: int,
    args: argparse.Namespace,
    tmp: Path,
    *,
    bare: bool = False,
    mode: str = "keep-alive",
    server: subprocess.Popen | None = None,
) -> dict:
    """One load of `op` (on its bare view's path, or its own); with `server`, its workers' CPU
    too."""
    body = tmp / f"body-{abs(hash(op.body))}.json"
    body.write_bytes(op.body)
    requests = ""
    if op.turns:
        turns = tmp / f"turns-{abs(hash((op.label, bare)))}.tsv"
        turns.write_text(
            "".join(
                f"{t.bare_path if bare else t.path}\t{t.token or ''}\t{t.body.decode()}\n"
                for t in op.turns
            )
        )
        requests = str(turns)
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(BENCH / "post.lua"),
        *(["-H", "Connection: close"] if mode == "close" else []),
        f"http://127.0.0.1:{port}{op.bare_path if bare else op.path}",
    ]
    env = {
        **os.environ,
        "BENCH_BODY": str(body),
        "BENCH_TOKEN": op.token or "",
        "BENCH_REQUESTS": requests,
    }
    workers = workers_of(server.pid) if server else []
    before = cpu_seconds(workers)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise LoadFailed(
            f"wrk failed ({done.returncode}) on {op.label}: {done.stderr or done.stdout}"
        )
    out = done.stdout
    cpu = [b - a for a, b in zip(before, cpu_seconds(workers), strict=True)]
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+(?:us|ms|s|m))\s*$", out, re.M))

    def ms(text: str) -> float:
        number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
        return float(number) * UNITS[unit]

    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        errors += sum(int(n) for n in match.groups())
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms(latency["50"]),
        "p99": ms(latency["99"]),
        "requests": requests,
        "errors": errors,
        "cpu": cpu,
    }


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def cpu_summary(rounds: list[dict]) -> tuple[float, str]:
    """CPU milliseconds per request (all workers), and each worker's share of that CPU, each
    the median over the rounds (workers by their share, busiest first)."""
    per_request = median([1000 * sum(r["cpu"]) / max(r["requests"], 1) for r in rounds])
    shares = [
        sorted((c / sum(r["cpu"]) for c in r["cpu"]), reverse=True)
        for r in rounds
        if r["cpu"] and sum(r["cpu"]) > 0
    ]
    if not shares:
        return per_request, "-"
    split = "/".join(f"{100 * median(list(column)):.0f}" for column in zip(*shares, strict=True))
    return per_request, split


def profile(
    server: subprocess.Popen, port: int, op: Operation, seconds: int, args, tmp: Path
) -> str:
    """py-spy on every worker while wrk loads `op` (wrk's keep-alive connections may all land
    on one worker): the top frames, by own and inclusive samples, over all workers."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out = tmp / "profile.txt"
    body = tmp / "profile-body.json"
    body.write_bytes(op.body)
    load = subprocess.Popen(
        [
            "wrk",
            f"-t{args.threads}",
            f"-c{args.connections}",
            f"-d{seconds + 4}s",
            "--timeout",
            "10s",
            "-s",
            str(BENCH / "post.lua"),
            f"http://127.0.0.1:{port}{op.path}",
        ],
        env={**os.environ, "BENCH_BODY": str(body), "BENCH_TOKEN": op.token or ""},
        stdout=subprocess.DEVNULL,
    )
    time.sleep(1)
    # --idle: py-spy takes the busy executor thread for idle here (in a container), so
    # every thread is sampled and the stacks that end waiting are dropped when summarised.
    spies = [
        subprocess.Popen(
            [
                *(spy, "record", "-p", str(worker), "-d", str(seconds), "-r", "200"),
                *("-f", "raw", "--idle", "-o", str(tmp / f"profile-{worker}.txt")),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for worker in workers_of(server.pid)
    ]
    for spy_process in spies:
        spy_process.wait()
    load.wait()
    out.write_text("".join(part.read_text() for part in sorted(tmp.glob("profile-*.txt"))))
    return summarise_profile(out)


def _frame(text: str) -> str:
    """`function (path/to/module.py:123)` as `function (package/module.py)`."""
    match = re.match(r"(.*) \((.*?)(?::\d+)?\)$", text)
    if not match:
        return text
    function, path = match.groups()
    path = re.sub(r".*/site-packages/", "", path)
    path = re.sub(r".*/lib/python3\.\d+/", "stdlib/", path)
    path = path.replace(str(ROOT) + "/", "")
    return f"{function} ({path})"


def _package(frame: str) -> str:
    path = frame.rsplit("(", 1)[-1].rstrip(")")
    top = path.split("/")[0]
    return f"stdlib ({top})" if top in STDLIB or top == "stdlib" else top


# Leaf frames of a thread with nothing to do: the event loop's poll, pool and executor queues.
IDLE_LEAVES = (
    "EpollSelector.select ",
    "Condition.wait ",
    "Event.wait ",
    "Queue.get ",
    "_worker (concurrent/futures/thread.py)",
)
STDLIB = {"asyncio", "concurrent", "json", "threading.py", "selectors.py", "queue.py", "<string>"}


def summarise_profile(path: Path, top: int = 12) -> str:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    packages: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = [
            _frame(f)
            for f in stack.split(";")
            if not f.startswith("process ") and not f.startswith("thread ")
        ]
        if not frames or frames[-1].startswith(IDLE_LEAVES):
            continue
        total += n
        own[frames[-1]] += n
        packages[_package(frames[-1])] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return "py-spy recorded no samples."

    def pct(n: int) -> str:
        return f"{100 * n / total:5.1f}%"

    lines = [
        f"{total:,} samples of the workers' threads at work (threads waiting for work excluded).",
        "",
        "Own time by package:",
        "",
    ]
    lines += [f"- {pct(n)} {name}" for name, n in packages.most_common(10)]
    lines += ["", "Top frames by own time:", ""]
    lines += [f"- {pct(n)} `{name}`" for name, n in own.most_common(top)]
    # Below the request's spine (the frames nearly every sample passes through).
    interesting = [
        (name, n)
        for name, n in inclusive.most_common(400)
        if n < total / 2
        if any(
            key in name
            for key in (
                "graphql/",
                "strawberry",
                "django/db/models/sql/compiler",
                "django/db/models/base.py",
                "django/dispatch",
                "psycopg",
                "json",
                "bench/",
                "schema/",
                "apps/",
            )
        )
    ]
    lines += ["", "Inclusive time of selected frames:", ""]
    lines += [f"- {pct(n)} `{name}`" for name, n in interesting[:top]]
    return "\n".join(lines)


def machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    return {
        "date": subprocess.run(["date", "-u"], capture_output=True, text=True).stdout.strip(),
        "nproc": subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip(),
        "free": subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.rstrip(),
        "cpu": cpu,
        "wrk": subprocess.run(
            ["wrk", "--version"], capture_output=True, text=True
        ).stdout.splitlines()[0]
        if shutil.which("wrk")
        else "missing",
    }


def table(ops: list[Operation], servings: list[Serving], mode: str) -> str:
    """One row per operation and way of serving, the bare view first."""
    head = (
        "| operation | served by | req/s | p50 ms | p99 ms | CPU ms/request | workers' CPU % "
        "| SQL/request | req/s vs bare | p50 vs bare | errors |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    rows = []
    for op in ops:
        for name in [BARE, *(serving.name for serving in servings)]:
            rounds = op.rounds.get((name, mode))
            if not rounds:
                continue
            cpu, split = cpu_summary(rounds)
            if name == BARE:
                rps_ratio = p50_ratio = "1.00"
                sql = op.bare_sql
            else:
                # Each round's ratio is to the bare round run just before it (drift cancels).
                pairs = [(r, r["bare"]) for r in rounds]
                rps_ratio = f"{median([r['rps'] / b['rps'] for r, b in pairs]):.2f}"
                p50_ratio = f"{median([r['p50'] / b['p50'] for r, b in pairs]):.2f}"
                sql = op.sql
            rows.append(
                f"| {op.label} | {name} | {median([r['rps'] for r in rounds]):,.0f} "
                f"| {median([r['p50'] for r in rounds]):.1f} "
                f"| {median([r['p99'] for r in rounds]):.1f} | {cpu:.1f} | {split} | {sql} "
                f"| {rps_ratio} | {p50_ratio} | {sum(r['errors'] for r in rounds)} |"
            )
    return head + "\n" + "\n".join(rows)


def serving_summary(ops: list[Operation], servings: list[Serving], modes: list[str]) -> str:
    """req/s as a share of the bare view, per operation: the ways of serving side by side."""
    columns = [(serving.name, mode) for mode in modes for serving in servings]
    head = "| operation | " + " | ".join(f"{name} ({mode})" for name, mode in columns) + " |"
    rows = [head, "|---|" + "---:|" * len(columns)]
    for op in ops:
        cells = []
        for key in columns:
            rounds = op.rounds.get(key, [])
            ratio = median([r["rps"] / r["bare"]["rps"] for r in rounds])
            cells.append(f"{ratio:.2f}")
        rows.append(f"| {op.label} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def write_results(section: str, users: int, variant: str = "") -> None:
    begin, end = markers(users, variant)
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if begin not in text or end not in text:
        text = text.rstrip() + "\n\n" + begin + "\n" + end + "\n"
    before, rest = text.split(begin, 1)
    _, after = rest.split(end, 1)
    RESULTS.write_text(before + begin + "\n" + section.strip() + "\n" + end + after)


def check_answers(ops: list[Operation], api_port: int, bare_port: int) -> dict[str, str]:
    """Each operation's answer from the API against its bare view's, before any timing."""
    equality = {}
    for op in ops:
        checked = op.turns[:: max(1, len(op.turns) // CHECKED)] if op.turns else [op]
        verdicts = collections.Counter(answer_check(sent, api_port, bare_port) for sent in checked)
        op.bytes = len(post(api_port, op))
        if not op.turns:
            (equality[op.label],) = verdicts
            equality[op.label] += f" ({op.bytes:,} bytes)"
        else:
            equality[op.label] = ", ".join(
                f"{verdict} ({count:,} of {len(checked):,} requests checked, spread over the "
                f"{len(op.turns):,})"
                for verdict, count in verdicts.items()
            )
        print(f"{op.label} vs its bare view: {equality[op.label]}")
    return equality


def answer_check(op: Operation, api_port: int, bare_port: int) -> str:
    """Whether the API answers `op` with its bare view's bytes."""
    content = post(api_port, op)
    parsed = json.loads(content)
    if parsed.get("errors"):
        sys.exit(f"{op.label} answered errors: {parsed['errors']}")
    bare = post(bare_port, op, op.bare_path)
    if bare == content:
        return "byte-for-byte equal"
    if json.loads(bare) == parsed:
        return "equal after parsing, NOT byte-for-byte"
    return "DIFFERENT (the bare view does not answer the same data)"


def main() -> None:
    args = parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install -y wrk")
    env = configure_environment(args, workers=args.workers)
    ensure_database(args)
    import django

    django.setup()
    from django.core.cache import cache

    users, seeded = prepare_data(args)
    cache.clear()  # the bench's own Redis database: no page cached from earlier data
    ops = operations(set(args.only.split(",")) if args.only else None)
    count_sql(ops)
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    ports = {name: args.port + i for i, name in enumerate([BARE, *(s.name for s in args.servings)])}
    print(f"servers on 127.0.0.1: {ports}, {args.workers} workers each; logs in {tmp}")
    servers: dict[str, subprocess.Popen] = {}
    bare_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.bare.settings"}
    starts = {
        BARE: lambda: start_server(
            bare_env,
            tmp,
            ports[BARE],
            *QUIET,
            workers=args.workers,
            app="bench.bare.wsgi:application",
            config="bench/bare/gunicorn.conf.py",
            log_name="bare.log",
            ready_path="/",
        ),
        **{
            serving.name: partial(
                start_server,
                {**env, **dict(serving.environment)},
                tmp,
                ports[serving.name],
                *serving.options,
                *QUIET,
                workers=args.workers,
                app=serving.app,
                log_name=f"{serving.name}.log",
            )
            for serving in args.servings
        },
    }
    restarts: list[str] = []

    def load(name: str, op: Operation, seconds: int, **options) -> dict:
        """wrk on one server; a server that was stopped from outside (this machine is shared)
        is started again and its load run again, once."""
        port = ports[name]
        try:
            return wrk(port, op, seconds, args, tmp, server=servers[name], **options)
        except LoadFailed:
            if servers[name].poll() is None:
                raise
            restarts.append(f"{name} (exit {servers[name].returncode}) during {op.label}")
            print(f"  {name} exited ({servers[name].returncode}): started again")
            servers[name] = starts[name]()
            return wrk(port, op, seconds, args, tmp, server=servers[name], **options)

    try:
        for name, start in starts.items():
            servers[name] = start()
        first = args.servings[0].name
        equality = check_answers(ops, ports[first], ports[BARE])
        for op in ops:  # warm-up: caches, connections, parsed documents
            load(BARE, op, 2, bare=True)
            for serving in args.servings:
                load(serving.name, op, 2)
        for op in ops:
            for n in range(args.rounds):
                for mode in args.modes:
                    b = load(BARE, op, args.duration, bare=True, mode=mode)
                    op.rounds[(BARE, mode)].append(b)
                    line = f"  {op.label:50} {mode:10} round {n + 1}: bare {b['rps']:7.1f}"
                    for serving in args.servings:
                        r = load(serving.name, op, args.duration, mode=mode)
                        r["bare"] = b
                        op.rounds[(serving.name, mode)].append(r)
                        line += f" | {serving.name} {r['rps']:7.1f}"
                    print(line + " req/s")
        profile_text = ""
        if args.profile and ops and ops[0].name == "AdminUsersWithOrders":
            print(f"profiling the workers for {args.profile} s under AdminUsersWithOrders ...")
            server = servers[first]
            profile_text = profile(server, ports[first], ops[0], args.profile, args, tmp)
    finally:
        for server in servers.values():
            stop_server(server)

    info = machine()
    section = [
        f"## Run of {info['date']}",
        "",
        f"- Data: {users:,} users, 1,000 products, {users * 10:,} orders, {users * 30:,} items "
        f"(`seed_bench`){f'; seeded in this run in {seeded:.1f} s' if seeded else ''}.",
        f"- Machine: {info['nproc']} CPUs ({info['cpu']}); `free -h`:",
        "",
        "```",
        info["free"],
        "```",
        "",
        f"- bare: `gunicorn bench.bare.wsgi:application`, {args.workers} sync workers, no "
        "middleware, no authentication, no cache, `values()` + orjson (bench/bare/).",
        *(
            f"- {serving.name}: {serving.description}, {args.workers} workers, `bench.settings` "
            "(production, DEBUG off), Bearer tokens"
            for serving in args.servings
        ),
        f"- PostgreSQL `{args.database}`, Redis cache. Load: {info['wrk']}, {args.threads} "
        f"thread, {args.connections} connections ("
        + " and ".join(
            "keep-alive" if mode == "keep-alive" else "`Connection: close`" for mode in args.modes
        )
        + f"), {args.rounds} rounds x {args.duration} s per side, the bare view and each way "
        "of serving interleaved (A B C A B C ...).",
        *(f"- {label} vs its bare view: {verdict}." for label, verdict in equality.items()),
        *(f"- Stopped from outside and started again: {restart}." for restart in restarts),
        "- req/s, p50, p99: medians over the rounds. Ratios: median over rounds of the value "
        "divided by the bare round run just before it. CPU ms/request: the workers' CPU time "
        "(/proc, utime + stime) over the requests served; workers' CPU %: each worker's share "
        "of it, busiest first (even: 50/50 for 2). SQL/request: whole request, counted once "
        "in-process, as a serving process counts it once it has checked the Bearer token (a "
        "kept session runs none; the first check of a token runs 1 more).",
    ]
    for mode in args.modes:
        section += ["", f"### {mode}", "", table(ops, args.servings, mode)]
    if len(args.servings) > 1 or len(args.modes) > 1:
        section += [
            "",
            "### req/s as a share of the bare view",
            "",
            serving_summary(ops, args.servings, args.modes),
        ]
    if profile_text:
        section += [
            "",
            f"### py-spy: the workers under AdminUsersWithOrders ({args.profile} s, "
            f"{args.servings[0].name})",
            "",
            profile_text,
        ]
    text = "\n".join(section)
    print()
    print(text)
    if not args.no_write:
        variant = "" if args.serve == "wsgi" and not args.close else args.serve.replace(",", "-")
        variant += ":close" if args.close else ""
        write_results(text, users, variant)
        print(f"\nwrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
