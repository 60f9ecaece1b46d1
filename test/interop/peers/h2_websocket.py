#!/usr/bin/env python3
"""WebSocket over HTTP/2 (RFC 8441) with Python's h2 (HTTP/2) and wsproto (frames): a peer that
shares no code with sockudo-ws or Node. One JSON line per event on stdout.

  h2_websocket.py client PORT N   opens N extended CONNECT streams on one h2c connection to
                                  127.0.0.1:PORT, echoes messages of several sizes on each
                                  (sha256 compared), closes each with 1000, prints {"ev": "done"}
  h2_websocket.py server          listens on 127.0.0.1 (port printed), advertises
                                  SETTINGS_ENABLE_CONNECT_PROTOCOL, answers extended CONNECT with
                                  200 and echoes frames per stream until the connection ends
"""
import hashlib
import json
import socket
import sys

import h2.config
import h2.connection
import h2.events
import h2.settings
from wsproto.frame_protocol import FrameProtocol, Opcode

TIMEOUT = 20


def emit(**event):
    print(json.dumps(event), flush=True)


def payloads():
    return [b'', b'x' * 125, bytes(range(256)) * 256, b'\xab' * (1024 * 1024 + 3), 'ünïcödé ✓'.encode()]


def as_bytes(payload):
    return payload.encode() if isinstance(payload, str) else bytes(payload)


def pump(sock, conn):
    data = conn.data_to_send()
    if data:
        sock.sendall(data)


def client(port, count):
    sock = socket.create_connection(('127.0.0.1', port), timeout=TIMEOUT)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 16 * 1024 * 1024})
    conn.increment_flow_control_window(64 * 1024 * 1024)
    pump(sock, conn)
    connect_ok = None
    while connect_ok is None:
        for ev in conn.receive_data(sock.recv(65536)):
            if isinstance(ev, h2.events.RemoteSettingsChanged):
                s = ev.changed_settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL)
                connect_ok = bool(s and s.new_value == 1)
        pump(sock, conn)
    emit(ev='settings', enable_connect_protocol=connect_ok)
    streams = {}
    for i in range(count):
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(':method', 'CONNECT'), (':protocol', 'websocket'), (':scheme', 'http'),
                                (':path', f'/py/{i}'), (':authority', f'127.0.0.1:{port}'),
                                ('sec-websocket-version', '13'), ('sec-websocket-protocol', 'py')])
        streams[sid] = {'ws': FrameProtocol(client=True, extensions=[]), 'status': None, 'queue': payloads(),
                        'sent': None, 'echoed': [], 'closed': None, 'ended': False, 'buf': b''}
    pump(sock, conn)

    def flush_pending():
        # Send what flow control allows (h2 raises past the window), keep the rest for later.
        for sid, st in streams.items():
            while st['buf']:
                window = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size)
                if window <= 0:
                    break
                conn.send_data(sid, st['buf'][:window])
                st['buf'] = st['buf'][window:]
            if st['buf'] == b'' and st.get('end') and not st.get('end_sent'):
                st['end_sent'] = True
                conn.end_stream(sid)

    def send(sid, data, end=False):
        streams[sid]['buf'] += data
        if end:
            streams[sid]['end'] = True
        flush_pending()

    def send_next(sid, st):
        if st['queue']:
            p = st['queue'].pop(0)
            st['sent'] = p
            is_text = p.startswith('ünï'.encode())
            send(sid, st['ws'].send_data(p.decode() if is_text else p))
        else:
            send(sid, st['ws'].close(1000, 'py done'))

    while not all(st['ended'] for st in streams.values()):
        pump(sock, conn)
        data = sock.recv(1 << 20)
        if not data:
            break
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived):
                st = streams[ev.stream_id]
                hdrs = dict((k.decode() if isinstance(k, bytes) else k, v.decode() if isinstance(v, bytes) else v) for k, v in ev.headers)
                st['status'] = int(hdrs[':status'])
                st['protocol'] = hdrs.get('sec-websocket-protocol')
                if st['status'] == 200:
                    send_next(ev.stream_id, st)
            elif isinstance(ev, h2.events.DataReceived):
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                st = streams[ev.stream_id]
                st['ws'].receive_bytes(ev.data)
                for frame in st['ws'].received_frames():
                    if frame.opcode is Opcode.CLOSE:
                        st['closed'] = frame.payload[0] if frame.payload else None
                        send(ev.stream_id, b'', end=True)
                        continue
                    if not frame.message_finished:
                        st.setdefault('partial', b'')
                        st['partial'] += as_bytes(frame.payload)
                        continue
                    payload = st.pop('partial', b'') + as_bytes(frame.payload)
                    st['echoed'].append({'len': len(payload), 'same': payload == st['sent'],
                                         'sha256': hashlib.sha256(payload).hexdigest()})
                    send_next(ev.stream_id, st)
            elif isinstance(ev, h2.events.StreamEnded):
                streams[ev.stream_id]['ended'] = True
            elif isinstance(ev, h2.events.StreamReset):
                streams[ev.stream_id]['ended'] = True
                streams[ev.stream_id]['reset'] = ev.error_code
            elif isinstance(ev, h2.events.WindowUpdated):
                flush_pending()
        flush_pending()
        pump(sock, conn)
    conn.close_connection()
    pump(sock, conn)
    sock.close()
    emit(ev='done', streams=[{'status': st['status'], 'protocol': st.get('protocol'), 'echoed': st['echoed'],
                              'closed': st['closed'], 'reset': st.get('reset')} for st in streams.values()])


