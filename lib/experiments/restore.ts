/**
 * Restoring images with a committed model in one call, and the image folders that users bring
 * (SR pairs named `NAME_HR.png` / `NAME_LR.png`, or plain images to degrade).
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../engine/tf';
import { SrPair } from '../io/datasets';
import { Channels, readImage } from '../io/image';
import { LearnedSolver } from '../solvers/learned/types';
import { selfEnsembleMethod } from './ensemble';
import { learnedMethod } from './evaluate';
import { loadOrTrainModel } from './learned';
import { modcrop } from './sr';
import { deblurringTask, denoisingTask, RestorationTask, superResolutionTask } from './tasks';

/** The tasks that {@link restore} and `npm run evaluate` know. */
export type RestoreTaskName = 'denoise' | 'sr' | 'deblur';

/**
 * The committed model of each task (denoising: by channels). SR: `rim_sr48`, the F = 48 RIM
 * widened from `rim_sr` and trained on (`rim_sr` stays as notebook 03's equal-steps comparison).
 * Color denoising: `rim_color_q`, trained on clipped 8-bit noisy images as photos are (CBSD68
 * σ = 25: 30.20 dB quantized, 30.15 unquantized; `rim_color`, trained on unclipped noise: 29.80 / 30.23).
 */
export function defaultModel(task: RestoreTaskName, channels: number): string {
  if (task === 'sr') return 'rim_sr48';
  if (task === 'deblur') return 'rim_deblur';
  return channels === 1 ? 'rim_gray' : 'rim_color_q';
}

/**
 * The evaluation task of a name and its parameter: denoising at `sigma` (0..255; `quantize`: the
 * noisy image rounded to 8 bits, the color table's protocol), SR at `scale`, or deblurring (the
 * 9×9, s = 1.6 Gaussian blur of notebook 01 at `sigma`, default 2).
 * @example
 * restorationTaskFor('sr', { scale: 3 }).setting; // 'x3'
 */
export function restorationTaskFor(task: RestoreTaskName, p: { sigma?: number; scale?: number; quantize?: boolean }): RestorationTask {
  if (p.quantize && task !== 'denoise') throw new Error(`restore: quantize is for task denoise, not ${task}`);
  if (task === 'sr') {
    if (p.scale === undefined) throw new Error('restore: task sr needs a scale (2, 3, 4, …)');
    return superResolutionTask({ scale: p.scale });
  }
  if (task === 'denoise') {
    if (p.sigma === undefined) throw new Error('restore: task denoise needs sigma (0..255 scale)');
    return denoisingTask({ sigma: p.sigma, quantize: p.quantize });
  }
  if (task === 'deblur') return deblurringTask({ kernelSize: 9, kernelSigma: 1.6, sigma: p.sigma ?? 2 });
  throw new Error(`restore: unknown task ${JSON.stringify(task)} (use denoise, sr or deblur)`);
}

/** Options of {@link restore}. */
export interface RestoreImageOptions {
  /** A committed model's name (`results/models/<name>`, checksums verified) or a loaded solver (not disposed). */
  model?: string | LearnedSolver;
  task: RestoreTaskName;
  /** Noise σ of the measurement, 0..255 scale (denoise; deblur default 2). */
  sigma?: number;
  /** SR factor. */
  scale?: number;
  /** Geometric self-ensemble: the 8 flips / 90° rotations averaged (8x the time; default false). */
  ensemble?: boolean;
}

/**
 * Restores one degraded image with a learned model: the noisy image (denoise, deblur) or the LR
 * image (SR, output `scale` times larger; color images: the luma restored, chroma bicubic).
 * Loading, tidying and rounding happen inside; the result is a new 8-bit `[1, h, w, c]` tensor.
 * @param image the measurement `[1, h, w, c]` in [0, 1] (not disposed)
 * @example
 * const sr = await restore(lr, { task: 'sr', scale: 3 });            // with results/models/rim_sr48
 * const x = await restore(noisy, { task: 'denoise', sigma: 25 });    // rim_gray or rim_color_q by channels
 * const plus = await restore(lr, { task: 'sr', scale: 3, ensemble: true }); // 8 flips / rotations averaged
 */
