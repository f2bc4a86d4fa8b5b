/**
 * Optional native convolution kernels (oneDNN, all cores) for the tfjs `wasm` backend.
 *
 * `native/` holds a small Node addon (N-API, built by node-gyp against Debian's `libdnnl-dev`,
 * see `native/README.md` and `scripts/build-native.ts`). When its `lgd_native.node` exists,
 * {@link registerNativeKernels} replaces the wasm backend's `Conv2D`, `FusedConv2D`,
 * `Conv2DBackpropInput`, `Conv2DBackpropFilter` and `BiasAddGrad` (`lib/engine/kernels`) kernels
 * by kernels that hand Float32Array
 * views on the wasm heap to oneDNN: the addon reads the inputs and writes the output in place
 * (zero copy; the views are taken fresh on every call, after the output is allocated, since the
 * heap can grow). Without the addon nothing changes: the wasm kernels (XNNPACK and
 * `lib/engine/kernels`) stay, and {@link nativeStatusLine} says why in one line.
 *
 * Anything the addon does not cover (non-float32, a zero-sized dimension, PReLU in
 * `FusedConv2D`, a bias that is not per channel, a geometry oneDNN rejects) goes to the kernel
 * that was registered before, per call.
 *
 * Environment: `LGD_NATIVE=0` disables the addon; `LGD_NATIVE_PATH` points at another .node
 * file; `LGD_NATIVE_THREADS` sets oneDNN's thread count (default: all cores);
 * `LGD_NATIVE_AUTOTUNE=0` keeps oneDNN's first-choice implementation per shape instead of timing
 * them all on the first call.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from './tf';
import { setting } from '../settings';
import { conv2dGradConfig } from './kernels';

/** The functions of `lgd_native.node` (see `native/src/lgd_native.cc`). */
export interface NativeAddon {
  convForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, params: Int32Array, act?: number, alpha?: number): void;
  convBackwardData(dy: Float32Array, w: Float32Array, dx: Float32Array, params: Int32Array): void;
  convBackwardWeights(x: Float32Array, dy: Float32Array, dw: Float32Array, params: Int32Array): void;
  /** oneDNN implementation chosen for a shape that has run (and the autotuning timings), else null. */
  implInfo(kind: 'F' | 'D' | 'W', params: Int32Array): string | null;
  info(): { version: string; hash: string; cpuRuntime: string; threads: number; isa: string; cached: number; autotune: boolean };
  setThreads(n: number): number;
  clearCache(): void;
  /** The fused conv-GRU gate over P pixels of F channels: `ih`, `hh` `[P, 3F]`, `h`, `out` `[P, F]`; see {@link GRU_GATE}. */
  gruGate(ih: Float32Array, hh: Float32Array, h: Float32Array, out: Float32Array, P: number, F: number): void;
  /** Its gradient: `dih`, `dhh` `[P, 3F]` and `dh` `[P, F]` from `dy` `[P, F]`. */
  gruGateGrad(ih: Float32Array, hh: Float32Array, h: Float32Array, dy: Float32Array, dih: Float32Array, dhh: Float32Array, dh: Float32Array, P: number, F: number): void;
}

/** What {@link nativeInfo} reports. */
export interface NativeInfo {
  available: boolean;
  /** Path of the addon file looked for. */
  path: string;
  /** Why it is not available (absent, failed to load, disabled). */
  reason?: string;
  /** oneDNN version, e.g. "2.6.3". */
  onednn?: string;
  /** oneDNN's CPU threading runtime ("OpenMP" in Debian's build). */
  runtime?: string;
  threads?: number;
  /** The instruction set oneDNN dispatches to (e.g. "avx512_core"). */
  isa?: string;
  /** Whether each new shape times oneDNN's implementations and keeps the fastest (LGD_NATIVE_AUTOTUNE=0: off). */
  autotune?: boolean;
}

/** Default location of the addon: `<repo>/native/build/Release/lgd_native.node` (from lib/ or dist/). */
export function nativeAddonPath(): string {
  return setting('LGD_NATIVE_PATH') ?? path.resolve(__dirname, '..', '..', 'native', 'build', 'Release', 'lgd_native.node');
}

