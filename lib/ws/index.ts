/**
 * `sockudo-ws/ws`: a drop-in for the `ws` package (version 8's API and observable behaviour) on
 * sockudo-ws's native core. `require('sockudo-ws/ws')` is the WebSocket class with the rest as
 * its properties, as `require('ws')` is; `import WebSocket, { WebSocketServer } from
 * 'sockudo-ws/ws'` works as with `ws`.
 */
import { CloseEvent, ErrorEvent, Event, MessageEvent } from './events.js';
import { WebSocketServer } from './server.js';
import { createWebSocketStream } from './stream.js';
import { WebSocket } from './websocket.js';

export type { ServerOptions, VerifyClient, VerifyClientInfo } from './server.js';
export type { BinaryType, ClientOptions, PerMessageDeflateOptions } from './websocket.js';
export { CloseEvent, createWebSocketStream, ErrorEvent, Event, MessageEvent, WebSocket, WebSocketServer };
export const Server = WebSocketServer;

// `require('ws').WebSocketServer`, `.createWebSocketStream`, ... on the class itself.
Object.assign(WebSocket, { WebSocket, WebSocketServer, Server: WebSocketServer, createWebSocketStream });
export default WebSocket;
