#!/usr/bin/env python3
"""WebSocket over HTTP/3 (RFC 9220) with aioquic (QUIC + HTTP/3) and wsproto (frames): a peer that
shares no code with sockudo-ws, nghttp3 or ngtcp2. One JSON line per event on stdout.

  h3_websocket.py probe                 exits 0 when aioquic and wsproto import
  h3_websocket.py client PORT N [MODE]  opens N extended CONNECT streams on one QUIC connection to
                                        127.0.0.1:PORT (certificate not verified), echoes messages of
                                        several sizes on each (sha256 compared), then per MODE:
                                          close  closes each with 1000 and ends the stream (default)
                                          reset  resets each stream (RESET_STREAM + STOP_SENDING)
                                          abort  closes the QUIC connection (CONNECTION_CLOSE)
                                          hold   waits for the server to close (prints its close)
                                          migrate  after the first echo, moves to a new UDP socket
                                                 (new port; the old one closed) and a new connection
                                                 ID, echoes the rest, closes as "close"
                                          rebind  the same without a new connection ID (NAT rebinding)
                                          bigheaders  one CONNECT carrying 10 header fields of 500 bytes
                                          burst  N CONNECTs sent in one flight; each stream's
                                                 status or reset code is reported
                                        and prints {"ev": "done", "streams": [...]}
  h3_websocket.py server CERT KEY       listens on 127.0.0.1 (UDP port printed), answers extended
                                        CONNECT :protocol websocket with 200 (the first offered
                                        subprotocol), echoes frames per stream, answers /refuse with
                                        403 "nope", and on /server-close sends "bye soon" then closes
                                        4002; one {"ev": "request"} and one {"ev": "closed"} per stream

aioquic comes from Debian trixie's python3-aioquic, unpacked by scripts/peers/aioquic.sh into
~/.cache/sockudo-ws/peers/aioquic-<key>/site (or $SOCKUDO_WS_AIOQUIC).
"""
import asyncio
import hashlib
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from h3_common import Client, client_config, emit  # noqa: E402  (puts the unpacked aioquic on sys.path)

TIMEOUT = 20


def payloads():
    return [b'', b'x' * 125, bytes(range(256)) * 256, b'\xab' * (1024 * 1024 + 3), 'ünïcödé ✓'.encode()]


