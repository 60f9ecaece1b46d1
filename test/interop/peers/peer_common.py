"""Shared by the scripted Python peers (websockets_peer.py, wsproto_peer.py).

The test drives a peer with JSON lines on stdin and reads JSON lines (events) from stdout.

Commands (stdin), applied to the current connection:
  {"op": "send", "text": s, "repeat": n?, "fragments": n?, "ping_between": s?}
  {"op": "send", "hex": h, "repeat": n?, "fragments": n?, "ping_between": s?}
  {"op": "send", "pattern": size, "fragments": n?}      binary, byte i = i & 255
  {"op": "burst", "count": n, "sizes": [..]}          n text messages "<i>:" + "é" * sizes[i % len], back to back
  {"op": "ping", "data": s}
  {"op": "close", "code": c, "reason": r}               (wsproto: code null sends a close frame without a code)
  {"op": "exit"}
Events (stdout):
  {"ev": "listening", "port": p}                          server role, bound to 127.0.0.1:0
  {"ev": "request", "path": ..., "headers": {...}}         server role, the upgrade request
  {"ev": "open", "conn": i, "subprotocol": ..., "extensions": [...]}
  {"ev": "message", "conn": i, "type": "text"|"binary", "len": bytes, "sha256": hex, "frames": n?,
   "text": s (text up to 4096 bytes), "hex": h (binary up to 4096 bytes)}
  {"ev": "ping"|"pong", "conn": i, "hex": h}
  {"ev": "fail", "conn": i, "code": c, "reason": r}        the library detected a protocol violation
  {"ev": "closed", "conn": i, "code": c, "reason": r, ...} the connection is closed
  {"ev": "log", "level": l, "msg": m}                      library warnings/errors
  {"ev": "error", "msg": m}                                a bug in the script or the exchange
"""
import asyncio
import hashlib
import json
import sys

SMALL = 4096


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def describe(data, conn, frames=None):
    if isinstance(data, str):
        raw = data.encode("utf-8")
        d = {"ev": "message", "conn": conn, "type": "text", "len": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
        if len(raw) <= SMALL:
            d["text"] = data
    else:
        raw = bytes(data)
        d = {"ev": "message", "conn": conn, "type": "binary", "len": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
        if len(raw) <= SMALL:
            d["hex"] = raw.hex()
    if frames is not None:
        d["frames"] = frames
    return d


def payload(cmd):
    """The message a "send" command describes: str (text) or bytes (binary)."""
    repeat = cmd.get("repeat", 1)
    if "text" in cmd:
        return cmd["text"] * repeat
    if "hex" in cmd:
        return bytes.fromhex(cmd["hex"]) * repeat
    if "pattern" in cmd:
        size = cmd["pattern"]
        return (bytes(range(256)) * (size // 256 + 1))[:size]
    raise ValueError("send needs text, hex or pattern")


def burst(cmd):
    sizes = cmd["sizes"]
    return ["%d:%s" % (i, "\u00e9" * sizes[i % len(sizes)]) for i in range(cmd["count"])]


def split(data, n):
    """n nearly equal fragments (text split between code points)."""
    if n <= 1:
        return [data]
    step = -(-len(data) // n)
    return [data[i:i + step] for i in range(0, len(data), step)] or [data[:0]]


async def stdin_lines():
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            return
        line = line.strip()
        if line:
            yield json.loads(line)


def parse_args(argv, tls=False):
    """--role client|server --url ws://... --echo --protocols a,b --select p --offer-deflate --greet text
    --cafile f --certfile f --keyfile f (only when the peer passes tls=True: websockets_peer.py)"""
    args = {"role": None, "url": None, "echo": False, "protocols": [], "select": None, "offer_deflate": False, "greet": None,
            "cafile": None, "certfile": None, "keyfile": None}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--role":
            args["role"] = argv[i + 1]
            i += 1
        elif a == "--url":
            args["url"] = argv[i + 1]
            i += 1
        elif a == "--protocols":
            args["protocols"] = [p for p in argv[i + 1].split(",") if p]
            i += 1
        elif a == "--greet":
            args["greet"] = argv[i + 1]
            i += 1
        elif a == "--select":
            args["select"] = argv[i + 1]
            i += 1
        elif tls and a in ("--cafile", "--certfile", "--keyfile"):
            args[a[2:]] = argv[i + 1]
            i += 1
        elif a == "--echo":
            args["echo"] = True
        elif a == "--offer-deflate":
            args["offer_deflate"] = True
        else:
            raise SystemExit("unknown argument " + a)
        i += 1
    if args["role"] not in ("client", "server"):
        raise SystemExit("--role client|server is required")
    if args["role"] == "client" and not args["url"]:
        raise SystemExit("--url is required for the client role")
    return args
