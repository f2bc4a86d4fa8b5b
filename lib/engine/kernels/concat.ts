/**
 * `Concat` and `SplitV` on the wasm backend for narrow pieces.
 *
 * tfjs-backend-wasm 4.22 concatenates with one `subarray` + `set` per row and piece, and splits
 * with one strided `Slice` per piece. When the pieces are narrow along the axis (the RIM's input
 * `[x, ∇]` is two 1-channel images, concatenated on the channels: 8192 rows of 1 value each on the
 * RIM-bench), those per-row calls cost ~3 ms for 16k values, more than a 5×5 convolution of the
 * same images. Here rows narrower than {@link NARROW} values are copied element by element in one
 * loop, wider ones with `set`, as before. Other dtypes than float32/int32 go to the backend's own
 * kernels. Same values, bit for bit (a copy).
 */
import { tf } from '../tf';
import { sizeOf, WASM, WasmBackendLike } from './wasm_util';

/** Rows of at most this many values are copied by a loop, wider ones by `TypedArray.set`. */
export const NARROW = 32;

type Views = Float32Array | Int32Array | Uint8Array;

/** Copies `count` values of `src` from `from` to `dst` at `to`, by a loop when short. */
function copy(dst: Views, to: number, src: Views, from: number, count: number): void {
  if (count > NARROW) dst.set(src.subarray(from, from + count), to);
  else for (let i = 0; i < count; i++) dst[to + i] = src[from + i];
}

function axisOf(axis: unknown, rank: number): number {
  const a = Array.isArray(axis) ? (axis[0] as number) : (axis as number);
  return a < 0 ? a + rank : a;
}

/** The `Concat` kernel for float32/int32 (others: `fallback`). */
export function concatWith(fallback: tf.KernelFunc): tf.KernelFunc {
  return ((args: { inputs: tf.TensorInfo[]; attrs: tf.NamedAttrMap; backend: unknown }) => {
    const all = args.inputs;
    const dtype = all[0]?.dtype;
    if (!(dtype === 'float32' || dtype === 'int32') || all.some((t) => t.dtype !== dtype)) return fallback(args as unknown as Parameters<tf.KernelFunc>[0]);
    const rank = all[0].shape.length;
    const axis = axisOf(args.attrs.axis, rank);
    const pieces = all.filter((t) => sizeOf(t.shape) > 0);
    // one piece (or none) and the shape checks: the backend's own kernel
    if (pieces.length < 2 || axis < 0 || axis >= rank) return fallback(args as unknown as Parameters<tf.KernelFunc>[0]);
    const backend = args.backend as WasmBackendLike;
    for (const t of all) {
      if (t.shape.length !== rank || t.shape.some((d, k) => k !== axis && d !== all[0].shape[k])) {
        throw new Error(`Concat: shapes ${all.map((s) => `[${s.shape}]`).join(', ')} differ outside axis ${axis}`);
      }
    }
    const outShape = all[0].shape.slice();
    outShape[axis] = all.reduce((n, t) => n + t.shape[axis], 0);
    const out = backend.makeOutput(outShape, dtype);
    const rows = sizeOf(outShape.slice(0, axis));
    const widths = pieces.map((t) => sizeOf(t.shape.slice(axis)));
    const total = widths.reduce((a, b) => a + b, 0);
    const src = pieces.map((t) => backend.typedArrayFromHeap(t)); // views after makeOutput (the heap may grow)
    const dst = backend.typedArrayFromHeap(out);
    if (widths.every((w) => w === 1)) {
      // the common narrow case (channels of 1): a gather with stride
      const k = src.length;
      for (let p = 0; p < k; p++) {
        const s = src[p];
        for (let r = 0, o = p; r < rows; r++, o += k) dst[o] = s[r];
      }
      return out;
    }
    for (let r = 0; r < rows; r++) {
      let o = r * total;
      for (let p = 0; p < src.length; p++) {
        copy(dst, o, src[p], r * widths[p], widths[p]);
        o += widths[p];
      }
    }
    return out;
  }) as unknown as tf.KernelFunc;
}

/** The `SplitV` kernel for float32/int32 (others: `fallback`). */
export function splitVWith(fallback: tf.KernelFunc): tf.KernelFunc {
  return ((args: { inputs: { x: tf.TensorInfo }; attrs: tf.NamedAttrMap; backend: unknown }) => {
    const x = args.inputs.x;
    if (!(x.dtype === 'float32' || x.dtype === 'int32')) return fallback(args as unknown as Parameters<tf.KernelFunc>[0]);
    const rank = x.shape.length;
    const axis = axisOf(args.attrs.axis, rank);
    const split = args.attrs.numOrSizeSplits as number | number[];
    const n = x.shape[axis];
    let sizes: number[];
    if (typeof split === 'number') {
      if (!(split >= 1 && n % split === 0)) return fallback(args as unknown as Parameters<tf.KernelFunc>[0]);
      sizes = new Array<number>(split).fill(n / split);
    } else {
      sizes = split.slice();
      const free = sizes.indexOf(-1);
      if (free >= 0) sizes[free] = n - sizes.reduce((a, b) => a + (b === -1 ? 0 : b), 0);
      if (sizes.reduce((a, b) => a + b, 0) !== n || sizes.some((s) => s < 0)) return fallback(args as unknown as Parameters<tf.KernelFunc>[0]);
    }
    const backend = args.backend as WasmBackendLike;
    const inner = sizeOf(x.shape.slice(axis + 1));
    const rows = sizeOf(x.shape.slice(0, axis));
    const total = n * inner;
    const outs = sizes.map((s) => {
      const shape = x.shape.slice();
      shape[axis] = s;
      return backend.makeOutput(shape, x.dtype);
    });
    const src = backend.typedArrayFromHeap(x);
    let offset = 0;
    outs.forEach((out, p) => {
      const width = sizes[p] * inner;
      if (width > 0) {
        const dst = backend.typedArrayFromHeap(out);
        if (width === 1) for (let r = 0, i = offset; r < rows; r++, i += total) dst[r] = src[i];
        else for (let r = 0; r < rows; r++) copy(dst, r * width, src, r * total + offset, width);
      }
      offset += width;
    });
    return outs;
  }) as unknown as tf.KernelFunc;
}

/** The configs of both kernels around the backend's own ones (for `registerWasmKernels`). */
export function narrowCopyConfigs(): tf.KernelConfig[] {
  const configs: tf.KernelConfig[] = [];
  for (const [name, wrap] of [['Concat', concatWith], ['SplitV', splitVWith]] as const) {
    const own = tf.getKernel(name, WASM);
    if (own) configs.push({ ...own, kernelFunc: wrap(own.kernelFunc) });
  }
  return configs;
}