def main():
    from aioquic.asyncio import connect
    from aioquic.h3.connection import Setting
    from aioquic.h3.events import DataReceived, HeadersReceived
    from aioquic.quic.events import ConnectionTerminated, StreamReset
    from wsproto.frame_protocol import FrameProtocol, Opcode

    if sys.argv[1] == 'probe':
        return 0
    if sys.argv[1] == 'server':
        return server(sys.argv[2], sys.argv[3])
    port = int(sys.argv[2])
    count = int(sys.argv[3])
    mode = sys.argv[4] if len(sys.argv) > 4 else 'close'

    async def run():
        config = client_config()
        async with connect('127.0.0.1', port, configuration=config, create_protocol=Client, wait_connected=True) as c:
            streams = {}
            for i in range(count):
                sid = c._quic.get_next_available_stream_id()
                # (pylsqpack cannot encode a block much past 16 KB: the test lowers maxHeaderSize instead)
                extra = [(f'x-big-{k}'.encode(), b'a' * 500) for k in range(10)] if mode == 'bigheaders' else []
                c.h3.send_headers(sid, [(b':method', b'CONNECT'), (b':protocol', b'websocket'), (b':scheme', b'https'),
                                        (b':path', f'/h3/{i}'.encode()), (b':authority', f'localhost:{port}'.encode()),
                                        (b'sec-websocket-version', b'13'), (b'sec-websocket-protocol', b'py')] + extra)
                streams[sid] = {'ws': FrameProtocol(client=True, extensions=[]), 'status': None, 'queue': payloads(),
                                'sent': None, 'echoed': [], 'closed': None, 'ended': False, 'reset': None,
                                'partial': b''}
            c.transmit()

            moved = {'done': False, 'port': None}

            async def move():
                # A new local port, the old socket closed (its protocol detached first, so the
                # connection does not see it go); with "migrate" also a new connection ID.
                old = c._transport
                loop = asyncio.get_running_loop()
                sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)  # as aioquic's connect() makes it
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                sock.bind(('::', 0, 0, 0))
                await loop.create_datagram_endpoint(lambda: c, sock=sock)
                old.set_protocol(asyncio.DatagramProtocol())
                old.close()
                if mode == 'migrate':
                    c.change_connection_id()
                moved['done'] = True
                moved['port'] = c._transport.get_extra_info('sockname')[1]
                emit(ev='moved', port=moved['port'], new_cid=mode == 'migrate')

            def send_next(sid, st):
                if st['queue']:
                    p = st['queue'].pop(0)
                    st['sent'] = p
                    text = p.startswith('ünï'.encode())
                    c.h3.send_data(sid, bytes(st['ws'].send_data(p.decode() if text else p)), end_stream=False)
                elif mode in ('close', 'migrate', 'rebind'):
                    c.h3.send_data(sid, bytes(st['ws'].close(1000, 'py done')), end_stream=False)
                elif mode == 'reset':
                    c._quic.reset_stream(sid, 0x10c)  # H3_REQUEST_CANCELLED
                    c._quic.stop_stream(sid, 0x10c)
                    st['ended'] = True
                elif mode == 'abort':
                    for s in streams.values():
                        s['ended'] = True
                c.transmit()

            settings_seen = False
            while not all(st['ended'] for st in streams.values()):
                ev = await asyncio.wait_for(c.queue.get(), TIMEOUT)
                if not settings_seen and c.h3.received_settings is not None:
                    settings_seen = True
                    emit(ev='settings', enable_connect_protocol=c.h3.received_settings.get(Setting.ENABLE_CONNECT_PROTOCOL) == 1)
                if isinstance(ev, ConnectionTerminated):
                    emit(ev='terminated', error_code=ev.error_code, reason=ev.reason_phrase)
                    break
                if isinstance(ev, StreamReset):
                    st = streams.get(ev.stream_id)
                    if st:
                        st['reset'] = ev.error_code
                        st['ended'] = True
                    continue
                st = streams.get(ev.stream_id)
                if st is None:
                    continue
                if isinstance(ev, HeadersReceived):
                    hdrs = {k.decode(): v.decode() for k, v in ev.headers}
                    st['status'] = int(hdrs[':status'])
                    st['protocol'] = hdrs.get('sec-websocket-protocol')
                    if mode == 'burst':
                        st['ended'] = True  # only the answer matters
                    elif st['status'] == 200:
                        send_next(ev.stream_id, st)
                    elif ev.stream_ended:
                        st['ended'] = True
                elif isinstance(ev, DataReceived) and st['status'] != 200:
                    if ev.stream_ended:  # a refusal's body: not WebSocket frames
                        st['ended'] = True
                elif isinstance(ev, DataReceived):
                    st['ws'].receive_bytes(ev.data)
                    for frame in st['ws'].received_frames():
                        if frame.opcode is Opcode.CLOSE:
                            st['closed'] = frame.payload[0] if frame.payload else None
                            if mode == 'hold':  # the server closed first: answer, then end the stream
                                c.h3.send_data(ev.stream_id, bytes(st['ws'].close(1000, 'py ack')), end_stream=True)
                            else:
                                c.h3.send_data(ev.stream_id, b'', end_stream=True)
                            c.transmit()
                            continue
                        data = frame.payload.encode() if isinstance(frame.payload, str) else bytes(frame.payload)
                        st['partial'] += data
                        if not frame.message_finished:
                            continue
                        got, st['partial'] = st['partial'], b''
                        st['echoed'].append({'len': len(got), 'same': got == st['sent'],
                                             'sha256': hashlib.sha256(got).hexdigest()})
                        if mode in ('migrate', 'rebind') and not moved['done']:
                            await move()
                        if mode != 'hold' or st['queue']:
                            send_next(ev.stream_id, st)
                    if ev.stream_ended:
                        st['ended'] = True
            if mode == 'abort':
                c._quic.close(error_code=0x100, reason_phrase='py abort')  # H3_NO_ERROR
                c.transmit()
            emit(ev='done', retries=c._quic._retry_count, streams=[{k: v for k, v in st.items() if k in ('status', 'protocol', 'echoed', 'closed', 'reset')}
                                     for st in streams.values()])

    asyncio.run(run())
    return 0


