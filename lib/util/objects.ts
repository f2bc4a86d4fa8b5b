/**
 * Small object helpers.
 * @example
 * stripUndefined({ a: 1, b: undefined }); // { a: 1 }
 */

/** A copy of `o` without its `undefined` fields, so that spreading it over defaults keeps the defaults. */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
