"""`python -m bench --users 10000`: the API served the production way, loaded with wrk.

1. Creates the database (default `shop_bench` on 127.0.0.1:5432) if missing, migrates it and
   seeds it with `seed_bench --users N` when empty (`--reseed` replaces other data).
2. Starts gunicorn with uvicorn workers (gunicorn.conf.py) on `bench.settings`: production
   settings plus the baseline routes, plain views returning `AdminUsersWithOrders`' JSON and
   `Catalog(first: 1)`'s (bench/views.py).
3. Checks that each baseline's body equals GraphQL's, counts SQL per request in-process,
   then loads each operation and its baseline in interleaved rounds (A B A B ...) with wrk.
   Operations go as production clients send them: trusted documents by id (`documentId`),
   answered by their compiled plans (`schema/core/compiled/`); only `AdminUsers (last 20)`,
   paging backwards, is no trusted document and is sent as text. With `--executed`, each
   also goes to a second server with GRAPHQL_COMPILED_OPERATIONS=false, in the same rounds.
4. Prints a markdown table and writes it into bench/RESULTS.md, in the block of its data size
   (one per `--users`; the rest of the file is kept), with the date, the machine and the
   ratios to the baseline.
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
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "RESULTS.md"


def markers(users: int) -> tuple[str, str]:
    """Each data size keeps its own block in RESULTS.md, rewritten by its next run."""
    return f"<!-- bench:{users}:begin -->", f"<!-- bench:{users}:end -->"


BASELINE_PATH = "/bench/baseline/admin-users-with-orders"
CATALOG_BASELINE_PATH = "/bench/baseline/catalog-first-1"
ADMIN = ("admin@bench.example", "bench-admin-password")
USER = ("user0000001@bench.example", "bench-user-password")


@dataclass
class Operation:
    label: str
    name: str  # the contract operation; "" for the baseline
    variables: dict
    token: str | None
    path: str = "/graphql/"
    port: int | None = None  # the second server's (--executed); None: the main server's
    body: bytes = b""
    sql: int | None = None
    bytes: int | None = None
    rounds: list[dict] = field(default_factory=list)
    # The plain view its ratios are taken against; `same_answer`: it answers the same bytes.
    baseline: Operation | None = None
    same_answer: bool = False


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--users", type=int, help="Seed this many users when the database is empty."
    )
    parser.add_argument("--reseed", action="store_true", help="Flush and seed --users again.")
    parser.add_argument("--database", default="shop_bench", help="Database name (PostgreSQL).")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="Server URL.")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9", help="Cache (cleared).")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY")
    parser.add_argument("--duration", type=int, default=5, help="Seconds per round.")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds per side (A B A B ...).")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--only", help="Comma-separated contract operation names to run.")
    parser.add_argument(
        "--executed",
        action="store_true",
        help="Also run each operation on a second server (port + 1) with "
        "GRAPHQL_COMPILED_OPERATIONS=false: compiled and executed in the same sitting.",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="SECONDS",
        help="py-spy one worker for this long under an AdminUsersWithOrders load.",
    )
    parser.add_argument("--no-write", action="store_true", help="Do not update RESULTS.md.")
    return parser.parse_args()


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


def operations(
    only: set[str] | None, executed_port: int | None = None
) -> tuple[list[Operation], list[Operation]]:
    from apps.orders.models import Order
    from apps.users.models import User
    from apps.users.tokens import token_obtain
    from schema.core.operations import operation
    from schema.core.trusted_documents import sha256_of

    admin = token_obtain(email=ADMIN[0], password=ADMIN[1], client_address="127.0.0.1").access_token
    user = token_obtain(email=USER[0], password=USER[1], client_address="127.0.0.1").access_token
    order = Order.objects.filter(user=User.objects.get(email=USER[0])).order_by("pk").first()
    order_id = base64.b64encode(f"Order:{order.pk}".encode()).decode()
    ops = [
        Operation(
            "AdminUsersWithOrders (50/10)",
            "AdminUsersWithOrders",
            {"first": 50, "ordersFirst": 10},
            admin,
        ),
        Operation("Catalog (first 20)", "Catalog", {"first": 20}, None),
        Operation("MyOrders", "MyOrders", {}, user),
        Operation("OrderById", "OrderById", {"id": order_id}, user),
        Operation("Catalog (first 1)", "Catalog", {"first": 1}, None),
        # Deep pages: each must cost what the first page costs (keyset pagination).
        Operation("AdminUsers (first 20)", "AdminUsers", {"first": 20}, admin),
        Operation(
            "AdminUsers (20 after the middle)",
            "AdminUsers",
            {"first": 20, "after": middle_user_cursor()},
            admin,
        ),
        Operation(
            "AdminUsers (the last 20, by cursor)",
            "AdminUsers",
            {"first": 20, "after": last_page_cursor(20)},
            admin,
        ),
        Operation("AdminUsers (last 20)", "AdminUsers", {"last": 20}, admin),
    ]
    if only:
        ops = [op for op in ops if op.name in only]
    if executed_port is not None:
        ops += [
            Operation(f"{op.label} (executed)", op.name, op.variables, op.token, port=executed_port)
            for op in ops
        ]
    for op in ops:
        document = operation(op.name)
        if "last" in op.variables:
            document = from_the_end(document)
            op.body = json.dumps({"query": document, "variables": op.variables}).encode()
        else:  # as a production client sends a trusted document: its id
            document_id = f"sha256:{sha256_of(document)}"
            op.body = json.dumps({"documentId": document_id, "variables": op.variables}).encode()
    nested = Operation("Baseline: plain view (AdminUsersWithOrders 50/10)", "", {}, admin)
    nested.path = BASELINE_PATH
    catalog = Operation("Baseline: plain view (Catalog first 1, cached)", "", {}, None)
    catalog.path = CATALOG_BASELINE_PATH
    for op in ops:
        op.same_answer = op.label.startswith(("AdminUsersWithOrders (50/10)", "Catalog (first 1)"))
        op.baseline = catalog if op.label.startswith("Catalog (first 1)") else nested
        op.baseline.body = op.body if op.same_answer else op.baseline.body or b"{}"
    baselines = [b for b in (nested, catalog) if any(op.baseline is b for op in ops)]
    return baselines, ops


def middle_user_cursor() -> str:
    """The cursor of the user halfway down `AdminUsers`' ordering (dateJoined DESC, then pk)."""
    from strawberry.relay import to_base64
    from strawberry_django.relay.cursor_connection import DjangoCursorEdge

    from apps.users.models import User

    middle = User.objects.order_by("-date_joined", "-pk")[User.objects.count() // 2]
    joined = User._meta.get_field("date_joined").value_to_string(middle)
    values = json.dumps([joined, str(middle.pk)], separators=(",", ":"))
    return to_base64(DjangoCursorEdge.CURSOR_PREFIX, values)


def last_page_cursor(size: int) -> str:
    """The cursor after which `AdminUsers`' last `size` users come (a trusted document's way
    to the last page)."""
    from strawberry.relay import to_base64
    from strawberry_django.relay.cursor_connection import DjangoCursorEdge

    from apps.users.models import User

    before = User.objects.order_by("-date_joined", "-pk")[User.objects.count() - size - 1]
    joined = User._meta.get_field("date_joined").value_to_string(before)
    values = json.dumps([joined, str(before.pk)], separators=(",", ":"))
    return to_base64(DjangoCursorEdge.CURSOR_PREFIX, values)


def from_the_end(document: str) -> str:
    """`AdminUsers` paging backwards: `last`/`before` in place of `first`/`after`."""
    for forwards, backwards in (("first", "last"), ("after", "before")):
        document, replaced = re.subn(
            rf"\b{forwards}: \${forwards}\b", f"{backwards}: ${backwards}", document
        )
        assert replaced == 1, forwards
        document = document.replace(f"${forwards}:", f"${backwards}:")
    return document


def count_sql(ops: list[Operation]) -> None:
    """Statements per request, whole request (Bearer auth included), measured in-process."""
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    for op in ops:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {op.token}"} if op.token else {}
        client = Client(HTTP_HOST="127.0.0.1", **headers)
        with override_settings(GRAPHQL_COMPILED_OPERATIONS=op.port is None):
            client.post(op.path, op.body, content_type="application/json")  # warm caches
            with CaptureQueriesContext(connection) as queries:
                response = client.post(op.path, op.body, content_type="application/json")
        assert response.status_code == 200, response.content[:500]
        op.sql = len(queries)


def post(port: int, op: Operation) -> bytes:
    headers = {"Content-Type": "application/json"}
    if op.token:
        headers["Authorization"] = f"Bearer {op.token}"
    url = f"http://127.0.0.1:{op.port or port}{op.path}"
    request = urllib.request.Request(url, data=op.body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def start_server(
    env: dict[str, str], logs: Path, port: int, *options: str, workers: int = 1
) -> subprocess.Popen:
    """gunicorn as deployed (gunicorn.conf.py, plus `options`), once it answers with
    `workers` workers; stopped again if it does not, or on Ctrl-C while it starts."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            sys.exit(f"Port {port} is taken: pass --port.")
    log = (logs / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "backend.asgi:application",
            "-c",
            "gunicorn.conf.py",
            *options,
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                sys.exit(f"gunicorn exited: see {logs / 'gunicorn.log'}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    pass
            except OSError:
                time.sleep(0.3)
                continue
            if len(workers_of(server.pid)) >= workers:
                return server
            time.sleep(0.3)
        sys.exit(f"gunicorn did not answer within 60 s: see {logs / 'gunicorn.log'}")
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


def workers_of(master: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            pids.append(int(stat.parent.name))
    return sorted(pids)


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def wrk(port: int, op: Operation, seconds: int, args: argparse.Namespace, tmp: Path) -> dict:
    body = tmp / f"body-{abs(hash(op.body))}.json"
    body.write_bytes(op.body)
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
        f"http://127.0.0.1:{op.port or port}{op.path}",
    ]
    env = {**os.environ, "BENCH_BODY": str(body), "BENCH_TOKEN": op.token or ""}
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+(?:us|ms|s|m))\s*$", out, re.M))

    def ms(text: str) -> float:
        number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
        return float(number) * UNITS[unit]

    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        errors += sum(int(n) for n in match.groups())
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms(latency["50"]),
        "p99": ms(latency["99"]),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "errors": errors,
    }


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


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


def table(baselines: list[Operation], ops: list[Operation]) -> str:
    head = (
        "| operation | req/s | p50 ms | p99 ms | SQL/request | response bytes "
        "| req/s vs baseline | p50 vs baseline | errors |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    rows = []
    for baseline in baselines:
        rows.append(
            f"| {baseline.label} | {median([r['rps'] for r in baseline.rounds]):,.0f} "
            f"| {median([r['p50'] for r in baseline.rounds]):.1f} "
            f"| {median([r['p99'] for r in baseline.rounds]):.1f} "
            f"| {baseline.sql} | {baseline.bytes:,} | 1.00 | 1.00 "
            f"| {sum(r['errors'] for r in baseline.rounds)} |"
        )
    for op in ops:
        paired = [r["paired"] for r in op.rounds]
        rps = median([r["rps"] for r in op.rounds])
        p50 = median([r["p50"] for r in op.rounds])
        # Each round's ratio is to the baseline round run just before it (drift cancels).
        rps_ratio = median([r["rps"] / b["rps"] for r, b in zip(op.rounds, paired, strict=True)])
        p50_ratio = median([r["p50"] / b["p50"] for r, b in zip(op.rounds, paired, strict=True)])
        p99 = median([r["p99"] for r in op.rounds])
        errors = sum(r["errors"] for r in op.rounds)
        mark = "" if op.baseline is baselines[0] else " (vs the Catalog view)"
        rows.append(
            f"| {op.label}{mark} | {rps:,.0f} | {p50:.1f} | {p99:.1f} | {op.sql} "
            f"| {op.bytes:,} | {rps_ratio:.2f} | {p50_ratio:.2f} | {errors} |"
        )
    return head + "\n" + "\n".join(rows)


def write_results(section: str, users: int) -> None:
    begin, end = markers(users)
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if begin not in text or end not in text:
        text = text.rstrip() + "\n\n" + begin + "\n" + end + "\n"
    before, rest = text.split(begin, 1)
    _, after = rest.split(end, 1)
    RESULTS.write_text(before + begin + "\n" + section.strip() + "\n" + end + after)


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
    executed_port = args.port + 1 if args.executed else None
    baselines, ops = operations(set(args.only.split(",")) if args.only else None, executed_port)
    count_sql([*baselines, *ops])
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    print(f"gunicorn ({args.workers} uvicorn workers) on 127.0.0.1:{args.port}; logs in {tmp}")
    server = start_server(env, tmp, args.port, workers=args.workers)
    executed = None
    if executed_port is not None:
        (tmp / "executed").mkdir()
        executed_env = {**env, "BIND": f"127.0.0.1:{executed_port}"}
        executed_env["GRAPHQL_COMPILED_OPERATIONS"] = "false"
        try:
            executed = start_server(
                executed_env, tmp / "executed", executed_port, workers=args.workers
            )
        except BaseException:
            stop_server(server)
            raise
    equality: dict[str, str] = {}
    try:
        for op in [*baselines, *ops]:
            content = post(args.port, op)
            op.bytes = len(content)
            parsed = json.loads(content)
            if parsed.get("errors"):
                sys.exit(f"{op.label} answered errors: {parsed['errors']}")
            if op.same_answer:
                base = post(args.port, op.baseline)
                if base == content:
                    equality[op.label] = f"byte-for-byte equal ({len(content):,} bytes)"
                elif json.loads(base) == parsed:
                    equality[op.label] = "equal after parsing, NOT byte-for-byte"
                else:
                    equality[op.label] = "DIFFERENT (the baseline does not answer the same data)"
                print(f"{op.label} vs its baseline: {equality[op.label]}")
        for op in [*baselines, *ops]:  # warm-up: caches, connections, parsed documents
            wrk(args.port, op, 2, args, tmp)
        for op in ops:
            for n in range(args.rounds):
                b = wrk(args.port, op.baseline, args.duration, args, tmp)
                op.baseline.rounds.append(b)
                r = wrk(args.port, op, args.duration, args, tmp)
                r["paired"] = b
                op.rounds.append(r)
                print(
                    f"  {op.label:34} round {n + 1}: baseline {b['rps']:8.1f} req/s"
                    f" p50 {b['p50']:7.1f} ms | graphql {r['rps']:8.1f} req/s"
                    f" p50 {r['p50']:7.1f} ms"
                )
        profile_text = ""
        if args.profile and ops and ops[0].name == "AdminUsersWithOrders":
            print(f"profiling the workers for {args.profile} s under AdminUsersWithOrders ...")
            profile_text = profile(server, args.port, ops[0], args.profile, args, tmp)
    finally:
        stop_server(server)
        if executed is not None:
            stop_server(executed)

    info = machine()
    result = table(baselines, ops)
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
        f"- Server: gunicorn + {args.workers} uvicorn workers, `bench.settings` "
        "(production, DEBUG off), "
        f"PostgreSQL `{args.database}`, Redis cache. Load: {info['wrk']}, {args.threads} thread, "
        f"{args.connections} connections, {args.rounds} rounds x {args.duration} s per side, "
        "baseline and operation interleaved (A B A B ...).",
        "- Operations sent by id (`documentId`), answered by their compiled plans, except "
        "`AdminUsers (last 20)` (paging backwards: no trusted document, sent as text)"
        + (
            "; `(executed)`: the same on a second server, GRAPHQL_COMPILED_OPERATIONS=false."
            if args.executed
            else "."
        ),
        *(f"- {label} vs its baseline: {verdict}." for label, verdict in equality.items()),
        "- req/s, p50, p99: medians over the rounds. Ratios: median over rounds of the operation's "
        "value divided by the baseline round run just before it. SQL/request: whole request "
        "(the Bearer token's user lookup included), counted once in-process.",
        "",
        result,
    ]
    if profile_text:
        section += [
            "",
            f"### py-spy: the workers under AdminUsersWithOrders ({args.profile} s)",
            "",
            profile_text,
        ]
    text = "\n".join(section)
    print()
    print(text)
    if not args.no_write:
        write_results(text, users)
        print(f"\nwrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
