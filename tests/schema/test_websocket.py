"""The WebSocket view (schema/websocket.py) from a client's side: what it accepts, what it
refuses and how, before and after `connection_init`."""

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

from backend.asgi import application
from schema.core import compat
from tests.factories import PASSWORD, UserFactory

PROTOCOL = ["graphql-transport-ws"]


def communicator(path: str = "/graphql/", headers=None) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=headers, subprotocols=PROTOCOL)


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


def test_compacting_the_loops_tables_keeps_every_live_task_and_file():
    async def scenario():
        loop = asyncio.get_running_loop()
        finished = [asyncio.create_task(asyncio.sleep(0)) for _ in range(2000)]
        await asyncio.gather(*finished)
        pending = asyncio.create_task(asyncio.sleep(60))
        _reader, writer = await asyncio.open_connection(*await _listening(loop))
        watched = set(loop._selector.get_map())
        before = set(asyncio.all_tasks())
        compat.compact_event_loop_tables(loop)
        after = set(asyncio.all_tasks())
        still_watched = set(loop._selector.get_map())
        pending.cancel()
        writer.close()
        return before, after, pending, watched, still_watched

    before, after, pending, watched, still_watched = asyncio.run(scenario())
    assert pending in after
    assert after == before
    assert still_watched == watched and watched


async def _listening(loop) -> tuple[str, int]:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    return server.sockets[0].getsockname()[:2]
