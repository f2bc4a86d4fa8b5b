/** The pixel mask of inpainting: `y = m ⊙ x`. */
import { tf } from '../engine/tf';
import { Rng } from '../io/rng';
import { formatShape, linearOperator } from './linear';
import { LinearOperator } from './types';

/**
 * Options of {@link mask}.
 * @example
 * mask(m, { name: 'inpainting 50%' });
 */
export interface MaskOptions {
  /** Name in errors and tables (default `mask <h>x<w>`). */
  name?: string;
}

/** The mask as `[b | 1, h, w, c | 1]`, from `[h, w]`, `[h, w, c]` or a 4-D shape. */
function as4d(m: tf.Tensor): tf.Tensor4D {
  const s = m.shape as number[];
  const f = tf.cast(m, 'float32'); // a copy (or a new handle) in float32
  if (m.rank === 2) return f.reshape([1, s[0], s[1], 1]);
  if (m.rank === 3) return f.reshape([1, s[0], s[1], s[2]]);
  if (m.rank === 4) return f as tf.Tensor4D;
  throw new Error(`mask: the mask must be [h, w], [h, w, c] or [b, h, w, c], got shape ${formatShape(m.shape)}`);
}

/**
 * Pixel masking (inpainting, missing pixels): `(A x)[b, i, j, c] = m[b, i, j, c] · x[b, i, j, c]`
 * with the mask broadcast over batch and/or channels. Self-adjoint, `Aᵀ = A`, `AᵀA x = m² ⊙ x`,
 * `‖A‖ = max |m|` (1 for a binary mask). The input must have the mask's height and width, and its
 * batch and channels must equal the mask's or the mask's must be 1; otherwise the error names the
 * operator and both shapes.
 * The operator keeps its own reference to the mask (the caller may dispose theirs); `dispose()`
 * frees it.
 * @param m `[h, w]`, `[h, w, c]` or `[b, h, w, c]`, usually 0/1 (any real weights work).
 * @example
 * const A = mask(randomMask(64, 64, 0.5, 1)); // keeps about half the pixels
 * const y = A.forward(x); // x: [b, 64, 64, c]
 * A.dispose();
 */
export function mask(m: tf.Tensor, options: MaskOptions = {}): LinearOperator {
  const owned = tf.tidy(() => tf.keep(as4d(m))); // [mb, h, w, mc]
  const [mb, mh, mw, mc] = owned.shape;
  const name = options.name ?? `mask ${mh}x${mw}`;
  let disposed = false;
  const get = (): tf.Tensor4D => {
    if (disposed) throw new Error(`${name}: used after dispose()`);
    return owned;
  };
  const check = (shape: readonly number[]): number[] => {
    const [b, h, w, c] = shape;
    if (h !== mh || w !== mw || (mb !== 1 && mb !== b) || (mc !== 1 && mc !== c)) {
      throw new Error(`${name}: shape ${formatShape(shape)} does not match the mask shape ${formatShape(owned.shape)} (same h, w; batch and channels equal or 1 in the mask)`);
    }
    return [...shape];
  };
  return linearOperator({
    name,
    outputShape: check,
    inputShape: check,
    apply: (x) => tf.mul(x, get()),
    applyAdjoint: (y) => tf.mul(y, get()),
    applyNormal: (x) => tf.mul(x, tf.square(get())),
    dispose() {
      if (!disposed) owned.dispose();
      disposed = true;
    },
  });
}

/**
 * A random binary mask `[1, h, w, 1]` (float32 0/1): each pixel is kept (1) with probability
 * `keep`, independently, from a seeded generator (same seed, same mask).
 * @param keep the probability of keeping a pixel, in [0, 1].
 * @example
 * const m = randomMask(32, 32, 0.2, 7); // 20% of pixels observed
 */
export function randomMask(height: number, width: number, keep: number, seed = 0): tf.Tensor4D {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new Error(`randomMask: height and width must be positive integers, got ${height}x${width}`);
  }
  if (!(keep >= 0 && keep <= 1)) throw new Error(`randomMask: keep must be in [0, 1], got ${keep}`);
  const rng = new Rng(seed);
  const values = new Float32Array(height * width);
  for (let i = 0; i < values.length; i++) values[i] = rng.next() < keep ? 1 : 0;
  return tf.tensor4d(values, [1, height, width, 1]);
}
