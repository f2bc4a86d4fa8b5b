/** Argument checks shared by the priors (errors name the prior and the shapes). */
import { tf } from '../engine/tf';
import { assertNhwc, formatShape, sameShape } from '../operators/linear';

/**
 * Throws unless `x` is an NHWC batch `[b, h, w, c]` and, when given, `v` has the same shape.
 * @param who the prior's name (message prefix)
 * @param x the image
 * @param v an optional direction that must match `x`
 * @example
 * checkImage('tv', tf.zeros([8, 8]));  // Error: tv: x shape [8, 8] is not a 4-D NHWC shape ...
 */
export function checkImage(who: string, x: tf.Tensor, v?: tf.Tensor): void {
  assertNhwc(who, 'x', x.shape);
  if (v && !sameShape(x.shape, v.shape)) {
    throw new Error(`${who}: direction v has shape ${formatShape(v.shape)} but x has shape ${formatShape(x.shape)}`);
  }
}

/**
 * Throws unless `value` is a finite number ≥ 0 (or > 0 when `strict`), naming the prior and parameter.
 * @param who the prior's name (message prefix)
 * @param what the parameter's name
 * @param value the value to check
 * @param strict require > 0 instead of ≥ 0
 * @example
 * checkNonNegative('tv', 'lambda', -1); // Error: tv: lambda must be a finite number >= 0, got -1
 */
export function checkNonNegative(who: string, what: string, value: number, strict = false): void {
  if (!Number.isFinite(value) || value < 0 || (strict && value === 0)) {
    throw new Error(`${who}: ${what} must be a finite number ${strict ? '> 0' : '>= 0'}, got ${value}`);
  }
}
