/**
 * `sockudo-ws/pusher`: a Pusher Channels-compatible server (protocol 7 over WebSocket, the HTTP
 * API on the same port, webhooks) on the native WebSocketServer.
 */
export { PusherServer } from './server.js';
export type { PusherServerEvents } from './server.js';
export { appConfig, appsFromEnvironment, appsFromFile, defaultApp, pusherConfig, WEBHOOK_EVENTS } from './config.js';
export type { AppConfig, PusherApp, PusherConfig, PusherServerOptions, PusherWebhook, WebhookConfig, WebhookEventType } from './config.js';
export { AppRuntime } from './app.js';
export type { ConnectionState, PusherSocket } from './app.js';
export { ErrorCode } from './protocol.js';
export type { WebhookEvent, WebhookStats } from './webhooks.js';
