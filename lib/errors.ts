/**
 * Typed errors. Misuse by the local program throws one of these with a stable `code`; violations
 * by the peer close the connection with an RFC 6455 close code and are reported as
 * {@link WebSocketProtocolError} (issue 3 wires it to connections).
 */

/** A value of the wrong type was passed to a sockudo-ws function. */
export class InvalidArgumentTypeError extends TypeError {
  readonly code = 'ERR_INVALID_ARG_TYPE' as const;
  constructor(name: string, expected: string, actual: unknown) {
    super(`The "${name}" argument must be ${expected}. Received ${describe(actual)}`);
    this.name = 'InvalidArgumentTypeError';
  }
}

/** A value of the right type but outside the accepted range was passed. */
export class OutOfRangeError extends RangeError {
  readonly code = 'ERR_OUT_OF_RANGE' as const;
  constructor(name: string, range: string, actual: unknown) {
    super(`The value of "${name}" is out of range. It must be ${range}. Received ${describe(actual)}`);
    this.name = 'OutOfRangeError';
  }
}

/** The native addon could not be found or loaded for this platform. */
export class NativeLoadError extends Error {
  readonly code = 'ERR_SOCKUDO_WS_NATIVE_LOAD' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NativeLoadError';
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const ctor = (value as { constructor?: { name?: string } }).constructor?.name;
    return ctor ? `an instance of ${ctor}` : 'an object';
  }
  if (typeof value === 'string') {
    const shown = value.length > 28 ? `${value.slice(0, 25)}...` : value;
    return `type string (${JSON.stringify(shown)})`;
  }
  return `type ${typeof value} (${String(value)})`;
}
