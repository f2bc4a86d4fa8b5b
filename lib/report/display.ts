/**
 * Inline display in tslab (TypeScript Jupyter kernel) notebooks.
 *
 * How it works: tslab's kernel sets `globalThis.__tslab__` (the cell's `exports` and a wrapped
 * `require`) and, while a cell runs, stores the function that sends Jupyter `display_data`
 * messages in its `jupyter` module (`lastWriteDisplayData`). tslab's public `display` API sends one
 * MIME type per message; to send a *bundle* (several representations of the same output, of which
 * the front end picks the richest it can render), this module calls that function directly.
 * The kernel's own tslab copy is found through `__tslab__.require('tslab')` (tslab hooks that id),
 * so a globally installed kernel and a local `node_modules/tslab` cannot get mixed up.
 *
 * Outside a kernel (plain node, mocha, tsx scripts) every `show*` call is a no-op that returns
 * `false`; set `LGD_DISPLAY_NOTES=1` to print a one-line note for each skipped display instead.
 * Set `LGD_DISPLAY=0` to turn inline display off inside a kernel too.
 */
import * as path from 'path';
import { setting } from '../settings';

/** A Jupyter MIME bundle: MIME type to payload. Binary payloads are base64-encoded on send; JSON MIME types (`application/json`, `application/*+json`) take objects. */
export type MimeBundle = Record<string, string | Uint8Array | object>;

/** Shape of the message tslab's `writeDisplayData` takes (the content of a Jupyter `display_data` message). */
interface DisplayContent {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  transient: Record<string, unknown>;
}
type WriteDisplayData = (content: DisplayContent, update: boolean) => void;

/** The part of tslab's public `display` API used here. */
interface TslabDisplay {
  raw(contentType: string, b: string | Uint8Array): unknown;
}
interface TslabModule {
  display: TslabDisplay;
}
interface TslabJupyterModule {
  lastWriteDisplayData: WriteDisplayData | null;
}

interface KernelHandle {
  tslab: TslabModule;
  jupyter: TslabJupyterModule | undefined;
}

let cachedKernel: KernelHandle | null | undefined;

/** Finds the kernel's tslab module (and its `jupyter` module), or `null` outside a tslab kernel. */
function kernel(): KernelHandle | null {
  if (cachedKernel !== undefined) return cachedKernel;
  cachedKernel = null;
  const hook = (globalThis as { __tslab__?: { require?: (id: string) => unknown } }).__tslab__;
  if (!hook || typeof hook.require !== 'function') return cachedKernel;
  let tslab: TslabModule | undefined;
  try {
    tslab = hook.require('tslab') as TslabModule;
  } catch {
    return cachedKernel;
  }
  if (!tslab || !tslab.display || typeof tslab.display.raw !== 'function') return cachedKernel;
  // The module that holds `lastWriteDisplayData` sits next to tslab's public.js in the module cache.
  let jupyter: TslabJupyterModule | undefined;
  for (const [file, mod] of Object.entries(require.cache)) {
    if (mod && mod.exports === tslab) {
      const candidate = require.cache[path.join(path.dirname(file), 'jupyter.js')];
      if (candidate && 'lastWriteDisplayData' in (candidate.exports as object)) jupyter = candidate.exports as TslabJupyterModule;
      break;
    }
  }
  cachedKernel = { tslab, jupyter };
  return cachedKernel;
}

/**
 * True when this process is a tslab kernel that can show outputs in a notebook cell right now
 * (and `LGD_DISPLAY` is not `0`). False in plain node, mocha and scripts.
 */
export function isNotebook(): boolean {
  if (!setting('LGD_DISPLAY')) return false;
  const k = kernel();
  if (!k) return false;
  // Without the jupyter module we cannot tell whether a cell is running; tslab's display throws if not.
  return k.jupyter ? k.jupyter.lastWriteDisplayData != null : true;
}

function note(what: string): void {
  if (setting('LGD_DISPLAY_NOTES')) {
    console.log(`[report] not in a tslab notebook: inline display of ${what} skipped`);
  }
}

