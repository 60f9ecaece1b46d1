"""A scripted permessage-deflate peer on Python's `websockets` (Debian python3-websockets), client or server.

Usage: websockets_deflate_peer.py --role client --url ws://... --deflate '{"server_no_context_takeover": true, ...}' [--echo]
       websockets_deflate_peer.py --role server --deflate '{...}' [--echo]
       --deflate default    the library's own default factory (compression="deflate")
       --deflate '{...}'    ClientPerMessageDeflateFactory / ServerPerMessageDeflateFactory(**json)

Commands and events: as websockets_peer.py (see peer_common.py), whose Session and command loop
this script reuses; in addition the "open" event carries
  "header": the Sec-WebSocket-Extensions value of the handshake response (None: none),
  "offer":  the Sec-WebSocket-Extensions value of the request (None: none),
  "deflate": the negotiated PerMessageDeflate parameters as the library sees them (None: none).
"""
import asyncio
import json
import sys

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, ServerPerMessageDeflateFactory

import websockets_peer as base
from peer_common import emit, parse_args


def split_argv(argv):
    """Takes --deflate out of argv (peer_common.parse_args does not know it)."""
    rest, deflate = [], "default"
    i = 0
    while i < len(argv):
        if argv[i] == "--deflate":
            deflate = argv[i + 1]
            i += 2
        else:
            rest.append(argv[i])
            i += 1
    return rest, (None if deflate == "default" else json.loads(deflate))


def deflate_state(ws):
    exts = ws.protocol.extensions if base.MODERN else ws.extensions
    for e in exts:
        if e.name == "permessage-deflate":
            return {
                "remote_no_context_takeover": e.remote_no_context_takeover,
                "local_no_context_takeover": e.local_no_context_takeover,
                "remote_max_window_bits": e.remote_max_window_bits,
                "local_max_window_bits": e.local_max_window_bits,
            }
    return None


def handshake_headers(ws):
    if base.MODERN:
        return ws.request.headers, ws.response.headers
    return ws.request_headers, ws.response_headers


def open_event(ws, conn_id):
    request, response = handshake_headers(ws)
    return {"ev": "open", "conn": conn_id, "subprotocol": ws.subprotocol, "extensions": base.extension_names(ws),
            "header": response.get("Sec-WebSocket-Extensions"), "offer": request.get("Sec-WebSocket-Extensions"),
            "deflate": deflate_state(ws)}


async def client(args, params):
    kwargs = dict(max_size=base.MAX_SIZE, ping_interval=None, close_timeout=5, open_timeout=5)
    if params is not None:
        kwargs["extensions"] = [ClientPerMessageDeflateFactory(**params)]
    if not base.MODERN:
        kwargs["create_protocol"] = base.ClientProto
    ws = await base.ws_connect(args["url"], **kwargs)
    session = base.Session(ws, 0, args["echo"])
    emit(open_event(ws, 0))

    async def get_session():
        return session

    commands = asyncio.ensure_future(base.drive(get_session, asyncio.Event()))
    await session.run()
    commands.cancel()


async def server(args, params):
    state = {"next": 0, "current": None, "ready": asyncio.Event()}

    async def handler(ws, path=None):
        conn_id = state["next"]
        state["next"] += 1
        session = base.Session(ws, conn_id, args["echo"])
        state["current"] = session
        state["ready"].set()
        emit(open_event(ws, conn_id))
        await session.run()

    kwargs = dict(max_size=base.MAX_SIZE, ping_interval=None, close_timeout=5)
    if params is not None:
        kwargs["extensions"] = [ServerPerMessageDeflateFactory(**params)]
    if not base.MODERN:
        kwargs["create_protocol"] = base.ServerProto
    srv = await base.ws_serve(handler, "127.0.0.1", 0, **kwargs)
    emit({"ev": "listening", "port": srv.sockets[0].getsockname()[1]})

    async def get_session():
        await state["ready"].wait()
        return state["current"]

    await base.drive(get_session, asyncio.Event())
    srv.close()
    await srv.wait_closed()


def main():
    argv, params = split_argv(sys.argv[1:])
    args = parse_args(argv)
    emit({"ev": "hello", "library": "websockets", "version": websockets.__version__, "api": "asyncio" if base.MODERN else "legacy"})
    try:
        asyncio.run(client(args, params) if args["role"] == "client" else server(args, params))
    except Exception as exc:  # reported, and a non-zero exit status the test checks
        emit({"ev": "error", "msg": repr(exc)})
        sys.exit(1)


if __name__ == "__main__":
    main()