export async function restore(image: tf.Tensor4D, options: RestoreImageOptions): Promise<tf.Tensor4D> {
  const task = restorationTaskFor(options.task, options);
  const owned = typeof options.model !== 'object';
  const solver = typeof options.model === 'object' ? options.model : (await loadOrTrainModel(options.model ?? defaultModel(options.task, image.shape[3]))).solver;
  try {
    const input = task.input(image);
    try {
      const method = learnedMethod(solver);
      return (options.ensemble ? selfEnsembleMethod(method) : method).restore(image, task, { input }).output;
    } finally {
      input.dispose();
    }
  } finally {
    if (owned) solver.dispose();
  }
}

const IMAGE_FILE = /\.(png|jpe?g|bmp|tiff?)$/i;

/**
 * The SR pairs of any folder: every `NAME_HR.<ext>` with its `NAME_LR.<ext>` beside it (the
 * convention of `data/sr`, e.g. `img_001_SRF_3_HR.png`). An HR whose sides are not multiples of
 * the scale is cropped to them (MATLAB's `modcrop`, as the LR was made) when the LR is exactly the
 * cropped size over the scale. Each image keeps its file's channels.
 * @throws naming the folder when it is missing or has no pairs, the file when an LR is missing or
 *   unreadable, both files and sizes when they disagree with the scale; nothing stays loaded then
 * @example
 * const pairs = await loadSrPairsFromDir('my_pairs', 3);
 */
export async function loadSrPairsFromDir(dir: string, scale: number): Promise<SrPair[]> {
  if (!Number.isInteger(scale) || scale < 2) throw new Error(`the scale must be an integer >= 2, got ${scale}`);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`no such folder: ${dir}`);
  const hrFiles = fs.readdirSync(dir).filter((f) => IMAGE_FILE.test(f) && /_HR\.[a-z]+$/i.test(f)).sort();
  if (hrFiles.length === 0) throw new Error(`no SR pairs in ${dir}: expected files named NAME_HR.png with NAME_LR.png beside them`);
  const pairs: SrPair[] = [];
  try {
    for (const f of hrFiles) {
      const hrFile = path.join(dir, f);
      const lrName = f.replace(/_HR(\.[a-z]+)$/i, '_LR$1');
      const lrFile = path.join(dir, lrName);
      if (!fs.existsSync(lrFile)) throw new Error(`${hrFile} has no LR partner ${lrName}`);
      let hr = await readImage(hrFile);
      const lr = await readImage(lrFile);
      const [, hh, hw, hc] = hr.shape;
      const [, lh, lw, lc] = lr.shape;
      const name = f.replace(/(_SRF_\d+)?_HR\.[a-z]+$/i, '');
      if (hc !== lc) {
        tf.dispose([hr, lr]);
        throw new Error(`${hrFile} has ${hc} channel(s) but ${lrFile} has ${lc}`);
      }
      if (Math.floor(hh / scale) !== lh || Math.floor(hw / scale) !== lw) {
        tf.dispose([hr, lr]);
        throw new Error(`${lrFile} is ${lh}×${lw} but its HR ${hrFile} is ${hh}×${hw}, which at scale ${scale} gives an LR of ${Math.floor(hh / scale)}×${Math.floor(hw / scale)} (wrong --scale, or not a pair?)`);
      }
      if (hh % scale !== 0 || hw % scale !== 0) {
        const cropped = modcrop(hr, scale);
        hr.dispose();
        hr = cropped;
      }
      pairs.push({ name, hr, lr });
    }
  } catch (err) {
    for (const p of pairs) tf.dispose([p.hr, p.lr]);
    throw err;
  }
  return pairs;
}

/**
 * The images of any folder (png, jpg, bmp, tiff), sorted by name, as `[1, h, w, c]` in [0, 1]
 * (`channels` 1: BT.601 gray; 3: RGB; default each file's own).
 * @throws naming the folder when missing or without images, or the unreadable file
 * @example
 * const images = await loadImagesFromDir('photos', 1);
 */
export async function loadImagesFromDir(dir: string, channels?: Channels): Promise<{ name: string; image: tf.Tensor4D }[]> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`no such folder: ${dir}`);
  const files = fs.readdirSync(dir).filter((f) => IMAGE_FILE.test(f)).sort();
  if (files.length === 0) throw new Error(`no images (png, jpg, bmp, tiff) in ${dir}`);
  const out: { name: string; image: tf.Tensor4D }[] = [];
  try {
    for (const f of files) out.push({ name: f.replace(IMAGE_FILE, ''), image: await readImage(path.join(dir, f), { channels }) });
  } catch (err) {
    tf.dispose(out.map((o) => o.image));
    throw err;
  }
  return out;
}
