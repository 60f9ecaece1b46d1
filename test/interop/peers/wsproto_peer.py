"""A scripted peer on `wsproto` (Debian python3-wsproto; sans-IO), client or server role.

Usage: wsproto_peer.py --role client --url ws://127.0.0.1:PORT/path [--protocols a,b] [--offer-deflate] [--echo]
       wsproto_peer.py --role server [--select proto] [--echo]
Commands and events: see peer_common.py. wsproto does no I/O: this script moves the bytes between
an asyncio socket and the state machine. Messages are reassembled here from wsproto's partial
events, and "frames" counts the frames each message arrived in. A parse failure (wsproto reports
it as a CloseConnection while the state machine is still OPEN / LOCAL_CLOSING) is a "fail" event.
"""
import asyncio
import sys
from urllib.parse import urlsplit

import wsproto
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Ping, Pong, RejectConnection, RejectData,
                            Request, TextMessage)
from wsproto.extensions import PerMessageDeflate

from peer_common import burst, describe, emit, parse_args, payload, split, stdin_lines

READ = 1 << 16


class Session:
    def __init__(self, reader, writer, role, conn_id, args):
        self.reader = reader
        self.writer = writer
        self.client = role == "client"
        self.ws = WSConnection(ConnectionType.CLIENT if self.client else ConnectionType.SERVER)
        self.conn_id = conn_id
        self.args = args
        self.opened = asyncio.Event()
        self.closed = asyncio.Event()
        self.close_rcvd = None
        self.close_sent = None
        self.parts = []
        self.frames = 0
        self.pong_waiters = []

    def out(self, event):
        if isinstance(event, CloseConnection):
            self.close_sent = {"code": event.code, "reason": event.reason or ""}
        self.writer.write(self.ws.send(event))

    async def flush(self):
        await self.writer.drain()

    def start_client(self, url):
        u = urlsplit(url)
        target = (u.path or "/") + ("?" + u.query if u.query else "")
        exts = [PerMessageDeflate()] if self.args["offer_deflate"] else []
        self.out(Request(host=u.netloc, target=target, subprotocols=self.args["protocols"], extensions=exts))

    async def handle(self, event):
        if isinstance(event, Request):  # server role
            headers = {k.decode().lower(): v.decode() for k, v in event.extra_headers}
            emit({"ev": "request", "conn": self.conn_id, "path": event.target, "host": event.host,
                  "subprotocols": event.subprotocols, "headers": headers})
            select = self.args["select"]
            self.out(AcceptConnection(subprotocol=select if select in event.subprotocols else None))
            if self.args["greet"] is not None:  # leaves in the same write as the 101 response
                self.out(TextMessage(data=self.args["greet"]))
            emit({"ev": "open", "conn": self.conn_id, "subprotocol": select if select in event.subprotocols else None, "extensions": []})
            self.opened.set()
        elif isinstance(event, AcceptConnection):  # client role
            emit({"ev": "open", "conn": self.conn_id, "subprotocol": event.subprotocol, "extensions": [e.name for e in event.extensions]})
            self.opened.set()
        elif isinstance(event, (RejectConnection, RejectData)):
            emit({"ev": "error", "msg": "upgrade rejected: %r" % (event,)})
            self.closed.set()
        elif isinstance(event, (TextMessage, BytesMessage)):
            self.parts.append(event.data)
            if event.frame_finished:
                self.frames += 1
            if event.message_finished:
                data = "".join(self.parts) if isinstance(event, TextMessage) else b"".join(self.parts)
                emit(describe(data, self.conn_id, self.frames))
                self.parts, self.frames = [], 0
                if self.args["echo"] and self.ws.state is ConnectionState.OPEN:
                    self.out(TextMessage(data=data) if isinstance(data, str) else BytesMessage(data=data))
        elif isinstance(event, Ping):
            emit({"ev": "ping", "conn": self.conn_id, "hex": bytes(event.payload).hex()})
            if self.ws.state is ConnectionState.OPEN:
                self.out(event.response())
        elif isinstance(event, Pong):
            emit({"ev": "pong", "conn": self.conn_id, "hex": bytes(event.payload).hex()})
            waiters, self.pong_waiters = self.pong_waiters, []
            for w in waiters:
                if not w.done():
                    w.set_result(None)
        elif isinstance(event, CloseConnection):
            state = self.ws.state
            if state is ConnectionState.REMOTE_CLOSING:  # the peer started the closing handshake: answer it
                self.close_rcvd = {"code": event.code, "reason": event.reason or ""}
                self.out(event.response())
            elif state is ConnectionState.CLOSED:  # the answer to our close frame (or EOF: code 1006)
                if self.close_rcvd is None:
                    self.close_rcvd = {"code": event.code, "reason": event.reason or ""}
            else:  # OPEN / LOCAL_CLOSING: a parse failure, the peer violated the protocol
                emit({"ev": "fail", "conn": self.conn_id, "code": event.code, "reason": event.reason or ""})
                self.close_rcvd = {"code": 1006, "reason": ""}
                if state is ConnectionState.OPEN:
                    self.out(CloseConnection(code=event.code, reason=(event.reason or "")[:100]))
                self.closed.set()
        else:
            emit({"ev": "error", "msg": "unexpected event %r" % (event,)})

    async def run(self):
        try:
            while not self.closed.is_set() and self.ws.state is not ConnectionState.CLOSED:
                data = await self.reader.read(READ)
                self.ws.receive_data(data or None)
                for event in self.ws.events():
                    await self.handle(event)
                await self.flush()
                if not data:
                    break
            # Closing handshake done: the server closes TCP first (RFC 6455 §7.1.1); the client
            # waits for that (bounded) before closing its side.
            if self.client:
                try:
                    while await asyncio.wait_for(self.reader.read(READ), 5):
                        pass
                except asyncio.TimeoutError:
                    emit({"ev": "error", "msg": "the server did not close the TCP connection within 5 s"})
        finally:
            self.writer.close()
            self.closed.set()
        rcvd = self.close_rcvd or {"code": 1006, "reason": ""}
        emit({"ev": "closed", "conn": self.conn_id, "code": rcvd["code"], "reason": rcvd["reason"], "rcvd": self.close_rcvd,
              "sent": self.close_sent})

    async def command(self, cmd):
        op = cmd["op"]
        if op == "send":
            data = payload(cmd)
            kind = TextMessage if isinstance(data, str) else BytesMessage
            parts = split(data, cmd.get("fragments", 1))
            between = cmd.get("ping_between")
            for i, part in enumerate(parts):
                self.out(kind(data=part, message_finished=i == len(parts) - 1))
                if between is not None and i == 0:
                    self.out(Ping(payload=between.encode()))
            await self.flush()
        elif op == "burst":
            for message in burst(cmd):
                self.out(TextMessage(data=message))
            await self.flush()
        elif op == "ping":
            waiter = asyncio.get_running_loop().create_future()
            self.pong_waiters.append(waiter)
            self.out(Ping(payload=cmd["data"].encode()))
            await self.flush()
            await asyncio.wait_for(waiter, 5)
        elif op == "close":
            code = cmd["code"]
            self.out(CloseConnection(code=code, reason=cmd.get("reason", "") if code is not None else None))
            await self.flush()
            await asyncio.wait_for(self.closed.wait(), 5)
        else:
            raise ValueError("unknown op " + op)


