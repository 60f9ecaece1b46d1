"""A scripted peer on Python's `websockets` (Debian python3-websockets), client or server role.

Usage: websockets_peer.py --role client --url ws://127.0.0.1:PORT/path [--protocols a,b] [--echo]
       websockets_peer.py --role server [--select proto] [--echo]
TLS (optional): client with a wss:// URL: [--cafile ca.pem] (trust only it; else the system roots)
[--certfile c.pem --keyfile k.pem] (a client certificate); server: --certfile c.pem --keyfile k.pem
serves wss://, [--cafile ca.pem] then requires a client certificate signed by it. With TLS the
"open" event carries "tls": {version, cipher, alpn, peer} (peer: the verified peer's CN or null).
Commands and events: see peer_common.py. The server binds 127.0.0.1 on an ephemeral port and
prints it; it serves connections one after another until stdin ends or {"op": "exit"}. The client
exits 0 once its connection is closed. websockets >= 13 uses the asyncio API
(websockets.asyncio.*), older versions the legacy API (Debian 12 ships 10.4).
"""
import asyncio
import logging
import ssl
import sys

import websockets
from websockets.exceptions import ConnectionClosed

from peer_common import burst, describe, emit, parse_args, payload, split, stdin_lines

VERSION = tuple(int(x) for x in websockets.__version__.split(".")[:2] if x.isdigit())
MODERN = VERSION >= (13, 0)
MAX_SIZE = 1 << 25  # the default (1 MiB) would refuse a 1 MiB + header message


class LogToEvents(logging.Handler):
    def emit(self, record):
        emit({"ev": "log", "level": record.levelname, "msg": record.getMessage()})


handler = LogToEvents(level=logging.WARNING)
logging.getLogger("websockets").addHandler(handler)
logging.getLogger("websockets").setLevel(logging.WARNING)
logging.getLogger("asyncio").addHandler(handler)

if MODERN:
    from websockets.asyncio.client import connect as ws_connect
    from websockets.asyncio.server import serve as ws_serve
else:
    from websockets.legacy.client import WebSocketClientProtocol, connect as ws_connect
    from websockets.legacy.server import WebSocketServerProtocol, serve as ws_serve

    def reporting(base):
        class Reporting(base):
            """Reports every failure the library detects (1002 protocol error, 1007, 1009 ...)."""

            conn_id = 0

            def fail_connection(self, code=1006, reason=""):
                if code != 1006 or self.close_rcvd is None:
                    emit({"ev": "fail", "conn": self.conn_id, "code": code, "reason": reason})
                return super().fail_connection(code, reason)

        return Reporting

    ClientProto = reporting(WebSocketClientProtocol)
    ServerProto = reporting(WebSocketServerProtocol)


def client_ssl(args):
    """The client's SSLContext for a wss:// URL (None for ws://, which takes no TLS options)."""
    if not args["url"].startswith("wss://"):
        if args["cafile"] or args["certfile"]:
            raise SystemExit("--cafile/--certfile need a wss:// URL")
        return None
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=args["cafile"])
    if args["certfile"]:
        ctx.load_cert_chain(args["certfile"], args["keyfile"])
    return ctx


def server_ssl(args):
    """The server's SSLContext when --certfile is given (None: plain ws://)."""
    if not args["certfile"]:
        if args["cafile"]:
            raise SystemExit("--cafile needs --certfile for the server role")
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args["certfile"], args["keyfile"])
    if args["cafile"]:
        ctx.load_verify_locations(cafile=args["cafile"])
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def tls_info(ws):
    """What the TLS layer negotiated on this connection, or None without TLS."""
    obj = ws.transport.get_extra_info("ssl_object")
    if obj is None:
        return None
    cert = obj.getpeercert() or {}
    cn = [v for rdn in cert.get("subject", ()) for (k, v) in rdn if k == "commonName"]
    return {"version": obj.version(), "cipher": obj.cipher()[0], "alpn": obj.selected_alpn_protocol(),
            "peer": cn[0] if cn else None}


def open_event(ws, conn_id):
    ev = {"ev": "open", "conn": conn_id, "subprotocol": ws.subprotocol, "extensions": extension_names(ws)}
    info = tls_info(ws)
    if info is not None:
        ev["tls"] = info
    return ev


def extension_names(ws):
    exts = ws.protocol.extensions if MODERN else ws.extensions
    return [e.name for e in exts]


