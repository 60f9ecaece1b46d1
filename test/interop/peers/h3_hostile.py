#!/usr/bin/env python3
"""Hostile HTTP/3 clients on aioquic, each breaking one rule on purpose, against 127.0.0.1:PORT.
One JSON line per event on stdout; the last is {"ev": "done", ...}.

  h3_hostile.py amplification PORT  sends one real client Initial from a plain UDP socket and never
                                    answers; counts for 3 s what comes back (RFC 9000 §8.1: at most
                                    3x what was received before the address is validated)
  h3_hostile.py streams PORT N      ignores the server's MAX_STREAMS and opens N request streams
                                    (RFC 9000 §4.6: STREAM_LIMIT_ERROR expected)
  h3_hostile.py flow PORT BYTES     ignores the server's flow control and sends BYTES on one
                                    WebSocket stream at once (RFC 9000 §4.1: FLOW_CONTROL_ERROR)
  h3_hostile.py qpack PORT REFS     a QPACK bomb (RFC 9204): one 3,000-byte dynamic table entry, then
                                    an extended CONNECT whose field section refers to it REFS times;
                                    then, on the same connection, an ordinary extended CONNECT that
                                    must still be answered 200

The peer's connection is reported as {"ev": "terminated", "error_code", "reason"} when the server
closes it, and per stream as {"ev": "stream", "status" | "reset"}.
"""
import asyncio
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from h3_common import Client, client_config, emit  # noqa: E402  (puts the unpacked aioquic on sys.path)

from aioquic.asyncio import connect  # noqa: E402
from aioquic.h3.events import HeadersReceived  # noqa: E402
from aioquic.quic.connection import QuicConnection  # noqa: E402
from aioquic.quic.events import ConnectionTerminated, StreamReset  # noqa: E402

TIMEOUT = 15


def connect_headers(port, path='/'):
    return [(b':method', b'CONNECT'), (b':protocol', b'websocket'), (b':scheme', b'https'), (b':path', path.encode()),
            (b':authority', f'localhost:{port}'.encode()), (b'sec-websocket-version', b'13')]