async def drive(get_session):
    async for cmd in stdin_lines():
        if cmd["op"] == "exit":
            break
        session = await get_session()
        await session.command(cmd)


async def client(args):
    u = urlsplit(args["url"])
    reader, writer = await asyncio.wait_for(asyncio.open_connection(u.hostname, u.port or 80), 5)
    session = Session(reader, writer, "client", 0, args)
    session.start_client(args["url"])
    await session.flush()

    async def get_session():
        await session.opened.wait()
        return session

    commands = asyncio.ensure_future(drive(get_session))
    runner = asyncio.ensure_future(session.run())
    done, _ = await asyncio.wait([commands, runner], return_when=asyncio.FIRST_COMPLETED)
    if commands in done and commands.exception() is not None:
        runner.cancel()
        raise commands.exception()
    await runner
    commands.cancel()


async def server(args):
    state = {"next": 0, "current": None, "ready": asyncio.Event()}

    async def on_connection(reader, writer):
        session = Session(reader, writer, "server", state["next"], args)
        state["next"] += 1
        state["current"] = session
        state["ready"].set()
        try:
            await session.run()
        except Exception as exc:
            emit({"ev": "error", "msg": repr(exc)})

    srv = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    emit({"ev": "listening", "port": srv.sockets[0].getsockname()[1]})

    async def get_session():
        await state["ready"].wait()
        session = state["current"]
        await session.opened.wait()
        return session

    await drive(get_session)
    srv.close()
    await srv.wait_closed()


def main():
    args = parse_args(sys.argv[1:])
    emit({"ev": "hello", "library": "wsproto", "version": wsproto.__version__, "api": "sans-io"})
    try:
        asyncio.run(client(args) if args["role"] == "client" else server(args))
    except Exception as exc:  # reported, and a non-zero exit status the test checks
        emit({"ev": "error", "msg": repr(exc)})
        sys.exit(1)


if __name__ == "__main__":
    main()