def server():
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(1)
    emit(ev='listening', port=listener.getsockname()[1])
    listener.settimeout(TIMEOUT)
    sock, _ = listener.accept()
    sock.settimeout(TIMEOUT)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
    conn.local_settings = h2.settings.Settings(client=False, initial_values={h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: 1,
                                                                              h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 16 * 1024 * 1024})
    conn.initiate_connection()
    conn.increment_flow_control_window(64 * 1024 * 1024)
    pump(sock, conn)
    streams = {}
    pending = {}
    messages = {}

    def send(sid, data, end=False):
        pending[sid] = pending.get(sid, b'') + data
        flush(sid, end)

    def flush(sid, end=False):
        buf = pending.get(sid, b'')
        while buf:
            window = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size)
            if window <= 0:
                break
            conn.send_data(sid, buf[:window])
            buf = buf[window:]
        pending[sid] = buf
        if end and not buf:
            conn.end_stream(sid)

    while True:
        try:
            data = sock.recv(1 << 20)
        except OSError:
            break
        if not data:
            break
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.RequestReceived):
                hdrs = dict((k.decode() if isinstance(k, bytes) else k, v.decode() if isinstance(v, bytes) else v) for k, v in ev.headers)
                emit(ev='request', headers=hdrs)
                ok = hdrs.get(':method') == 'CONNECT' and hdrs.get(':protocol') == 'websocket' and 'sec-websocket-key' not in hdrs
                if hdrs.get(':path', '').startswith('/refuse'):
                    conn.send_headers(ev.stream_id, [(':status', '403'), ('content-length', '4')])
                    conn.send_data(ev.stream_id, b'nope', end_stream=True)
                    continue
                out = [(':status', '200' if ok else '400')]
                if ok and 'sec-websocket-protocol' in hdrs:
                    out.append(('sec-websocket-protocol', hdrs['sec-websocket-protocol'].split(',')[0].strip()))
                conn.send_headers(ev.stream_id, out, end_stream=not ok)
                streams[ev.stream_id] = FrameProtocol(client=False, extensions=[])
            elif isinstance(ev, h2.events.DataReceived):
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                ws = streams.get(ev.stream_id)
                if ws is None:
                    continue
                ws.receive_bytes(ev.data)
                for frame in ws.received_frames():
                    if frame.opcode is Opcode.CLOSE:
                        emit(ev='close', code=frame.payload[0] if frame.payload else None, reason=frame.payload[1] if frame.payload else '')
                        send(ev.stream_id, ws.close(frame.payload[0] if frame.payload else 1000, 'py server bye'), end=True)
                    elif frame.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONTINUATION):
                        # wsproto yields a message in pieces as its bytes arrive: echo it whole.
                        msg = messages.setdefault(ev.stream_id, {'opcode': frame.opcode, 'data': b''})
                        msg['data'] += as_bytes(frame.payload)
                        if frame.message_finished:
                            del messages[ev.stream_id]
                            payload = msg['data'].decode() if msg['opcode'] is Opcode.TEXT else msg['data']
                            send(ev.stream_id, ws.send_data(payload))
                    elif frame.opcode is Opcode.PING:
                        send(ev.stream_id, ws.pong(frame.payload))
            elif isinstance(ev, h2.events.WindowUpdated):
                for sid in list(pending):
                    flush(sid)
            elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)):
                pass
            elif isinstance(ev, h2.events.ConnectionTerminated):
                pump(sock, conn)
                sock.close()
                emit(ev='done')
                return
        pump(sock, conn)
    emit(ev='done')


if __name__ == '__main__':
    if sys.argv[1] == 'client':
        client(int(sys.argv[2]), int(sys.argv[3]))
    else:
        server()
