/**
 * Engine choice: which tfjs backend runs the library.
 *
 * Order: the native TensorFlow backend (`tensorflow`) when `@tensorflow/tfjs-node-gpu` or
 * `@tensorflow/tfjs-node` is installed *and registers it*, else WebAssembly (`wasm`), else plain
 * JavaScript (`cpu`). `LGD_BACKEND=tensorflow|wasm|cpu` forces one.
 *
 * Why "registers" and not "a require succeeds": a package called `@tensorflow/tfjs-node` can be
 * installed without its native library (its install script downloads libtensorflow, which fails
 * offline), or be an npm alias to the pure `@tensorflow/tfjs`. Only a registered `tensorflow`
 * backend proves a native one.
 */
import { tf } from './tf';
import { setting } from '../settings';
import { registerConvGradients, registerWasmKernels } from './kernels';
import { nativeStatusLine, registerNativeKernels } from './native';

export { tf };

/** The backends the engine can choose. */
export const BACKENDS = ['tensorflow', 'wasm', 'cpu'] as const;
/** A backend name of {@link BACKENDS}. */
export type BackendName = (typeof BACKENDS)[number];

/** What {@link initEngine} chose. */
export interface EngineInfo {
  backend: BackendName;
  /** Why this one (forced by LGD_BACKEND, or auto). */
  reason: string;
  tfjsVersion: string;
  /** True when the optional native oneDNN convolutions (native/, `npm run build:native`) run the wasm backend's convs. */
  native: boolean;
}

/** Options of {@link initEngine}. */
export interface EngineOptions {
  /** Force a backend; default: `LGD_BACKEND` (lib/settings.ts), else automatic. */
  backend?: string;
  /** Print nothing (default: one line saying what was chosen). */
  quiet?: boolean;
}

/**
 * Parses a backend name (from `LGD_BACKEND` or an option); an unknown name is an error that lists
 * the valid ones. Empty / undefined means automatic.
 */
export function parseBackend(value: string | undefined, origin = 'LGD_BACKEND'): BackendName | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim().toLowerCase();
  if ((BACKENDS as readonly string[]).includes(v)) return v as BackendName;
  throw new Error(`${origin}="${value}" is not a backend; valid values: ${BACKENDS.join(', ')} (or unset for automatic)`);
}

/** The installed native package's real name, or undefined (an npm alias to pure tfjs doesn't count). */
function nativePackage(name: string): string | undefined {
  try {
    const pkg = require(`${name}/package.json`) as { name?: string };
    return pkg.name === name ? name : undefined;
  } catch {
    return undefined;
  }
}

/** Loads a native tfjs-node(-gpu) if installed; true when the `tensorflow` backend is registered after. */
function tryNative(): { ok: boolean; detail: string } {
  const errors: string[] = [];
  for (const name of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    if (!nativePackage(name)) continue;
    try {
      require(name);
    } catch (err) {
      errors.push(`${name}: ${(err as Error).message.split('\n')[0]}`);
      continue;
    }
    if (tf.findBackendFactory('tensorflow')) return { ok: true, detail: name };
    errors.push(`${name} loaded but registered no 'tensorflow' backend with this tfjs`);
  }
  return { ok: false, detail: errors.length ? errors.join('; ') : 'no @tensorflow/tfjs-node(-gpu) installed' };
}

async function trySet(name: BackendName): Promise<boolean> {
  if (name === 'wasm') {
    require('@tensorflow/tfjs-backend-wasm');
  }
  try {
    const ok = await tf.setBackend(name);
    if (ok) await tf.ready();
    return ok && tf.getBackend() === name;
  } catch {
    return false;
  }
}

let chosen: Promise<EngineInfo> | undefined;
let nativeOn = false;

/**
 * Chooses and initialises the backend once per process (later calls return the same choice).
 * Registers the extra kernels the wasm backend lacks (e.g. `Conv2DBackpropFilter`).
 * @example
 * const { backend } = await initEngine(); // prints "engine: wasm (...)"
 */
export function initEngine(options: EngineOptions = {}): Promise<EngineInfo> {
  if (!chosen) {
    chosen = chooseBackend(options).catch((err) => {
      chosen = undefined;
      throw err;
    });
  }
  return chosen;
}

async function chooseBackend(options: EngineOptions): Promise<EngineInfo> {
  const forced = options.backend !== undefined ? parseBackend(options.backend, 'backend option') : setting('LGD_BACKEND');
  let backend: BackendName | undefined;
  let reason: string;
  if (forced) {
    if (forced === 'tensorflow') {
      const native = tryNative();
      if (!native.ok) throw new Error(`LGD_BACKEND=tensorflow but no native backend: ${native.detail}. Install @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu.`);
    }
    if (!(await trySet(forced))) throw new Error(`LGD_BACKEND=${forced}: the backend failed to initialise`);
    backend = forced;
    reason = 'forced by LGD_BACKEND';
  } else {
    const native = tryNative();
    if (native.ok && (await trySet('tensorflow'))) {
      backend = 'tensorflow';
      reason = `native (${native.detail})`;
    } else if (await trySet('wasm')) {
      backend = 'wasm';
      reason = `auto; no tensorflow backend: ${native.detail}`;
    } else if (await trySet('cpu')) {
      backend = 'cpu';
      reason = 'auto; wasm failed to initialise';
    } else {
      throw new Error('no tfjs backend could be initialised (tried tensorflow, wasm, cpu)');
    }
  }
  // Dilation-aware conv gradients on every backend (tfjs's stock Conv2D gradient refuses
  // dilation > 1); on wasm also the kernels it lacks (Conv2DBackpropFilter) or runs slowly.
  // Then, on wasm, the optional native oneDNN convolutions on top (LGD_NATIVE=0 turns them off):
  // measured 10x faster than XNNPACK here (native/README.md); they fall back per call to the above.
  if (backend === 'wasm') registerWasmKernels();
  else registerConvGradients();
  nativeOn = backend === 'wasm' && registerNativeKernels({ quiet: true });
  const info: EngineInfo = { backend, reason, tfjsVersion: tf.version.tfjs, native: nativeOn };
  if (!options.quiet && !setting('LGD_ENGINE_QUIET')) {
    const convs = backend === 'wasm' ? `; ${nativeStatusLine()}` : '';
    console.log(`engine: ${backend} (tfjs ${info.tfjsVersion}; ${reason}${convs})`);
  }
  return info;
}
