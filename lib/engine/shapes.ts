/** Shape helpers shared by the whole library: formatting and checks for error messages. */

/**
 * Formats a shape for error messages.
 * @example
 * formatShape([1, 32, 32, 3]); // "[1, 32, 32, 3]"
 */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Checks that `shape` is a 4-D NHWC shape `[b, h, w, c]` of positive integers; throws an error
 * naming `operatorName`, the `role` of the tensor and its shape otherwise.
 * @example
 * assertNhwc('blur 5x5', 'input', [32, 32]); // throws "blur 5x5: input shape [32, 32] is not ..."
 */
export function assertNhwc(operatorName: string, role: string, shape: readonly number[]): void {
  if (shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`${operatorName}: ${role} shape ${formatShape(shape)} is not a 4-D NHWC shape [b, h, w, c] of positive sizes`);
  }
}

/**
 * True when two shapes are equal (same rank, same sizes).
 * @example
 * sameShape([1, 4, 4, 1], [1, 4, 4, 1]); // true
 */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