let addon: NativeAddon | null | undefined;
let failure: string | undefined;

function defaultThreads(): number {
  const threads = setting('LGD_NATIVE_THREADS');
  if (threads !== undefined) return threads;
  const osAny = os as unknown as { availableParallelism?: () => number };
  return osAny.availableParallelism ? osAny.availableParallelism() : os.cpus().length;
}

/** Loads the addon once; null (never throws) when absent, disabled or broken. */
export function loadNative(): NativeAddon | null {
  if (addon !== undefined) return addon;
  const file = nativeAddonPath();
  addon = null;
  if (!setting('LGD_NATIVE')) {
    failure = 'disabled by LGD_NATIVE';
  } else if (!fs.existsSync(file)) {
    failure = 'not built (run `npx tsx scripts/build-native.ts`)';
  } else {
    try {
      // OpenMP wait policy: libgomp's default (workers spin ~300k iterations, then sleep) is kept
      // on purpose. A short spin (GOMP_SPINCOUNT=10000) made the RIM-bench step ~15% slower:
      // the convs of a step are separated by short wasm kernels, and waking a sleeping worker
      // costs more than the spin. Set OMP_WAIT_POLICY / GOMP_SPINCOUNT to override.
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const mod = require(file) as NativeAddon;
      mod.setThreads(defaultThreads());
      addon = mod;
    } catch (err) {
      failure = `failed to load: ${(err as Error).message.split('\n')[0]}`;
    }
  }
  return addon;
}

/** True when the native addon is built and loads. */
export function nativeAvailable(): boolean {
  return loadNative() !== null;
}

/** Version / threads of the addon, or why it is unavailable. */
export function nativeInfo(): NativeInfo {
  const mod = loadNative();
  const file = nativeAddonPath();
  if (!mod) return { available: false, path: file, reason: failure };
  const i = mod.info();
  return { available: true, path: file, onednn: i.version, runtime: i.cpuRuntime, threads: i.threads, isa: i.isa, autotune: i.autotune };
}

/** One line for logs: "native convs: oneDNN 2.6.3 (OpenMP, 2 threads, avx512_core)" or why not. */
export function nativeStatusLine(): string {
  const i = nativeInfo();
  return i.available
    ? `native convs: oneDNN ${i.onednn} (${i.runtime}, ${i.threads} threads, ${i.isa})`
    : `native convs: off, ${i.reason}; using the wasm kernels`;
}

/**
 * A short name of what computes: the backend, plus the oneDNN convs when they are on, e.g.
 * "wasm + oneDNN 2.6.3 convs (2 threads)". Training logs and benchmarks record it.
 */
export function engineLabel(backend: string, nativeOn: boolean): string {
  if (!nativeOn) return backend; // without loading the addon where it is not used
  const n = nativeInfo();
  return n.available ? `${backend} + oneDNN ${n.onednn} convs (${n.threads} thread${n.threads === 1 ? '' : 's'})` : backend;
}

/**
 * oneDNN's implementation for a conv (kind 'F' forward, 'D' backward-data, 'W' backward-weights)
 * of this geometry, with the autotuning timings; null if not run yet or the addon is unavailable.
 */
export function nativeImplInfo(kind: 'F' | 'D' | 'W', xShape: number[], filterShape: number[], attrs: NativeConvAttrs): string | null {
  const mod = loadNative();
  const g = convParams(xShape, filterShape, attrs);
  return mod && g ? mod.implInfo(kind, g.params) : null;
}

/** Sets oneDNN's thread count (drops the addon's primitive cache); returns the count in effect. */
export function setNativeThreads(n: number): number {
  const mod = loadNative();
  if (!mod) throw new Error(`native addon unavailable: ${failure}`);
  return mod.setThreads(n);
}

// ---------------------------------------------------------------------------------------------
// Geometry

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

/** Conv attributes as tfjs passes them (plus the `dilations` extension of the backprop kernels). */
export interface NativeConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: Rounding;
}

