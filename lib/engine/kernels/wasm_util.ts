/**
 * Small toolkit for writing composite kernels on the tfjs WebAssembly backend.
 *
 * A composite kernel (e.g. the convolution gradients in this folder) is a `kernelFunc` that calls
 * other, already registered wasm kernels (`Conv2D` = XNNPACK, `Transpose`, `Slice`, ...) directly,
 * without going through the engine: no tape, no Tensor objects, no engine bookkeeping per step.
 * The price is manual memory management: every intermediate `TensorInfo` lives in the wasm heap
 * until `backend.disposeData` is called on it. {@link WasmScope} records every intermediate it
 * creates and frees them all in {@link WasmScope.dispose}, except those handed out with
 * {@link WasmScope.keep} (the kernel's result, owned by the engine from then on).
 *
 * Small tensors (filters, a few thousand to ~100k values) are rearranged in plain JS on views of
 * the wasm heap ({@link WasmScope.view}); the heavy lifting always goes to wasm/XNNPACK kernels.
 */
import { tf } from '../tf';

/** The backend name the kernels of this folder are registered for. */
export const WASM = 'wasm';

/** The part of `BackendWasm` (from `@tensorflow/tfjs-backend-wasm`) these kernels use. */
export interface WasmBackendLike {
  /** Allocates an (uninitialised) output in the wasm heap, refCount 1. */
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** Decrements the refCount of `dataId` and frees it at 0. */
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
  /** A typed-array view on the heap memory of a tensor (invalidated when the heap grows). */
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  /** Number of live data buckets (used by leak tests). */
  numDataIds(): number;
}

/** The `kernelFunc` of the kernel `name` currently registered for the wasm backend. */
export function wasmKernel(name: string): tf.KernelFunc {
  const config = tf.getKernel(name, WASM);
  if (!config) throw new Error(`kernel '${name}' is not registered for backend '${WASM}'`);
  return config.kernelFunc;
}

/** Normalises a scalar-or-pair attribute (strides, dilations) to a pair. */
export function pair(v: number | number[] | undefined, fallback = 1): [number, number] {
  if (v === undefined || v === null) return [fallback, fallback];
  if (typeof v === 'number') return [v, v];
  if (v.length === 1) return [v[0], v[0]];
  return [v[0], v[1]];
}

/** Product of a shape's dimensions. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Runs wasm kernels inside another kernel and frees every intermediate at the end.
 * @example
 * const scope = new WasmScope(backend);
 * try {
 *   const t = scope.transpose(x, [3, 1, 2, 0]);
 *   return scope.keep(scope.run('Conv2D', { x: t, filter }, attrs));
 * } finally {
 *   scope.dispose();
 * }
 */
export class WasmScope {
  private readonly owned = new Set<tf.DataId>();

  /** @param backend the wasm backend handed to the outer kernelFunc. */
  constructor(readonly backend: WasmBackendLike) {}

  /** Runs the wasm kernel `name`; its (single) output is owned by this scope. */
  run(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): tf.TensorInfo {
    const out = wasmKernel(name)({ inputs, attrs, backend: this.backend as unknown as object });
    if (Array.isArray(out)) throw new Error(`kernel '${name}' returned several outputs`);
    this.owned.add(out.dataId);
    return out;
  }

  /** A new, uninitialised float32 tensor owned by this scope. */
  alloc(shape: number[]): tf.TensorInfo {
    const out = this.backend.makeOutput(shape, 'float32');
    this.owned.add(out.dataId);
    return out;
  }

  /** Same data, another shape (no copy; the alias is not separately owned). */
  reshape(info: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    if (sizeOf(shape) !== sizeOf(info.shape)) throw new Error(`cannot reshape [${info.shape}] to [${shape}]`);
    return { dataId: info.dataId, shape, dtype: info.dtype };
  }

  /** `Transpose` kernel; a no-op permutation returns `info` itself. */
  transpose(info: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    if (perm.every((p, i) => p === i)) return info;
    return this.run('Transpose', { x: info }, { perm });
  }

  /** `Slice` kernel; returns `info` itself when the slice is the whole tensor. */
  slice(info: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
    if (begin.every((b) => b === 0) && size.every((s, i) => s === info.shape[i])) return info;
    return this.run('Slice', { x: info }, { begin, size });
  }

  /** A Float32Array view on the heap data of `info`; take views only after the last allocation. */
  view(info: tf.TensorInfo): Float32Array {
    if (info.dtype !== 'float32') throw new Error(`expected float32, got ${info.dtype}`);
    return this.backend.typedArrayFromHeap(info) as Float32Array;
  }

  /** Releases `info` from this scope (e.g. the result), so that dispose() keeps it alive. */
  keep(info: tf.TensorInfo): tf.TensorInfo {
    this.owned.delete(info.dataId);
    return info;
  }

  /** Frees all intermediates still owned. */
  dispose(): void {
    for (const id of this.owned) this.backend.disposeData(id);
    this.owned.clear();
  }
}

/** The attributes both convolution-gradient kernels take, plus the optional `dilations` extension. */
export interface ConvGradAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  /** Extension: dilation of the forward conv (default 1). */
  dilations?: number | [number, number];
}

/** What {@link convGradInfo} works out for a convolution-gradient kernel. */
export interface ConvGradInfo {
  /** The forward conv's geometry. */
  info: tf.backend_util.Conv2DInfo;
  nchw: boolean;
  /** Filter `[kh, kw, ci, co]`. */
  kh: number;
  kw: number;
  ci: number;
  co: number;
  /** Strides and dilations as pairs. */
  sh: number;
  sw: number;
  dh: number;
  dw: number;
}

/**
 * The forward conv's geometry for a gradient kernel, after checking `dy` against it and that both
 * inputs are float32.
 * @param kernel the kernel's name (for errors)
 * @param xShape the forward input's shape
 * @param filterShape the forward filter's shape `[kh, kw, ci, co]`
 * @param other the kernel's other input (x or the filter), for the dtype check
 * @throws naming the kernel when dy's shape or a dtype is wrong
 */
export function convGradInfo(kernel: string, xShape: number[], filterShape: number[], attrs: ConvGradAttrs, dy: tf.TensorInfo, other: tf.TensorInfo): ConvGradInfo {
  const format = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC');
  const nchw = format === 'channelsFirst';
  const [kh, kw, ci, co] = filterShape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    [kh, kw, ci, co],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    format,
  );
  const { batchSize: B, outHeight: oH, outWidth: oW } = info;
  const dyShape = nchw ? [B, co, oH, oW] : [B, oH, oW, co];
  if (dy.shape.length !== 4 || dy.shape.some((v, i) => v !== dyShape[i])) {
    throw new Error(`${kernel}: dy has shape [${dy.shape}], expected [${dyShape}]`);
  }
  if (dy.dtype !== 'float32' || other.dtype !== 'float32') throw new Error(`${kernel}: float32 only`);
  const [sh, sw] = pair(attrs.strides);
  const [dh, dw] = pair(attrs.dilations);
  return { info, nchw, kh, kw, ci, co, sh, sw, dh, dw };
}
