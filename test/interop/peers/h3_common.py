"""What the aioquic peers share (h3_websocket.py, h3_bridge.py, h3_hostile.py): the unpacked aioquic
on sys.path, JSON-line events, a client configuration that does not verify the certificate, and
a client protocol that queues HTTP/3 events and stream/connection ends for an async loop.

aioquic comes from Debian trixie's python3-aioquic, unpacked by scripts/peers/aioquic.sh into
~/.cache/sockudo-ws/peers/aioquic-<key>/site (or $SOCKUDO_WS_AIOQUIC).
"""
import asyncio
import glob
import json
import os
import ssl
import sys


def aioquic_site():
    if os.environ.get('SOCKUDO_WS_AIOQUIC'):
        return os.environ['SOCKUDO_WS_AIOQUIC']
    found = sorted(glob.glob(os.path.expanduser('~/.cache/sockudo-ws/peers/aioquic-*/ok')), key=os.path.getmtime)
    return os.path.join(os.path.dirname(found[-1]), 'site') if found else ''


sys.path.insert(0, aioquic_site())

from aioquic.asyncio.protocol import QuicConnectionProtocol  # noqa: E402
from aioquic.h3.connection import H3_ALPN, H3Connection  # noqa: E402
from aioquic.quic.configuration import QuicConfiguration  # noqa: E402
from aioquic.quic.events import ConnectionTerminated, StopSendingReceived, StreamReset  # noqa: E402


def emit(**event):
    print(json.dumps(event), flush=True)


def client_config(**overrides):
    """A client's QUIC configuration: ALPN h3, server name localhost, certificate not verified."""
    options = dict(is_client=True, alpn_protocols=H3_ALPN, verify_mode=ssl.CERT_NONE, server_name='localhost',
                   max_data=64 * 1024 * 1024, max_stream_data=16 * 1024 * 1024)
    options.update(overrides)
    return QuicConfiguration(**options)


class Client(QuicConnectionProtocol):
    """HTTP/3 events, and RESET_STREAM / STOP_SENDING / the connection's end, on self.queue."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.h3 = H3Connection(self._quic)
        self.queue = asyncio.Queue()

    def quic_event_received(self, event):
        for e in self.h3.handle_event(event):
            self.queue.put_nowait(e)
        if isinstance(event, (StreamReset, StopSendingReceived, ConnectionTerminated)):
            self.queue.put_nowait(event)
