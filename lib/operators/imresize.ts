/**
 * MATLAB's `imresize(x, scale)` with the default bicubic kernel on image tensors, optionally
 * emulating MATLAB's 8-bit arithmetic bit-exactly, and bicubic upsampling (the SR baseline).
 */
import { tf } from '../engine/tf';
import { shrinkAxis } from './downsample';
import { assertNhwc } from './linear';
import { bicubicResizeMatrix, ResizeBoundary, ResizeMatrixOptions } from './resize';

const cache = new Map<string, Float32Array>();
const CACHE_LIMIT = 64;

/** The float32 copy of a resize matrix, cached by its arguments (JS memory only, no tensors). */
function matrix(inLength: number, outLength: number, scale: number, antialias: boolean, boundary: ResizeBoundary): Float32Array {
  const key = `${inLength},${outLength},${scale},${antialias},${boundary}`;
  let m = cache.get(key);
  if (!m) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    m = Float32Array.from(bicubicResizeMatrix(inLength, outLength, scale, { antialias, boundary }));
    cache.set(key, m);
  }
  return m;
}

/**
 * Options of {@link imresize}.
 * @example
 * imresize(x, 1 / 2, { quantize: true, boundary: 'replicate' });
 */
export interface ImresizeOptions extends ResizeMatrixOptions {
  /**
   * Emulate MATLAB on `uint8` images: the input is taken as 8-bit levels `round(255·x)`, and after
   * each 1-D pass the values are rounded (half up) and clipped to 0…255; the result is returned as
   * levels / 255. MATLAB resizes rows first, then columns, and stores the intermediate in the
   * input's class, so this is what `imresize(uint8Image, …)` computes. Working in integer levels
   * keeps MATLAB's exact ties (x2 weights are dyadic, so `k + ½` sums occur) exact in float32.
   * The result is no longer linear. Default false (float pipeline, no rounding, no clipping).
   */
  quantize?: boolean;
}

/** Rounds 8-bit-unit values half up (MATLAB's `round` on nonnegative values) and clips to [0, 255]. */
function round8(x: tf.Tensor): tf.Tensor {
  return tf.clipByValue(tf.floor(tf.add(x, 0.5)), 0, 255);
}

/**
 * MATLAB's `imresize(x, scale)` with the default bicubic kernel (antialiased when shrinking), to
 * the output size `⌈scale·h⌉ × ⌈scale·w⌉`: rows first, `t = R_h · x`, then columns,
 * `out = t · R_wᵀ`, per image and channel ({@link bicubicResizeMatrix}). With `quantize` it also
 * reproduces MATLAB's 8-bit arithmetic (the Set5/Set14 LR images bit for bit from their HR
 * images; see {@link ImresizeOptions.quantize}).
 * @param x `[b, h, w, c]` in [0, 1]; the caller keeps ownership (the result is a new tensor).
 * @param scale the MATLAB scale factor (> 0): `1/4` shrinks by 4, `2` enlarges by 2.
 * @example
 * const lr = imresize(hr, 1 / 4, { quantize: true }); // exactly MATLAB's LR of an 8-bit HR image
 */
export function imresize(x: tf.Tensor4D, scale: number, options: ImresizeOptions = {}): tf.Tensor4D {
  assertNhwc(`imresize x${scale}`, 'input', x.shape);
  if (!(scale > 0) || !Number.isFinite(scale)) throw new Error(`imresize: the scale must be a positive number, got ${scale}`);
  const [b, h, w, c] = x.shape;
  const H = Math.ceil(scale * h - 1e-9);
  const W = Math.ceil(scale * w - 1e-9);
  const aa = options.antialias ?? true;
  const boundary = options.boundary ?? 'replicate';
  const quantize = options.quantize ?? false;
  const q = quantize ? round8 : (t: tf.Tensor) => t;
  const s = Math.round(1 / scale);
  const integerShrink = scale < 1 && aa && boundary === 'replicate' && Math.abs(1 / scale - s) < 1e-9 && h % s === 0 && w % s === 0;
  return tf.tidy(() => {
    const input = quantize ? (round8(tf.mul(x, 255)) as tf.Tensor4D) : x; // 8-bit levels when quantizing
    let out: tf.Tensor4D;
    if (integerShrink) {
      // The same matrices as strided convolutions (O(taps) per output, not O(n)).
      out = q(shrinkAxis(q(shrinkAxis(input, s, 1)) as tf.Tensor4D, s, 2)) as tf.Tensor4D;
    } else {
      const Rh = tf.tensor3d(matrix(h, H, scale, aa, boundary), [1, H, h]);
      const Rw = tf.tensor3d(matrix(w, W, scale, aa, boundary), [1, W, w]);
      const rows = q(tf.matMul(Rh, input.reshape([b, h, w * c]))); // [b, H, w·c]
      const cols = q(tf.matMul(Rw, rows.reshape([b * H, w, c]))); // [b·H, W, c]
      out = cols.reshape([b, H, W, c]);
    }
    return quantize ? (tf.div(out, 255) as tf.Tensor4D) : out;
  });
}

/**
 * Bicubic upsampling identical to MATLAB's `imresize(x, scale)` (bicubic, no antialiasing when
 * enlarging) on float images: `[b, h, w, c] → [b, ⌈scale·h⌉, ⌈scale·w⌉, c]`, i.e.
 * {@link imresize} with `scale ≥ 1`. Values are not clipped (the cubic overshoots at edges); clip
 * before converting to 8 bit, as MATLAB's uint8 output does.
 * @param x `[b, h, w, c]`; the caller keeps ownership (the result is a new tensor).
 * @param scale the enlargement factor (≥ 1; usually the integer SR factor).
 * @example
 * const sr = upsampleBicubic(lr, 3); // the bicubic SR baseline, [1, 3h, 3w, 3]
 */
export function upsampleBicubic(x: tf.Tensor4D, scale: number, boundary: ResizeBoundary = 'replicate'): tf.Tensor4D {
  if (!(scale >= 1) || !Number.isFinite(scale)) throw new Error(`upsampleBicubic: the scale must be a number ≥ 1, got ${scale}`);
  return imresize(x, scale, { boundary });
}