/**
 * The addon's `params` for a conv of input `xShape` and filter `filterShape` (HWIO), in tfjs'
 * conventions (same `computeConv2DInfo` as the wasm/cpu kernels); null when a size is 0.
 */
export function convParams(xShape: number[], filterShape: number[], a: NativeConvAttrs): { params: Int32Array; outShape: number[] } | null {
  const format = tf.backend_util.convertConv2DDataFormat(a.dataFormat ?? 'NHWC');
  const c = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    a.dilations ?? 1,
    a.pad,
    a.dimRoundingMode,
    false,
    format,
  );
  const p = c.padInfo;
  const v = [
    c.batchSize, c.inHeight, c.inWidth, c.inChannels,
    c.filterHeight, c.filterWidth, c.outChannels,
    c.outHeight, c.outWidth,
    c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth,
    p.top, p.left, p.bottom, p.right,
    format === 'channelsFirst' ? 1 : 0,
  ];
  for (let i = 0; i < 13; i++) if (!(v[i] > 0)) return null;
  for (let i = 13; i < 17; i++) if (!(v[i] >= 0)) return null;
  return { params: Int32Array.from(v), outShape: c.outShape };
}

// ---------------------------------------------------------------------------------------------
// Tensor access per backend

/** How a kernel reaches tensor memory on one backend. */
interface Access {
  /** Allocates the float32 output; returns its TensorInfo and a writable view. */
  output(shape: number[]): { info: tf.TensorInfo; view: () => Float32Array };
  /** A Float32Array on the data of `info`, or null if not float32 / not reachable. */
  input(info: tf.TensorInfo): Float32Array | null;
  /** Frees an output after a failure. */
  release(info: tf.TensorInfo): void;
}

