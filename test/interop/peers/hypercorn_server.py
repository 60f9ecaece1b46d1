"""Hypercorn (Debian python3-hypercorn; an ASGI server speaking RFC 8441 over h2) as a server for
our client. Usage: hypercorn_server.py <cert.pem> <key.pem> [--trixie] [--quic]

--trixie runs Hypercorn 0.17 (trixie's, unpacked with aioquic by scripts/peers/aioquic.sh) instead
of bookworm's 0.13. --quic implies it and also listens on UDP (quic_bind) on the same port number
(RFC 9220 on its h3 stack); "listening" then carries "quic": true. "listening" names the version
loaded ("hypercorn": "0.17" or "0.13").

Listens on 127.0.0.1 on a port the kernel picks, with TLS (ALPN h2 and http/1.1) when a
certificate is given, else cleartext (Hypercorn takes h2 by prior knowledge there). The ASGI app:
  /refuse        403 with the body "nope" (the ASGI websocket denial response)
  /server-close  accepts, sends "bye soon", closes with 4002 "server bye"
  anything else  accepts (the first offered subprotocol, if any) and echoes every message as is
Events (stdout, JSON lines): {"ev": "listening", "port": p}; {"ev": "request", "path", "query",
"http_version", "scheme", "subprotocols", "headers"} per WebSocket; {"ev": "message", ...} as in
peer_common.describe; {"ev": "disconnect", "path", "code"}; {"ev": "error", "msg"}.
Ends when stdin closes.
"""
import asyncio
import glob
import os
import socket
import sys

TRIXIE_SITE = None
if "--quic" in sys.argv or "--trixie" in sys.argv:
    # Hypercorn 0.17 and aioquic from scripts/peers/aioquic.sh, ahead of bookworm's Hypercorn 0.13.
    found = sorted(glob.glob(os.path.expanduser("~/.cache/sockudo-ws/peers/aioquic-*/ok")), key=os.path.getmtime)
    if found:
        TRIXIE_SITE = os.path.join(os.path.dirname(found[-1]), "site")
        sys.path.insert(0, TRIXIE_SITE)

import hypercorn
from hypercorn.asyncio import serve
from hypercorn.config import Config

from peer_common import describe, emit


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "websocket":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    path = scope["path"]
    emit({
        "ev": "request", "path": path, "query": scope["query_string"].decode("latin-1"),
        "http_version": scope["http_version"], "scheme": scope["scheme"], "subprotocols": scope["subprotocols"],
        "headers": {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
    })
    connect = await receive()
    assert connect["type"] == "websocket.connect", connect
    if path == "/refuse":
        await send({"type": "websocket.http.response.start", "status": 403, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "websocket.http.response.body", "body": b"nope"})
        return
    offered = scope["subprotocols"]
    await send({"type": "websocket.accept", "subprotocol": offered[0] if offered else None})
    if path == "/server-close":
        await send({"type": "websocket.send", "text": "bye soon"})
        await send({"type": "websocket.close", "code": 4002, "reason": "server bye"})
        return
    n = 0
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            emit({"ev": "disconnect", "path": path, "code": message.get("code")})
            return
        data = message.get("bytes")
        if data is None:
            data = message["text"]
        emit(describe(data, n))
        n += 1
        await send({"type": "websocket.send", "bytes": data} if isinstance(data, bytes) else {"type": "websocket.send", "text": data})


async def main():
    quic = "--quic" in sys.argv
    args = [a for a in sys.argv[1:] if a not in ("--quic", "--trixie")]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.setblocking(False)
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.accesslog = None
    config.errorlog = "-"
    config.graceful_timeout = 1
    if len(args) >= 2:
        config.certfile, config.keyfile = args[0], args[1]
    if quic:
        # Bound here, before "listening" is printed, so no client finds the UDP port closed.
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", sock.getsockname()[1]))
        udp.setblocking(False)
        config.quic_bind = [f"fd://{udp.fileno()}"]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_reader(sys.stdin.fileno(), lambda: sys.stdin.readline() or stop.set())
    trixie = TRIXIE_SITE is not None and hypercorn.__file__.startswith(TRIXIE_SITE)
    emit({"ev": "listening", "port": sock.getsockname()[1], "quic": quic, "hypercorn": "0.17" if trixie else "0.13"})
    await serve(app, config, shutdown_trigger=stop.wait)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:  # a bug in the script: report it rather than die silently
        emit({"ev": "error", "msg": repr(e)})
        raise
