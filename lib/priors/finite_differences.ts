/**
 * The discrete image gradient `∇x = (D_v x, D_h x)` with forward differences and Neumann
 * (replicate) boundary, and its adjoint `∇ᵀ = −div`.
 */
import { tf } from '../engine/tf';

/**
 * Forward differences along height (`D_v`) and width (`D_h`), zero in the last row / column
 * (Neumann boundary: the image is extended by repeating its edge):
 *
 * `(D_v x)[i, j] = x[i+1, j] − x[i, j]` for `i < h−1`, `0` for `i = h−1`;
 * `(D_h x)[i, j] = x[i, j+1] − x[i, j]` for `j < w−1`, `0` for `j = w−1`; per image and channel.
 * @param x images `[b, h, w, c]`
 * @returns `[D_v x, D_h x]`, each `[b, h, w, c]`
 * @example
 * const [dv, dh] = imageGradient(tf.tensor4d([0, 1, 3, 6], [1, 2, 2, 1]));
 * // dv = [[3, 5], [0, 0]], dh = [[1, 0], [3, 0]]
 */
export function imageGradient(x: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
  return tf.tidy(() => [forwardDifference(x, 1), forwardDifference(x, 2)]);
}

/**
 * The adjoint of {@link imageGradient}: `∇ᵀ(p_v, p_h) = D_vᵀ p_v + D_hᵀ p_h = −div(p)`, with
 * `(D_hᵀ p)[j] = p̃[j−1] − p̃[j]`, `p̃` = `p` with its last column set to 0 and `p̃[−1] = 0`
 * (and likewise along the height). It satisfies `<∇x, p> = <x, ∇ᵀp>` for every `p`.
 * @param pv the vertical component `[b, h, w, c]`
 * @param ph the horizontal component `[b, h, w, c]`
 * @returns `[b, h, w, c]`
 * @example
 * const [dv, dh] = imageGradient(x);
 * const lap = imageGradientAdjoint(dv, dh); // ∇ᵀ∇x, the negative Neumann Laplacian of x
 */
export function imageGradientAdjoint(pv: tf.Tensor4D, ph: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.add(differenceAdjoint(pv, 1), differenceAdjoint(ph, 2)) as tf.Tensor4D);
}

/**
 * `1` everywhere but the last column (`[1, h, w, c]`, cached as an array per shape): along the
 * width, differences are computed on the flattened image (a shift by `c` values is a contiguous
 * slice, where a strided width slice costs ~15× more on wasm) and this mask zeroes what crosses
 * into the next row. The same float32 values as the strided form (a masked zero may be −0).
 */
const widthMasks = new Map<string, Float32Array>();
function lastColumnMask(h: number, w: number, c: number): tf.Tensor4D {
  const key = `${h}x${w}x${c}`;
  let m = widthMasks.get(key);
  if (!m) {
    m = new Float32Array(h * w * c).fill(1);
    for (let i = 0; i < h; i++) m.fill(0, (i * w + w - 1) * c, (i * w + w) * c);
    if (widthMasks.size > 32) widthMasks.clear();
    widthMasks.set(key, m);
  }
  return tf.tensor4d(m, [1, h, w, c]);
}

/** Forward difference along the width on the flattened image (see {@link lastColumnMask}). */
function widthDifference(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const n = h * w * c;
  const flat = tf.reshape(x, [b, n]);
  const d = tf.sub(tf.slice(flat, [0, c], [b, n - c]), tf.slice(flat, [0, 0], [b, n - c])); // x[i + c] − x[i]
  return tf.mul(tf.reshape(tf.pad(d, [[0, 0], [0, c]]), [b, h, w, c]), lastColumnMask(h, w, c)) as tf.Tensor4D;
}

/** Adjoint of {@link widthDifference}: `p̃[i − c] − p̃[i]` with `p̃` = `p` without its last column. */
function widthDifferenceAdjoint(p: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = p.shape;
  const n = h * w * c;
  const masked = tf.reshape(tf.mul(p, lastColumnMask(h, w, c)), [b, n]);
  const head = tf.slice(masked, [0, 0], [b, n - c]);
  return tf.reshape(tf.sub(tf.pad(head, [[0, 0], [c, 0]]), tf.pad(head, [[0, 0], [0, c]])), [b, h, w, c]) as tf.Tensor4D;
}

/** Forward difference along `axis` (1 = height, 2 = width), zero in the last slice. */
function forwardDifference(x: tf.Tensor4D, axis: 1 | 2): tf.Tensor4D {
  const n = x.shape[axis];
  if (n < 2) return tf.zerosLike(x);
  if (axis === 2) return widthDifference(x);
  const size = [...x.shape];
  size[axis] = n - 1;
  // Fresh arrays per op: tfjs keeps attribute arrays by reference for the backward pass.
  const head = tf.slice(x, [0, 0, 0, 0], size); // x[..., :n−1, ...]
  const tail = tf.slice(x, axis === 1 ? [0, 1, 0, 0] : [0, 0, 1, 0], [...size]); // x[..., 1:, ...]
  return tf.pad(tf.sub(tail, head), padding(axis, 0, 1)) as tf.Tensor4D;
}

/** Adjoint of {@link forwardDifference}: shift-right of `p̃` minus `p̃`. */
function differenceAdjoint(p: tf.Tensor4D, axis: 1 | 2): tf.Tensor4D {
  const n = p.shape[axis];
  if (n < 2) return tf.zerosLike(p);
  if (axis === 2) return widthDifferenceAdjoint(p);
  const size = [...p.shape];
  size[axis] = n - 1;
  const head = tf.slice(p, [0, 0, 0, 0], size); // p̃ without its (zeroed) last slice
  return tf.sub(tf.pad(head, padding(axis, 1, 0)), tf.pad(head, padding(axis, 0, 1))) as tf.Tensor4D;
}

function padding(axis: number, before: number, after: number): Array<[number, number]> {
  const p: Array<[number, number]> = [[0, 0], [0, 0], [0, 0], [0, 0]];
  p[axis] = [before, after];
  return p;
}
