"""A graphql-transport-ws client over the ASGI app, in process, for the schema's tests."""

from channels.testing import WebsocketCommunicator

from backend.asgi import application


async def signed_in(token: str, headers: list[tuple[bytes, bytes]] | None = None):
    """A graphql-transport-ws connection past `connection_ack`."""
    ws = WebsocketCommunicator(
        application, "/graphql/", headers=headers, subprotocols=["graphql-transport-ws"]
    )
    assert (await ws.connect())[0]
    await ws.send_json_to(
        {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
    )
    assert (await ws.receive_json_from())["type"] == "connection_ack"
    return ws