interface WasmBackendInternals {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

interface CpuBackendInternals {
  data: { get(dataId: tf.DataId): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function wasmAccess(backend: unknown): Access {
  const b = backend as WasmBackendInternals;
  return {
    // Views are taken after the output is allocated (allocation may grow and move the heap).
    output(shape) {
      const info = b.makeOutput(shape, 'float32');
      return { info, view: () => b.typedArrayFromHeap(info) as Float32Array };
    },
    input(info) {
      return info.dtype === 'float32' ? (b.typedArrayFromHeap(info) as Float32Array) : null;
    },
    release(info) {
      b.disposeData(info.dataId, true);
    },
  };
}

function cpuAccess(backend: unknown): Access {
  const b = backend as CpuBackendInternals;
  return {
    output(shape) {
      const values = new Float32Array(size(shape));
      const info = b.makeTensorInfo(shape, 'float32', values);
      return { info, view: () => values };
    },
    input(info) {
      if (info.dtype !== 'float32') return null;
      const values = b.data.get(info.dataId).values;
      return values instanceof Float32Array ? values : null;
    },
    release(info) {
      b.disposeData(info.dataId, true);
    },
  };
}

const ACCESS: Record<string, (backend: unknown) => Access> = { wasm: wasmAccess, cpu: cpuAccess };

// ---------------------------------------------------------------------------------------------
// Kernels

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, elu: 3, sigmoid: 4, leakyrelu: 5 };

let warned = false;
function warnOnce(kernel: string, err: unknown): void {
  if (warned) return;
  warned = true;
  console.warn(`native convs: ${kernel} fell back to the previous kernel (${(err as Error).message}); further fallbacks are silent`);
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
/** A native kernel body: the result, or null to let the previous kernel run. */
type NativeBody = (mod: NativeAddon, access: Access, args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[] | null;

function conv2dBody(mod: NativeAddon, access: Access, args: KernelArgs): tf.TensorInfo | null {
  const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const a = args.attrs as unknown as NativeConvAttrs;
  if (x.shape.length !== 4 || filter.shape.length !== 4) return null;
  const g = convParams(x.shape, filter.shape, a);
  if (!g || x.dtype !== 'float32' || filter.dtype !== 'float32') return null;
  const out = access.output(g.outShape);
  const xv = access.input(x);
  const wv = access.input(filter);
  if (!xv || !wv) return release(access, out.info);
  try {
    mod.convForward(xv, wv, null, out.view(), g.params, 0, 0);
  } catch (err) {
    warnOnce('Conv2D', err);
    return release(access, out.info);
  }
  return out.info;
}

function fusedConv2dBody(mod: NativeAddon, access: Access, args: KernelArgs): tf.TensorInfo | null {
  const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const a = args.attrs as unknown as NativeConvAttrs & { activation?: string; leakyreluAlpha?: number };
  if (!x || !filter || preluActivationWeights) return null;
  if (x.shape.length !== 4 || filter.shape.length !== 4) return null;
  const act = ACTIVATIONS[a.activation ?? 'linear'];
  if (act === undefined) return null;
  const g = convParams(x.shape, filter.shape, a);
  if (!g || x.dtype !== 'float32' || filter.dtype !== 'float32') return null;
  const co = filter.shape[3];
  // Bias: per output channel ([co]) or one value (scalar / [1] / all-ones shape) only.
  let scalarBias = false;
  if (bias) {
    if (bias.dtype !== 'float32') return null;
    const n = size(bias.shape);
    const last = bias.shape.length ? bias.shape[bias.shape.length - 1] : 1;
    const perChannel = n === co && last === co && (bias.shape.length <= 1 || g.params[17] === 0);
    scalarBias = n === 1;
    if (!perChannel && !scalarBias) return null;
  }
  const out = access.output(g.outShape);
  const xv = access.input(x);
  const wv = access.input(filter);
  let bv: Float32Array | null = null;
  if (bias) {
    const raw = access.input(bias);
    if (!raw) return release(access, out.info);
    bv = scalarBias ? new Float32Array(co).fill(raw[0]) : raw;
  }
  if (!xv || !wv) return release(access, out.info);
  try {
    mod.convForward(xv, wv, bv, out.view(), g.params, act, a.leakyreluAlpha ?? 0.2);
  } catch (err) {
    warnOnce('FusedConv2D', err);
    return release(access, out.info);
  }
  return out.info;
}

function backpropInputBody(mod: NativeAddon, access: Access, args: KernelArgs): tf.TensorInfo | null {
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const a = args.attrs as unknown as NativeConvAttrs & { inputShape: number[] };
  if (dy.shape.length !== 4 || filter.shape.length !== 4 || a.inputShape?.length !== 4) return null;
  const g = convParams(a.inputShape, filter.shape, a);
  if (!g || dy.dtype !== 'float32' || filter.dtype !== 'float32') return null;
  if (g.outShape.some((v, i) => v !== dy.shape[i])) return null; // let the previous kernel report it
  const out = access.output([...a.inputShape]);
  const dyv = access.input(dy);
  const wv = access.input(filter);
  if (!dyv || !wv) return release(access, out.info);
  try {
    mod.convBackwardData(dyv, wv, out.view(), g.params);
  } catch (err) {
    warnOnce('Conv2DBackpropInput', err);
    return release(access, out.info);
  }
  return out.info;
}

function backpropFilterBody(mod: NativeAddon, access: Access, args: KernelArgs): tf.TensorInfo | null {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = args.attrs as unknown as NativeConvAttrs & { filterShape: number[] };
  if (x.shape.length !== 4 || dy.shape.length !== 4 || a.filterShape?.length !== 4) return null;
  const g = convParams(x.shape, a.filterShape, a);
  if (!g || x.dtype !== 'float32' || dy.dtype !== 'float32') return null;
  if (g.outShape.some((v, i) => v !== dy.shape[i])) return null;
  const out = access.output([...a.filterShape]);
  const xv = access.input(x);
  const dyv = access.input(dy);
  if (!xv || !dyv) return release(access, out.info);
  try {
    mod.convBackwardWeights(xv, dyv, out.view(), g.params);
  } catch (err) {
    warnOnce('Conv2DBackpropFilter', err);
    return release(access, out.info);
  }
  return out.info;
}

/** A ones vector of at least `n` values (grown, never shrunk; plain JS memory, read by oneDNN). */
let ones = new Float32Array(0);
function onesOf(n: number): Float32Array {
  if (ones.length < n) ones = new Float32Array(Math.max(n, 2 * ones.length)).fill(1);
  return ones.length === n ? ones : ones.subarray(0, n);
}

/**
 * `BiasAddGrad` (`lib/engine/kernels/bias_add_grad.ts`): `db[c] = Σ_m dy[m, c]`, computed as the
 * weight gradient of a 1×1 convolution whose input is a ones image `[1, 1, M, 1]` and whose output
 * gradient is `dy` read as `[1, 1, M, C]` (one oneDNN reduction, ~0.08 ms for `[8, 32, 32, 32]`).
 */
function biasAddGradBody(mod: NativeAddon, access: Access, args: KernelArgs): tf.TensorInfo | null {
  const { dy } = args.inputs as { dy: tf.TensorInfo };
  if (dy.dtype !== 'float32' || dy.shape.length < 1) return null;
  const c = dy.shape[dy.shape.length - 1];
  const m = c > 0 ? size(dy.shape) / c : 0;
  if (m === 0 || c === 0) {
    const zero = access.output([c]);
    zero.view().fill(0);
    return zero.info;
  }
  const g = convParams([1, 1, m, 1], [1, 1, 1, c], { strides: 1, pad: 'valid' });
  if (!g) return null;
  const out = access.output([c]);
  const dyv = access.input(dy);
  if (!dyv) return release(access, out.info);
  try {
    mod.convBackwardWeights(onesOf(m), dyv, out.view(), g.params);
  } catch (err) {
    warnOnce('BiasAddGrad', err);
    return release(access, out.info);
  }
  return out.info;
}

function release(access: Access, info: tf.TensorInfo): null {
  access.release(info);
  return null;
}

/**
 * The fused conv-GRU gate (a kernel of its own, only native): inputs `ih = W x + b_i` and
 * `hh = U h + b_h`, `[..., 3F]` with the gates r | z | n on the last axis, and `h` `[..., F]`;
 * output `h' = n + z (h − n)` with `r = σ(ih_r + hh_r)`, `z = σ(ih_z + hh_z)`,
 * `n = tanh(ih_n + r hh_n)` (tanh as `2σ(2a) − 1`). {@link GRU_GATE_GRAD} gives `[∂ih, ∂hh, ∂h]`
 * from the same inputs and `dy`. Used by the `gruGate` op (`lib/engine/ops`) when registered
 * ({@link gruGateKernelsActive}); without the addon that op composes tfjs ops.
 */
export const GRU_GATE = 'LgdGruGate';
/** The gradient kernel of {@link GRU_GATE}. */
export const GRU_GATE_GRAD = 'LgdGruGateGrad';

/** P (pixels) and F (channels) when `ih`, `hh` are `[..., 3F]` and `h` (and `dy`) `[..., F]` of the same leading shape, all float32; else null. */
function gruGeometry(args: KernelArgs, withDy: boolean): { P: number; F: number } | null {
  const { ih, hh, h, dy } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const parts = withDy ? [ih, hh, h, dy] : [ih, hh, h];
  if (parts.some((t) => !t || t.dtype !== 'float32')) return null;
  const F = h!.shape[h!.shape.length - 1];
  const lead = h!.shape.slice(0, -1);
  const fits = (t: tf.TensorInfo, c: number) => t.shape.length === lead.length + 1 && t.shape[lead.length] === c && lead.every((d, i) => t.shape[i] === d);
  if (!(F > 0) || !fits(ih!, 3 * F) || !fits(hh!, 3 * F) || (withDy && !fits(dy!, F))) return null;
  return { P: size(lead), F };
}

function gruGateBody(mod: NativeAddon, access: Access, args: KernelArgs): tf.TensorInfo | null {
  const g = gruGeometry(args, false);
  if (!g) return null;
  const { ih, hh, h } = args.inputs as Record<string, tf.TensorInfo>;
  const out = access.output(h.shape.slice());
  const v = [ih, hh, h].map((t) => access.input(t)); // views after the allocation (the heap may grow)
  if (v.some((x) => !x)) return release(access, out.info);
  mod.gruGate(v[0]!, v[1]!, v[2]!, out.view(), g.P, g.F);
  return out.info;
}

function gruGateGradBody(mod: NativeAddon, access: Access, args: KernelArgs): tf.TensorInfo[] | null {
  const g = gruGeometry(args, true);
  if (!g) return null;
  const { ih, hh, h, dy } = args.inputs as Record<string, tf.TensorInfo>;
  const outs = [ih.shape, hh.shape, h.shape].map((s) => access.output(s.slice()));
  const v = [ih, hh, h, dy].map((t) => access.input(t));
  if (v.some((x) => !x)) {
    outs.forEach((o) => access.release(o.info));
    return null;
  }
  const o = outs.map((x) => x.view());
  mod.gruGateGrad(v[0]!, v[1]!, v[2]!, v[3]!, o[0], o[1], o[2], g.P, g.F);
  return outs.map((x) => x.info);
}

const BODIES: Record<string, NativeBody> = {
  Conv2D: conv2dBody,
  FusedConv2D: fusedConv2dBody,
  Conv2DBackpropInput: backpropInputBody,
  Conv2DBackpropFilter: backpropFilterBody,
  BiasAddGrad: biasAddGradBody,
  [GRU_GATE]: gruGateBody,
  [GRU_GATE_GRAD]: gruGateGradBody,
};

/** True when the fused GRU gate kernels are registered for `backendName` (default: current). */
export function gruGateKernelsActive(backendName: string = tf.getBackend()): boolean {
  return ourKernelsRegistered([GRU_GATE, GRU_GATE_GRAD], backendName);
}

const stats = { native: 0, fallback: 0 };

/** Calls so far of the registered kernels: run natively, or sent to the previous kernel. */
export function nativeStats(): { native: number; fallback: number } {
  return { ...stats };
}

/** The kernel names {@link registerNativeKernels} replaces (the convolutions). */
export const NATIVE_KERNELS = Object.keys(BODIES).filter((k) => k !== GRU_GATE && k !== GRU_GATE_GRAD);

interface Installed {
  config: tf.KernelConfig;
  previous: tf.KernelConfig | undefined;
}

/** key `${kernel}/${backend}` -> what we installed and what it replaced. */
const installed = new Map<string, Installed>();
/** The `Conv2D` gradient that was registered before ours. */
let previousGradient: tf.GradConfig | undefined;

function makeConfig(kernelName: string, backendName: string, previous: tf.KernelConfig | undefined, mod: NativeAddon): tf.KernelConfig {
  const body = BODIES[kernelName];
  const accessFor = ACCESS[backendName];
  const kernelFunc = (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const r = body(mod, accessFor(args.backend), args);
    if (r) {
      stats.native++;
      return r;
    }
    stats.fallback++;
    if (!previous) throw new Error(`${kernelName}: case not supported by the native kernel and no ${backendName} kernel to fall back to`);
    return previous.kernelFunc(args as Parameters<tf.KernelFunc>[0]);
  };
  return {
    kernelName,
    backendName,
    kernelFunc: kernelFunc as unknown as tf.KernelFunc,
    // Keep the replaced kernel's setup/dispose: it is called as the fallback.
    setupFunc: previous?.setupFunc,
    disposeFunc: previous?.disposeFunc,
  };
}

/** Options of {@link registerNativeKernels}. */
export interface RegisterNativeOptions {
  /** Backends to register for (default `['wasm']`; `'cpu'` is supported too). */
  backends?: Array<'wasm' | 'cpu'>;
  /** Print nothing (default: one line, see {@link nativeStatusLine}). */
  quiet?: boolean;
}

/**
 * Replaces `Conv2D`, `FusedConv2D`, `Conv2DBackpropInput`, `Conv2DBackpropFilter` and
 * `BiasAddGrad` of the wasm backend (and optionally cpu) by the oneDNN kernels, and installs a `Conv2D` gradient that
 * sends dilated convolutions straight to them. Returns false (with a one-line note unless quiet)
 * when the addon is unavailable; idempotent. Call it after `registerWasmKernels()` (which it
 * builds on: the kernels it replaces become the per-call fallbacks).
 * @example
 * await initEngine();
 * registerNativeKernels(); // "native convs: oneDNN 2.6.3 (OpenMP, 2 threads, avx512_core)"
 */
export function registerNativeKernels(options: RegisterNativeOptions = {}): boolean {
  const mod = loadNative();
  if (!options.quiet && !setting('LGD_ENGINE_QUIET')) console.log(nativeStatusLine());
  if (!mod) return false;
  for (const backendName of options.backends ?? ['wasm']) {
    if (!ACCESS[backendName]) throw new Error(`registerNativeKernels: unsupported backend '${backendName}'`);
    // the GRU gate kernels need an addon built with them (an older build has only the convolutions)
    for (const kernelName of typeof mod.gruGate === 'function' ? [...NATIVE_KERNELS, GRU_GATE, GRU_GATE_GRAD] : NATIVE_KERNELS) {
      const key = `${kernelName}/${backendName}`;
      const current = tf.getKernel(kernelName, backendName);
      const mine = installed.get(key);
      if (mine && current === mine.config) continue;
      const config = makeConfig(kernelName, backendName, current, mod);
      if (current) tf.unregisterKernel(kernelName, backendName);
      tf.registerKernel(config);
      installed.set(key, { config, previous: current });
    }
  }
  const grad = tf.getGradient('Conv2D');
  if (grad !== nativeConv2dGradConfig) {
    previousGradient = grad;
    tf.registerGradient(nativeConv2dGradConfig);
  }
  return true;
}

/** Puts back the kernels {@link registerNativeKernels} replaced (for benchmarks and tests). */
export function unregisterNativeKernels(): void {
  for (const [key, { config, previous }] of installed) {
    const [kernelName, backendName] = key.split('/');
    if (tf.getKernel(kernelName, backendName) === config) {
      tf.unregisterKernel(kernelName, backendName);
      if (previous) tf.registerKernel(previous);
    }
    installed.delete(key);
  }
  if (tf.getGradient('Conv2D') === nativeConv2dGradConfig) tf.registerGradient(previousGradient ?? conv2dGradConfig);
  previousGradient = undefined;
}

/** True when the native kernels are the ones registered for `backendName` (default: current). */
export function nativeKernelsActive(backendName: string = tf.getBackend()): boolean {
  return ourKernelsRegistered(NATIVE_KERNELS, backendName);
}

/** True when every kernel of `names` registered for `backendName` is the one {@link registerNativeKernels} installed. */
function ourKernelsRegistered(names: readonly string[], backendName: string): boolean {
  return names.every((k) => {
    const mine = installed.get(`${k}/${backendName}`);
    return mine !== undefined && tf.getKernel(k, backendName) === mine.config;
  });
}

function isOne(d: number | number[] | undefined): boolean {
  if (d === undefined) return true;
  if (typeof d === 'number') return d === 1;
  return d.every((v) => v === 1);
}

/**
 * Gradient of `Conv2D`: on a backend running the native kernels, a dilated conv's gradients go
 * to them with a `dilations` attribute (oneDNN handles dilation directly); everything else is
 * `lib/engine/kernels`' gradient (which, not knowing these kernels, would take its portable
 * zero-inserted-filter route for dilation > 1: correct but ~2.8x the work for 3x3, d = 2).
 */
export const nativeConv2dGradConfig: tf.GradConfig = {
  kernelName: 'Conv2D',
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const a = attrs as unknown as NativeConvAttrs;
    if (isOne(a.dilations) || !nativeKernelsActive()) return (previousGradient ?? conv2dGradConfig).gradFunc(dy, saved, attrs);
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const g = dy as tf.Tensor4D;
    const common = { strides: a.strides, pad: a.pad, dataFormat: a.dataFormat, dimRoundingMode: a.dimRoundingMode, dilations: a.dilations };
    return {
      x: () => tf.engine().runKernel('Conv2DBackpropInput', { dy: g, filter }, { ...common, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
      filter: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: g }, { ...common, filterShape: filter.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
    };
  },
};