def server(cert, key):
    from aioquic.asyncio import serve
    from aioquic.asyncio.protocol import QuicConnectionProtocol
    from aioquic.h3.connection import H3_ALPN, H3Connection
    from aioquic.h3.events import DataReceived, HeadersReceived
    from aioquic.quic.configuration import QuicConfiguration
    from wsproto.frame_protocol import CloseReason, FrameProtocol, Opcode

    class Server(QuicConnectionProtocol):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.h3 = None
            self.ws = {}

        def quic_event_received(self, event):
            if self.h3 is None:
                self.h3 = H3Connection(self._quic)
            for e in self.h3.handle_event(event):
                if isinstance(e, HeadersReceived):
                    h = {k.decode(): v.decode() for k, v in e.headers}
                    emit(ev='request', path=h.get(':path'), method=h.get(':method'), protocol=h.get(':protocol'),
                         scheme=h.get(':scheme'), authority=h.get(':authority'),
                         version=h.get('sec-websocket-version'), subprotocols=h.get('sec-websocket-protocol'),
                         key=h.get('sec-websocket-key'))
                    if h.get(':method') != 'CONNECT' or h.get(':protocol') != 'websocket':
                        self.h3.send_headers(e.stream_id, [(b':status', b'400')], end_stream=True)
                    elif h.get(':path') == '/refuse':
                        self.h3.send_headers(e.stream_id, [(b':status', b'403'), (b'content-type', b'text/plain')])
                        self.h3.send_data(e.stream_id, b'nope', end_stream=True)
                    else:
                        offered = [p.strip() for p in h.get('sec-websocket-protocol', '').split(',') if p.strip()]
                        headers = [(b':status', b'200')]
                        if offered:
                            headers.append((b'sec-websocket-protocol', offered[0].encode()))
                        self.h3.send_headers(e.stream_id, headers)
                        fp = FrameProtocol(client=False, extensions=[])
                        self.ws[e.stream_id] = (fp, h.get(':path'))
                        if h.get(':path') == '/server-close':
                            self.h3.send_data(e.stream_id, bytes(fp.send_data('bye soon')), end_stream=False)
                            self.h3.send_data(e.stream_id, bytes(fp.close(4002, 'server bye')), end_stream=False)
                elif isinstance(e, DataReceived) and e.stream_id in self.ws:
                    fp, path = self.ws[e.stream_id]
                    fp.receive_bytes(e.data)
                    partial = getattr(fp, '_echo_partial', None)
                    for frame in fp.received_frames():
                        if frame.opcode is Opcode.CLOSE:
                            code = frame.payload[0] if frame.payload else None
                            emit(ev='closed', path=path, code=code)
                            if path != '/server-close':  # answer the close, then end the stream
                                self.h3.send_data(e.stream_id, bytes(fp.close(code or 1000)), end_stream=True)
                            else:
                                self.h3.send_data(e.stream_id, b'', end_stream=True)
                        elif frame.opcode is Opcode.PING:
                            self.h3.send_data(e.stream_id, bytes(fp.pong(frame.payload)), end_stream=False)
                        elif frame.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONTINUATION):
                            if partial is None:
                                partial = [frame.opcode, b'' if frame.opcode is Opcode.BINARY else '']
                            partial[1] += frame.payload
                            if frame.message_finished:
                                self.h3.send_data(e.stream_id, bytes(fp.send_data(partial[1])), end_stream=False)
                                partial = None
                    fp._echo_partial = partial
            self.transmit()

    async def run():
        config = QuicConfiguration(is_client=False, alpn_protocols=H3_ALPN, max_data=64 * 1024 * 1024,
                                   max_stream_data=16 * 1024 * 1024)
        config.load_cert_chain(cert, key)
        srv = await serve('127.0.0.1', 0, configuration=config, create_protocol=Server)
        emit(ev='listening', port=srv._transport.get_extra_info('sockname')[1])
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_reader(sys.stdin.fileno(), lambda: sys.stdin.readline() or stop.set())
        await stop.wait()
        srv.close()

    asyncio.run(run())
    return 0


if __name__ == '__main__':
    sys.exit(main())
