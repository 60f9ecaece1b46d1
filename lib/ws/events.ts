/**
 * The event objects of `ws` 8's `addEventListener` API (`ws/lib/event-target.js`): `type` and
 * `target` on every event, `data` on messages, `code`/`reason`/`wasClean` on close, `error` and
 * `message` on errors. They are not DOM events (no bubbling, no `preventDefault`), as in `ws`.
 */
export class Event {
  readonly type: string;
  target: unknown = null;
  constructor(type: string) {
    this.type = type;
  }
}

export class MessageEvent extends Event {
  readonly data: unknown;
  constructor(type: string, init: { data?: unknown } = {}) {
    super(type);
    this.data = init.data ?? null;
  }
}

export class CloseEvent extends Event {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  constructor(type: string, init: { code?: number; reason?: string; wasClean?: boolean } = {}) {
    super(type);
    this.code = init.code ?? 0;
    this.reason = init.reason ?? '';
    this.wasClean = init.wasClean ?? false;
  }
}

export class ErrorEvent extends Event {
  readonly error: unknown;
  readonly message: string;
  constructor(type: string, init: { error?: unknown; message?: string } = {}) {
    super(type);
    this.error = init.error ?? null;
    this.message = init.message ?? '';
  }
}
