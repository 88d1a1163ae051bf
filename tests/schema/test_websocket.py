"""The WebSocket view (schema/websocket.py) from a client's side: what it accepts, what it
refuses and how, before and after `connection_init`."""

import asyncio
import json
import sys

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

from backend.asgi import application
from schema import websocket
from schema.core import compat
from tests.factories import PASSWORD, UserFactory

PROTOCOL = ["graphql-transport-ws"]


# A WebSocket that closes hands its database connection back (the consumer's last step): a test
# that runs one to its close touches the database.
closes_a_db_connection = pytest.mark.django_db


def communicator(path: str = "/graphql/", headers=None) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=headers, subprotocols=PROTOCOL)


@closes_a_db_connection
@pytest.mark.parametrize("path", ["/graphql", "/graphql/"])
def test_the_graphql_path_is_accepted_with_the_protocol_it_offered(path):
    async def scenario():
        ws = communicator(path)
        connected, subprotocol = await ws.connect()
        await ws.disconnect()
        return connected, subprotocol

    assert async_to_sync(scenario)() == (True, "graphql-transport-ws")


@pytest.mark.parametrize("path", ["/", "/graphql/x", "/admin/", "/ws/graphql"])
def test_other_paths_are_refused_before_the_handshake_completes(path):
    async def scenario():
        ws = communicator(path)
        connected, code = await ws.connect()
        return connected, code

    assert async_to_sync(scenario)() == (False, 1000)


@closes_a_db_connection
@pytest.mark.parametrize(
    "origin, accepted",
    [
        ("http://testserver", True),  # the page's own origin (Host: testserver)
        ("https://evil.example", False),  # another site's page, with the user's cookies
        ("null", False),
    ],
)
def test_a_browser_page_on_another_origin_is_refused(settings, origin, accepted):
    settings.CORS_ALLOWED_ORIGINS = []
    headers = [(b"origin", origin.encode()), (b"host", b"testserver")]

    async def scenario():
        ws = communicator(headers=headers)
        connected, _ = await ws.connect()
        if connected:
            await ws.disconnect()
        return connected

    assert async_to_sync(scenario)() is accepted


@closes_a_db_connection
@pytest.mark.parametrize(
    "frame, code",
    [
        ({"bytes_data": b"\x00\xff\x80binary"}, 4400),
        ({"text_data": "{not json"}, 4400),
        ({"text_data": '{"type": "connection_init", "payload": "\\ud800"}'}, 4400),
        ({"text_data": '{"type": "no-such-message"}'}, 4400),
        ({"text_data": "[]"}, 4400),
    ],
)
def test_hostile_frames_close_the_connection_with_the_protocols_code(frame, code):
    async def scenario():
        ws = communicator()
        assert (await ws.connect())[0]
        await ws.send_to(**frame)
        closed = await ws.receive_output(timeout=2)
        await ws.wait()
        return closed

    closed = async_to_sync(scenario)()
    assert closed["type"] == "websocket.close"
    assert closed["code"] == code


@pytest.mark.django_db(transaction=True)
def test_the_session_of_a_signed_in_page_authenticates_without_a_token():
    user = UserFactory()
    client = Client()
    assert client.login(email=user.email, password=PASSWORD)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def scenario(headers):
        ws = communicator(headers=headers)
        assert (await ws.connect())[0]
        await ws.send_json_to({"type": "connection_init", "payload": {}})
        answer = await ws.receive_output(timeout=2)
        await ws.disconnect()
        return answer

    acknowledged = async_to_sync(scenario)([(b"cookie", cookie)])
    assert acknowledged["type"] == "websocket.send"
    assert json.loads(acknowledged["text"])["type"] == "connection_ack"
    forged = async_to_sync(scenario)([(b"cookie", b"sessionid=not-a-session")])
    assert forged["type"] == "websocket.close"
    assert forged["code"] == 4403


