/**
 * The option checks shared by lib/options.ts and lib/tls.ts (a module of its own so that neither
 * imports the other for them): each returns the value or the fallback, or throws a typed error
 * naming the option.
 */
import { InvalidArgumentTypeError, OutOfRangeError } from './errors.js';

/** An integer option in [min, max], or `fallback` when absent. */
export function intOption(o: Record<string, unknown>, key: string, min: number, max: number, fallback: number, name: string): number {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number') throw new InvalidArgumentTypeError(`${name}.${key}`, 'of type number', v);
  if (!Number.isInteger(v) || v < min || v > max) throw new OutOfRangeError(`${name}.${key}`, `an integer from ${min} to ${max}`, v);
  return v;
}

/** A boolean option, or `fallback` when absent. */
export function boolOption(o: Record<string, unknown>, key: string, fallback: boolean, name: string): boolean {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new InvalidArgumentTypeError(`${name}.${key}`, 'of type boolean', v);
  return v;
}
