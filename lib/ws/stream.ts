/**
 * `ws` 8's `createWebSocketStream(ws, options)`: a Duplex over a WebSocket. Messages are pushed
 * as they arrive (text as a string in readable object mode), a full read buffer pauses the
 * socket and `_read` resumes it; writes are sent as messages; ending the writable side closes
 * the WebSocket; its close ends the readable side; an error destroys the stream; destroying
 * the stream terminates the WebSocket.
 */
import { Duplex, type DuplexOptions } from 'node:stream';

import type { WebSocket } from './websocket.js';

export function createWebSocketStream(ws: WebSocket, options?: DuplexOptions): Duplex {
  let terminateOnDestroy = true;
  const duplex = new Duplex({ ...options, autoDestroy: false, emitClose: false, objectMode: false, writableObjectMode: false });
  const emitClose = () => duplex.emit('close');

  ws.on('message', (message: Buffer, isBinary: boolean) => {
    const data = !isBinary && duplex.readableObjectMode ? message.toString() : message;
    if (!duplex.push(data)) ws.pause();
  });
  ws.once('error', (error: Error) => {
    if (duplex.destroyed) return;
    terminateOnDestroy = false;  // the WebSocket closes itself after an error (a close frame first)
    duplex.destroy(error);
  });
  ws.once('close', () => {
    if (!duplex.destroyed) duplex.push(null);
  });

  duplex._destroy = (error, callback) => {
    if (ws.readyState === ws.CLOSED) {
      callback(error);
      process.nextTick(emitClose);
      return;
    }
    let reported = false;
    ws.once('error', (e: Error) => {
      reported = true;
      callback(e);
    });
    ws.once('close', () => {
      if (!reported) callback(error);
      process.nextTick(emitClose);
    });
    if (terminateOnDestroy) ws.terminate();
  };

  duplex._final = (callback) => {
    if (ws.readyState === ws.CONNECTING) {
      ws.once('open', () => duplex._final(callback));
      return;
    }
    if (ws.readyState === ws.CLOSED) {
      callback();
      if (duplex.readableEnded) duplex.destroy();
      return;
    }
    ws.once('close', () => callback());
    ws.close();
  };

  duplex._read = () => {
    if (ws.isPaused) ws.resume();
  };

  duplex._write = (chunk: Buffer, _encoding, callback) => {
    if (ws.readyState === ws.CONNECTING) {
      ws.once('open', () => duplex._write(chunk, _encoding, callback));
      return;
    }
    ws.send(chunk, callback);
  };

  // Both sides done: the stream closes, whichever finished last.
  duplex.on('end', function onEnd(this: Duplex) {
    if (!this.destroyed && this.writableFinished) this.destroy();
  });
  duplex.on('finish', function onFinish(this: Duplex) {
    if (!this.destroyed && this.readableEnded) this.destroy();
  });
  duplex.on('error', function onError(this: Duplex, error: Error) {
    this.removeListener('error', onError);
    this.destroy();
    if (this.listenerCount('error') === 0) this.emit('error', error);  // unhandled stays unhandled
  });
  return duplex;
}