def test_compacting_the_loops_tables_keeps_every_live_task_generator_and_file():
    async def generator():
        yield 1
        await asyncio.sleep(60)
        yield 2

    async def scenario():
        loop = asyncio.get_running_loop()
        finished = [asyncio.create_task(asyncio.sleep(0)) for _ in range(2000)]
        await asyncio.gather(*finished)
        for _ in range(2000):
            await anext(generator())
        suspended = generator()
        await anext(suspended)
        pending = asyncio.create_task(asyncio.sleep(60))
        _reader, writer = await asyncio.open_connection(*await _listening(loop))
        watched = set(loop._selector.get_map())
        transports = dict(loop._transports)
        before = set(asyncio.all_tasks())
        compat.compact_event_loop_tables(loop)
        after = {
            "tasks": set(asyncio.all_tasks()),
            "watched": set(loop._selector.get_map()),
            "transports": dict(loop._transports),
            "generators": set(loop._asyncgens),
        }
        pending.cancel()
        writer.close()
        await suspended.aclose()
        return before, after, pending, suspended, watched, transports

    before, after, pending, suspended, watched, transports = asyncio.run(scenario())
    assert pending in after["tasks"]
    assert after["tasks"] == before
    assert after["watched"] == watched and watched
    assert after["transports"] == transports and transports
    # Still known to the loop: `shutdown_asyncgens` closes it when the loop ends.
    assert suspended in after["generators"]


@pytest.mark.parametrize("table", [set(range(100_000)), dict.fromkeys(range(100_000))])
def test_a_table_compacted_in_place_keeps_its_entries_and_gives_back_its_peak(table):
    peak = sys.getsizeof(table)
    for key in range(3, 100_000):
        table.pop(key) if isinstance(table, dict) else table.discard(key)
    held = table

    compat.compact_in_place(table)

    assert table is held
    assert list(table) == [0, 1, 2]
    assert sys.getsizeof(table) < peak / 100


def test_the_reclaim_waits_for_closes_to_settle_but_not_for_ever():
    reclaim = websocket._Reclaim()
    reclaim.reclaimed_at = 0.0
    reclaim.first_closed_at, reclaim.closed_at = 100.0, 101.0
    assert reclaim.due() == 101.0 + reclaim.QUIET
    # Closes that keep coming: at the latest MAX_DELAY after the first.
    reclaim.closed_at = 129.5
    assert reclaim.due() == 100.0 + reclaim.MAX_DELAY
    # Never twice within INTERVAL.
    reclaim.closed_at, reclaim.reclaimed_at = 101.0, 99.5
    assert reclaim.due() == 99.5 + reclaim.INTERVAL


def test_the_reclaim_lets_go_of_the_names_the_attribute_cache_kept():
    class Node:
        pass

    name = "as_" + "".join(["postgresql"])  # made at run time, as Django's compile() makes it
    before = sys.getrefcount(name)
    getattr(Node, name, None)
    assert sys.getrefcount(name) > before  # the attribute cache holds it (once per type asked)
    reclaim = websocket._Reclaim()
    reclaim.due = lambda: 0.0
    asyncio.run(reclaim._run())
    assert sys.getrefcount(name) == before


def test_the_workers_websocket_protocol_hands_uvicorns_tables_to_the_reclaim():
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    from backend.gunicorn_worker import WebSocketProtocol

    state = ServerState()
    loop = asyncio.new_event_loop()
    try:
        WebSocketProtocol(Config(app=application), state, {}, _loop=loop)
        WebSocketProtocol(Config(app=application), state, {}, _loop=loop)
    finally:
        loop.close()
    ours = {id(state.connections), id(state.tasks)}
    held = [id(table) for table in websocket._reclaim.server_tables if id(table) in ours]
    assert held == [id(state.connections), id(state.tasks)]  # each once


async def _listening(loop) -> tuple[str, int]:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    return server.sockets[0].getsockname()[:2]
