#!/usr/bin/env python3
"""A TCP to WebSocket-over-HTTP/3 (RFC 9220) bridge on aioquic, so that the conformance suite's raw
client can drive our server over QUIC with its own bytes: QUIC and HTTP/3 are aioquic's, the
WebSocket frames are the raw client's, and nothing here parses them.

  h3_bridge.py        listens on 127.0.0.1 (TCP port printed as {"ev": "listening", "port": P})

Per TCP connection: a first line "PORT PATH\\n" names our server's UDP port and the request
target. The bridge opens a QUIC connection of its own to 127.0.0.1:PORT (certificate not
verified), sends an extended CONNECT (:protocol websocket), and answers with one line, the
response's status ("200\\n", or "ERR <why>\\n"). After a 200, bytes flow both ways unchanged:
  TCP data -> stream DATA; TCP FIN -> stream FIN; TCP reset -> RESET_STREAM + STOP_SENDING
  stream DATA -> TCP data; stream FIN -> TCP FIN; RESET_STREAM, STOP_SENDING or the connection's
  end -> TCP reset
Each exchange ends (QUIC connection closed) once both directions ended, or at the first reset,
and within 120 s in any case. Ends when stdin closes.
"""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from h3_common import Client, client_config, emit  # noqa: E402  (puts the unpacked aioquic on sys.path)

from aioquic.asyncio import connect  # noqa: E402
from aioquic.h3.events import DataReceived, HeadersReceived  # noqa: E402
from aioquic.quic.events import ConnectionTerminated, StopSendingReceived, StreamReset  # noqa: E402

H3_REQUEST_CANCELLED = 0x10C
EXCHANGE_LIMIT = 120


async def exchange(reader, writer):
    head = (await reader.readline()).decode('latin-1').strip()
    port, _, path = head.partition(' ')
    config = client_config(max_data=256 * 1024 * 1024, max_stream_data=64 * 1024 * 1024, idle_timeout=EXCHANGE_LIMIT)
    async with connect('127.0.0.1', int(port), configuration=config, create_protocol=Client, wait_connected=True) as c:
        sid = c._quic.get_next_available_stream_id()
        c.h3.send_headers(sid, [(b':method', b'CONNECT'), (b':protocol', b'websocket'), (b':scheme', b'https'),
                                (b':path', path.encode('latin-1')), (b':authority', f'localhost:{port}'.encode()),
                                (b'sec-websocket-version', b'13')])
        c.transmit()
        state = {'tcp_ended': False, 'stream_ended': False, 'reset': False}

        def reset_stream():
            if state['reset'] or state['stream_ended'] and state['tcp_ended']:
                return
            state['reset'] = True
            c._quic.reset_stream(sid, H3_REQUEST_CANCELLED)
            c._quic.stop_stream(sid, H3_REQUEST_CANCELLED)
            c.transmit()

        async def tcp_to_stream():
            try:
                while True:
                    data = await reader.read(256 * 1024)
                    if state['reset']:
                        return
                    if not data:
                        state['tcp_ended'] = True
                        c.h3.send_data(sid, b'', end_stream=True)
                        c.transmit()
                        return
                    c.h3.send_data(sid, data, end_stream=False)
                    c.transmit()
            except (ConnectionError, OSError):
                reset_stream()
                c.queue.put_nowait('tcp reset')

        pump = None
        try:
            while not state['reset'] and not (state['tcp_ended'] and state['stream_ended']):
                ev = await c.queue.get()
                if ev == 'tcp reset':
                    break
                if isinstance(ev, ConnectionTerminated):
                    break
                if isinstance(ev, (StreamReset, StopSendingReceived)) and ev.stream_id == sid:
                    state['reset'] = True
                    break
                if isinstance(ev, HeadersReceived) and ev.stream_id == sid and pump is None:
                    status = dict(ev.headers).get(b':status', b'?').decode()
                    writer.write(f'{status}\n'.encode())
                    await writer.drain()
                    if status != '200':
                        break
                    pump = asyncio.ensure_future(tcp_to_stream())
                    if ev.stream_ended:
                        state['stream_ended'] = True
                        writer.write_eof()
                elif isinstance(ev, DataReceived) and ev.stream_id == sid:
                    if ev.data:
                        writer.write(ev.data)
                        await writer.drain()
                    if ev.stream_ended:
                        state['stream_ended'] = True
                        if writer.can_write_eof():
                            writer.write_eof()
        finally:
            if pump is not None:
                pump.cancel()
            if state['tcp_ended'] and state['stream_ended']:
                writer.close()
            else:
                reset_stream()
                writer.transport.abort()  # a TCP reset: what a stream reset is to the raw client


async def serve_one(reader, writer):
    try:
        await asyncio.wait_for(exchange(reader, writer), EXCHANGE_LIMIT)
    except Exception as e:  # a refused or failed exchange: the raw client reads why
        try:
            writer.write(f'ERR {e!r}\n'.encode())
            writer.transport.abort()
        except Exception:
            pass


async def main():
    server = await asyncio.start_server(serve_one, '127.0.0.1', 0)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_reader(sys.stdin.fileno(), lambda: sys.stdin.readline() or stop.set())
    emit(ev='listening', port=server.sockets[0].getsockname()[1])
    await stop.wait()
    server.close()


if __name__ == '__main__':
    asyncio.run(main())
