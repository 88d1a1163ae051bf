"""gunicorn's uvicorn worker, leaving the peer address as the connection gives it.

uvicorn by default replaces the peer with an X-Forwarded-For entry whenever the peer is in
`forwarded_allow_ips` (127.0.0.1 unless told otherwise), so a client on the same host could
choose its own address. The app reads that header itself, behind exactly
`TRUSTED_PROXY_COUNT` proxies (schema/core/client_address.py). Django reads X-Forwarded-Proto
itself as well (`SECURE_PROXY_SSL_HEADER`).

WebSocket messages go uncompressed: a subscription's events are a few hundred bytes, and
permessage-deflate keeps a compressor and a decompressor for every connection, most of the
memory an idle subscriber costs; and the handshake's parsed request and response, which uvicorn
keeps for the life of the connection, are let go once the connection is accepted. uvicorn's
sets of connections and tasks are compacted with the process's own tables once connections
have closed (schema/websocket.py).
"""

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn_worker import UvicornWorker as _UvicornWorker


class WebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from schema.websocket import compact_after_closes  # gunicorn loads this before Django

        compact_after_closes(self.connections, self.tasks)

    async def send(self, message) -> None:
        await super().send(message)
        if self.handshake_complete:
            # Read only until the handshake's answer is written.
            self.request = self.response = None


class UvicornWorker(_UvicornWorker):
    CONFIG_KWARGS = {
        **_UvicornWorker.CONFIG_KWARGS,
        "proxy_headers": False,
        "ws_per_message_deflate": False,
        "ws": WebSocketProtocol,
    }