class Session:
    def __init__(self, ws, conn_id, echo):
        self.ws = ws
        self.conn_id = conn_id
        self.echo = echo
        if not MODERN:
            ws.conn_id = conn_id

    async def run(self):
        try:
            async for message in self.ws:
                emit(describe(message, self.conn_id))
                if self.echo:
                    await self.ws.send(message)
        except ConnectionClosed:
            pass
        await self.ws.wait_closed()
        if MODERN:
            exc = getattr(self.ws.protocol, "parser_exc", None)
            if exc is not None:
                emit({"ev": "fail", "conn": self.conn_id, "code": 0, "reason": repr(exc)})
        ws = self.ws
        rcvd = ws.close_rcvd if not MODERN else ws.protocol.close_rcvd
        sent = ws.close_sent if not MODERN else ws.protocol.close_sent
        emit({
            "ev": "closed", "conn": self.conn_id, "code": ws.close_code, "reason": ws.close_reason,
            "rcvd": None if rcvd is None else {"code": rcvd.code, "reason": rcvd.reason},
            "sent": None if sent is None else {"code": sent.code, "reason": sent.reason},
        })

    async def command(self, cmd):
        op = cmd["op"]
        ws = self.ws
        if op == "send":
            data = payload(cmd)
            n = cmd.get("fragments", 1)
            if n <= 1:
                await ws.send(data)
                return
            parts = split(data, n)
            between = cmd.get("ping_between")

            async def fragments():
                for i, part in enumerate(parts):
                    yield part
                    if between is not None and i == 0:
                        await ws.ping(between.encode())

            await ws.send(fragments())
        elif op == "burst":
            for message in burst(cmd):
                await ws.send(message)
        elif op == "ping":
            data = cmd["data"].encode()
            waiter = await ws.ping(data)
            await asyncio.wait_for(waiter, 5)
            emit({"ev": "pong", "conn": self.conn_id, "hex": data.hex()})
        elif op == "close":
            await ws.close(cmd["code"], cmd.get("reason", ""))
        else:
            raise ValueError("unknown op " + op)


async def drive(get_session, commands_done):
    async for cmd in stdin_lines():
        if cmd["op"] == "exit":
            break
        session = await get_session()
        try:
            await session.command(cmd)
        except ConnectionClosed as exc:
            emit({"ev": "error", "msg": "command %s on a closed connection: %r" % (cmd["op"], exc)})
    commands_done.set()


async def client(args):
    kwargs = dict(max_size=MAX_SIZE, ping_interval=None, close_timeout=5, open_timeout=5)
    if args["protocols"]:
        kwargs["subprotocols"] = args["protocols"]
    if not MODERN:
        kwargs["create_protocol"] = ClientProto
    ctx = client_ssl(args)
    if ctx is not None:
        kwargs["ssl"] = ctx
    # compression="deflate" is the default: the offer must be declined by a server without it.
    ws = await ws_connect(args["url"], **kwargs)
    session = Session(ws, 0, args["echo"])
    emit(open_event(ws, 0))
    done = asyncio.Event()

    async def get_session():
        return session

    commands = asyncio.ensure_future(drive(get_session, done))
    await session.run()
    commands.cancel()


async def server(args):
    state = {"next": 0, "current": None, "ready": asyncio.Event()}

    async def handler(ws, path=None):
        conn_id = state["next"]
        state["next"] += 1
        if MODERN:
            req_path, headers = ws.request.path, ws.request.headers
        else:
            req_path, headers = ws.path, ws.request_headers
        offered = [p.strip() for v in headers.get_all("Sec-WebSocket-Protocol") for p in v.split(",") if p.strip()]
        emit({"ev": "request", "conn": conn_id, "path": req_path, "subprotocols": offered,
              "headers": {k.lower(): v for k, v in headers.raw_items()}})
        session = Session(ws, conn_id, args["echo"])
        state["current"] = session
        state["ready"].set()
        emit(open_event(ws, conn_id))
        if args["greet"] is not None:
            await ws.send(args["greet"])
        await session.run()

    kwargs = dict(max_size=MAX_SIZE, ping_interval=None, close_timeout=5)
    if args["select"]:
        kwargs["subprotocols"] = [args["select"]]
    if not MODERN:
        kwargs["create_protocol"] = ServerProto
    ctx = server_ssl(args)
    if ctx is not None:
        kwargs["ssl"] = ctx
    srv = await ws_serve(handler, "127.0.0.1", 0, **kwargs)
    port = srv.sockets[0].getsockname()[1]
    emit({"ev": "listening", "port": port, **({"tls": True} if ctx is not None else {})})

    async def get_session():
        await state["ready"].wait()
        return state["current"]

    await drive(get_session, asyncio.Event())
    srv.close()
    await srv.wait_closed()


def main():
    args = parse_args(sys.argv[1:], tls=True)
    emit({"ev": "hello", "library": "websockets", "version": websockets.__version__, "api": "asyncio" if MODERN else "legacy"})
    try:
        asyncio.run(client(args) if args["role"] == "client" else server(args))
    except Exception as exc:  # reported, and a non-zero exit status the test checks
        cause = exc.__cause__ or exc.__context__
        emit({"ev": "error", "msg": repr(exc), "cause": None if cause is None else repr(cause)})
        sys.exit(1)


if __name__ == "__main__":
    main()
