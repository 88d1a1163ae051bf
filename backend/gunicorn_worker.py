"""gunicorn's uvicorn worker, leaving the peer address as the connection gives it.

uvicorn by default replaces the peer with an X-Forwarded-For entry whenever the peer is in
`forwarded_allow_ips` (127.0.0.1 unless told otherwise), so a client on the same host could
choose its own address. The app reads that header itself, behind exactly
`TRUSTED_PROXY_COUNT` proxies (schema/core/client_address.py). Django reads X-Forwarded-Proto
itself as well (`SECURE_PROXY_SSL_HEADER`).

WebSocket messages go uncompressed: a subscription's events are a few hundred bytes, and
permessage-deflate keeps a compressor and a decompressor for every connection, most of the
memory an idle subscriber costs.
"""

from uvicorn_worker import UvicornWorker as _UvicornWorker


class UvicornWorker(_UvicornWorker):
    CONFIG_KWARGS = {
        **_UvicornWorker.CONFIG_KWARGS,
        "proxy_headers": False,
        "ws_per_message_deflate": False,
    }