async def outcomes(c, want_streams, until=TIMEOUT):
    """Reports stream answers and resets, and the connection's end; returns at the end or once
    want_streams streams have an outcome."""
    seen = set()
    deadline = time.monotonic() + until
    while len(seen) < want_streams:
        try:
            ev = await asyncio.wait_for(c.queue.get(), max(0.01, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            emit(ev='timeout', outcomes=len(seen))
            return False
        if isinstance(ev, ConnectionTerminated):
            emit(ev='terminated', error_code=ev.error_code, reason=ev.reason_phrase)
            return False
        if isinstance(ev, StreamReset) and ev.stream_id not in seen:
            seen.add(ev.stream_id)
            emit(ev='stream', id=ev.stream_id, reset=ev.error_code)
        elif isinstance(ev, HeadersReceived) and ev.stream_id not in seen:
            seen.add(ev.stream_id)
            emit(ev='stream', id=ev.stream_id, status=int(dict(ev.headers)[b':status']))
    return True


def amplification(port):
    q = QuicConnection(configuration=client_config())
    q.connect(('127.0.0.1', port), now=time.time())
    sent = 0
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(('127.0.0.1', 0))
    for data, _addr in q.datagrams_to_send(now=time.time()):
        sock.sendto(data, ('127.0.0.1', port))
        sent += len(data)
    received, datagrams = 0, 0
    sock.settimeout(0.2)
    end = time.monotonic() + 3
    while time.monotonic() < end:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        received += len(data)
        datagrams += 1
    emit(ev='done', sent=sent, received=received, datagrams=datagrams)


async def streams(port, count):
    async with connect('127.0.0.1', port, configuration=client_config(), create_protocol=Client, wait_connected=True) as c:
        # Pretend the server allowed far more streams than its MAX_STREAMS said.
        c._quic._remote_max_streams_bidi = 1 << 40
        for _ in range(count):
            sid = c._quic.get_next_available_stream_id()
            c.h3.send_headers(sid, connect_headers(port))
        c.transmit()
        await outcomes(c, count)
    emit(ev='done')


async def flow(port, size):
    async with connect('127.0.0.1', port, configuration=client_config(), create_protocol=Client, wait_connected=True) as c:
        sid = c._quic.get_next_available_stream_id()
        c.h3.send_headers(sid, connect_headers(port))
        c.transmit()
        await outcomes(c, 1)
        # Pretend the server gave this much credit on the stream and the connection.
        c._quic._remote_max_data = 1 << 40
        c._quic._get_or_create_stream_for_send(sid).max_stream_data_remote = 1 << 40
        frame = bytes([0x82, 0xFF]) + (size - 14).to_bytes(8, 'big') + bytes(4) + b'x' * (size - 14)  # one masked binary frame
        c.h3.send_data(sid, frame, end_stream=False)
        c.transmit()
        await outcomes(c, 2)
    emit(ev='done')


def qpack_int(value, prefix_bits, first):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def qpack_string(data, prefix_bits, first=0):
    return qpack_int(len(data), prefix_bits, first) + data


def varint(value):
    if value < 64:
        return bytes([value])
    if value < 16384:
        return (value | 0x4000).to_bytes(2, 'big')
    return (value | 0x80000000).to_bytes(4, 'big')


async def qpack(port, refs):
    async with connect('127.0.0.1', port, configuration=client_config(), create_protocol=Client, wait_connected=True) as c:
        for _ in range(50):  # the server's SETTINGS (its QPACK table capacity)
            if c.h3.received_settings is not None:
                break
            await asyncio.sleep(0.05)
        # pylsqpack's encoder has inserted nothing; the server's acknowledgements of our own
        # inserts would confuse it, so it does not hear them.
        class DeafEncoder:
            def __init__(self, inner):
                self.inner = inner

            def feed_decoder(self, data):
                return None

            def __getattr__(self, name):
                return getattr(self.inner, name)

        c.h3._encoder = DeafEncoder(c.h3._encoder)
        capacity = 4096
        encoder = qpack_int(capacity, 5, 0x20)                                      # Set Dynamic Table Capacity
        encoder += qpack_string(b'x-bomb', 5, 0x40) + qpack_string(b'a' * 3000, 7)  # Insert With Literal Name
        c._quic.send_stream_data(c.h3._local_encoder_stream_id, encoder)
        max_entries = capacity // 32
        section = bytes([(1 % (2 * max_entries)) + 1, 0x00])      # Required Insert Count 1, Base 1
        section += bytes([0xC0 | 15])                              # :method CONNECT (static 15)
        section += qpack_string(b':protocol', 3, 0x20) + qpack_string(b'websocket', 7)
        section += bytes([0xC0 | 23, 0xC0 | 1])                    # :scheme https, :path /
        section += qpack_int(0, 4, 0x50) + qpack_string(f'localhost:{port}'.encode(), 7)  # :authority
        section += qpack_string(b'sec-websocket-version', 3, 0x20) + qpack_string(b'13', 7)
        section += bytes([0x80]) * refs                            # the entry, REFS times (relative index 0)
        sid = c._quic.get_next_available_stream_id()
        c._quic.send_stream_data(sid, varint(0x01) + varint(len(section)) + section)
        c.transmit()
        if not await outcomes(c, 1):
            emit(ev='done')
            return
        # The connection still serves an ordinary request (static table only).
        sid2 = c._quic.get_next_available_stream_id()
        plain = bytes([0x00, 0x00, 0xC0 | 15]) + qpack_string(b':protocol', 3, 0x20) + qpack_string(b'websocket', 7)
        plain += bytes([0xC0 | 23, 0xC0 | 1]) + qpack_int(0, 4, 0x50) + qpack_string(f'localhost:{port}'.encode(), 7)
        plain += qpack_string(b'sec-websocket-version', 3, 0x20) + qpack_string(b'13', 7)
        c._quic.send_stream_data(sid2, varint(0x01) + varint(len(plain)) + plain)
        c.transmit()
        await outcomes(c, 1)
    emit(ev='done')


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == 'amplification':
        amplification(port)
    elif mode == 'streams':
        asyncio.run(streams(port, int(sys.argv[3])))
    elif mode == 'flow':
        asyncio.run(flow(port, int(sys.argv[3])))
    elif mode == 'qpack':
        asyncio.run(qpack(port, int(sys.argv[3])))
    return 0


if __name__ == '__main__':
    sys.exit(main())