function isJsonMime(mime: string): boolean {
  return mime === 'application/json' || /^application\/.+\+json$/.test(mime);
}

function encodePayload(mime: string, value: string | Uint8Array | object): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (typeof value === 'string') return value;
  if (isJsonMime(mime)) return value;
  throw new Error(`showBundle: MIME type ${mime} needs a string or Uint8Array payload`);
}

/** Preference order when tslab's internals are unavailable and only one MIME type can be sent. */
const SINGLE_MIME_PREFERENCE = ['text/html', 'image/png', 'image/svg+xml', 'text/markdown', 'text/plain'];

/**
 * Shows a MIME bundle as one output of the running cell; the front end picks the richest type it
 * can render (e.g. JupyterLab with the plotly extension takes `application/vnd.plotly.v1+json`,
 * plain JupyterLab `text/html`, a static viewer `image/png`). Include `text/plain` for consoles.
 * @param bundle MIME type to payload (Uint8Array payloads are sent base64-encoded).
 * @param metadata Per-MIME metadata, e.g. `{ 'image/png': { width: 400 } }`.
 * @returns true if shown; false outside a notebook (no-op).
 */
export function showBundle(bundle: MimeBundle, metadata: Record<string, unknown> = {}): boolean {
  const mimes = Object.keys(bundle);
  if (!isNotebook()) {
    note(mimes.join(' + '));
    return false;
  }
  const k = kernel() as KernelHandle;
  const write = k.jupyter?.lastWriteDisplayData;
  if (write) {
    const data: Record<string, unknown> = {};
    for (const mime of mimes) data[mime] = encodePayload(mime, bundle[mime]);
    write({ data, metadata, transient: {} }, false);
    return true;
  }
  // Fallback: tslab's public API (one MIME type per output).
  const mime = SINGLE_MIME_PREFERENCE.find((m) => m in bundle && typeof bundle[m] !== 'object') ??
    SINGLE_MIME_PREFERENCE.find((m) => m in bundle);
  if (!mime) return false;
  const value = bundle[mime];
  k.tslab.display.raw(mime, value instanceof Uint8Array ? value : String(value));
  return true;
}

/**
 * Shows HTML inline (scripts run in trusted notebooks only).
 * @returns true if shown; false outside a notebook (no-op).
 */
export function showHtml(html: string, plainText?: string): boolean {
  return showBundle(plainText === undefined ? { 'text/html': html } : { 'text/html': html, 'text/plain': plainText });
}

/**
 * Shows a PNG image inline.
 * @param png Encoded PNG bytes.
 * @param size Optional display size in CSS pixels (the image keeps its own resolution).
 * @returns true if shown; false outside a notebook (no-op).
 */
export function showPng(png: Uint8Array, size?: { width?: number; height?: number }): boolean {
  const metadata: Record<string, unknown> = size ? { 'image/png': { ...size } } : {};
  return showBundle({ 'image/png': png, 'text/plain': '<PNG image>' }, metadata);
}

/**
 * Shows an SVG document inline.
 * @returns true if shown; false outside a notebook (no-op).
 */
export function showSvg(svg: string): boolean {
  return showBundle({ 'image/svg+xml': svg, 'text/plain': '<SVG image>' });
}

/**
 * Shows Markdown inline (with the Markdown itself as the plain-text form).
 * @returns true if shown; false outside a notebook (no-op).
 */
export function showMarkdown(markdown: string): boolean {
  return showBundle({ 'text/markdown': markdown, 'text/plain': markdown });
}

/**
 * Shows plain text as a display output (unlike console.log, it can be part of a bundle elsewhere).
 * @returns true if shown; false outside a notebook (no-op).
 */
export function showText(text: string): boolean {
  return showBundle({ 'text/plain': text });
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/**
 * Serializes a value as JSON that is safe inside an HTML `<script>` element
 * (no `</script>`, `<!--` or line separators can end or break the script).
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** For tests: forget the cached kernel lookup (e.g. after faking `globalThis.__tslab__`). */
export function resetDisplayCache(): void {
  cachedKernel = undefined;
}
