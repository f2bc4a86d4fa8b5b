/**
 * Published numbers to put beside measured ones, transcribed from `shared/reference/PAPERS.md`
 * (which quotes the papers' tables). Settings and dataset names follow this workspace's tables:
 * dataset 'BSD68' / 'Set5' / 'Set14' / 'BSD100', setting 'sigma=25' / 'x2'.
 */
import { ResultRow } from '../report/tables';

/** Source of the gray-denoising peers (DnCNN README, TIP 2017 table). */
export const DNCNN_SOURCE = 'DnCNN TIP 2017 table';
/** Source of the RIM paper's denoising table. */
export const RIM_SOURCE = 'Putzky & Welling 2017';
/** Source of FFDNet and DRUNet as tabulated in the Restormer paper. */
export const RESTORMER_SOURCE = 'Restormer CVPR 2022 table';
/** Source of the SR table (bicubic, SRCNN, VDSR; Y channel, border = scale). */
export const VDSR_SOURCE = 'VDSR CVPR 2016 table';

const SIGMAS = [15, 25, 50] as const;

/** Gray denoising on BSD68 (noisy image not quantized), PSNR only, `null` where not reported. */
const DENOISING: Array<[method: string, source: string, psnr: Array<number | null>]> = [
  ['BM3D', DNCNN_SOURCE, [31.07, 28.57, 25.62]],
  ['WNNM', DNCNN_SOURCE, [31.37, 28.83, 25.87]],
  ['EPLL', DNCNN_SOURCE, [31.21, 28.68, 25.67]],
  ['TNRD', DNCNN_SOURCE, [31.42, 28.92, 25.97]],
  ['DnCNN-S', DNCNN_SOURCE, [31.73, 29.23, 26.23]],
  ['DnCNN-B', DNCNN_SOURCE, [31.61, 29.16, 26.23]],
  ['FFDNet', RESTORMER_SOURCE, [31.63, 29.19, 26.29]],
  ['DRUNet', RESTORMER_SOURCE, [31.91, 29.48, 26.59]],
  ['BM3D', RIM_SOURCE, [31.08, 28.56, 25.62]],
  ['EPLL', RIM_SOURCE, [31.19, 28.68, 25.67]],
  ['LSSC', RIM_SOURCE, [31.27, 28.7, 25.72]],
  ['MLP', RIM_SOURCE, [null, 28.85, null]],
  ['RIM', RIM_SOURCE, [31.31, 28.91, 26.06]],
];

/** SR (bicubic degradation), `[set, scale, [method, psnr, ssim][]]`. */
const SUPER_RESOLUTION: Array<[set: string, scale: number, results: Array<[string, number, number]>]> = [
  ['Set5', 2, [['bicubic', 33.66, 0.9299], ['SRCNN', 36.66, 0.9542], ['VDSR', 37.53, 0.9587]]],
  ['Set5', 3, [['bicubic', 30.39, 0.8682], ['SRCNN', 32.75, 0.909], ['VDSR', 33.66, 0.9213]]],
  ['Set5', 4, [['bicubic', 28.42, 0.8104], ['SRCNN', 30.48, 0.8628], ['VDSR', 31.35, 0.8838]]],
  ['Set14', 2, [['bicubic', 30.24, 0.8688], ['SRCNN', 32.42, 0.9063], ['VDSR', 33.03, 0.9124]]],
  ['Set14', 3, [['bicubic', 27.55, 0.7742], ['SRCNN', 29.28, 0.8209], ['VDSR', 29.77, 0.8314]]],
  ['Set14', 4, [['bicubic', 26.0, 0.7027], ['SRCNN', 27.49, 0.7503], ['VDSR', 28.01, 0.7674]]],
  ['BSD100', 2, [['bicubic', 29.56, 0.8431], ['SRCNN', 31.36, 0.8879], ['VDSR', 31.9, 0.896]]],
  ['BSD100', 3, [['bicubic', 27.21, 0.7385], ['SRCNN', 28.41, 0.7863], ['VDSR', 28.82, 0.7976]]],
  ['BSD100', 4, [['bicubic', 25.96, 0.6675], ['SRCNN', 26.9, 0.7101], ['VDSR', 27.29, 0.7251]]],
];

/**
 * Published gray-denoising results on BSD68 (PSNR; SSIM not reported) for the given noise levels.
 * @param sigmas noise levels on the 0..255 scale (default 15, 25, 50)
 * @example
 * publishedDenoisingRows([25]).find((r) => r.method === 'BM3D')?.psnr; // 28.57
 */
export function publishedDenoisingRows(sigmas: readonly number[] = SIGMAS): ResultRow[] {
  const rows: ResultRow[] = [];
  for (const sigma of sigmas) {
    const k = SIGMAS.indexOf(sigma as (typeof SIGMAS)[number]);
    if (k < 0) continue;
    for (const [method, source, psnr] of DENOISING) {
      if (psnr[k] === null) continue;
      rows.push({ task: 'denoise', dataset: 'BSD68', setting: `sigma=${sigma}`, method, psnr: psnr[k], ssim: null, source });
    }
  }
  return rows;
}

/** Source of the seed project's color result (ys-koshelev/lgd README). */
export const SEED_SOURCE = 'ys-koshelev/lgd (seed project)';

/**
 * Published denoising results in the other settings of the RIM paper: BSD68 gray with the noisy
 * image quantized to 8 bits (setting 'sigma=σ, quantized'), and CBSD68 color at σ = 25, quantized
 * (CBM3D, RTF-5, RIM; and the seed project's LGD and TV + L-BFGS, whose quantization is not stated).
 * @example
 * publishedDenoisingExtraRows().find((r) => r.dataset === 'CBSD68' && r.method === 'RIM')?.psnr; // 30.84
 */
export function publishedDenoisingExtraRows(sigmas: readonly number[] = SIGMAS): ResultRow[] {
  const rows: ResultRow[] = [];
  const quantized: Record<number, number> = { 15: 31.25, 25: 28.76, 50: 25.27 };
  for (const s of sigmas) {
    if (quantized[s] !== undefined) rows.push({ task: 'denoise', dataset: 'BSD68', setting: `sigma=${s}, quantized`, method: 'RIM', psnr: quantized[s], ssim: null, source: RIM_SOURCE });
  }
  const color: Array<[string, number, string, string]> = [
    ['CBM3D', 30.18, RIM_SOURCE, 'sigma=25, quantized'],
    ['RTF-5', 30.57, RIM_SOURCE, 'sigma=25, quantized'],
    ['RIM', 30.84, RIM_SOURCE, 'sigma=25, quantized'],
    ['LGD (SRResNet)', 30.5, SEED_SOURCE, 'sigma=25'],
    ['TV (L-BFGS)', 27.27, SEED_SOURCE, 'sigma=25'],
  ];
  for (const [method, psnr, source, setting] of color) rows.push({ task: 'denoise', dataset: 'CBSD68', setting, method, psnr, ssim: null, source });
  return rows;
}

/**
 * Published SR results (PSNR/SSIM on Y, border = scale) for the given sets and scales.
 * @example
 * publishedSrRows(['Set5'], [4]).map((r) => r.method); // ['bicubic', 'SRCNN', 'VDSR']
 */
export function publishedSrRows(sets: readonly string[] = ['Set5', 'Set14', 'BSD100'], scales: readonly number[] = [2, 3, 4]): ResultRow[] {
  const rows: ResultRow[] = [];
  for (const [set, scale, results] of SUPER_RESOLUTION) {
    if (!sets.includes(set) || !scales.includes(scale)) continue;
    for (const [method, psnr, ssim] of results) {
      rows.push({ task: 'super-resolution', dataset: set, setting: `x${scale}`, method, psnr, ssim, source: VDSR_SOURCE });
    }
  }
  return rows;
}

/**
 * The published PSNR of one SR method (e.g. the bicubic baseline), or undefined.
 * @example
 * publishedSrPsnr('Set14', 3, 'bicubic'); // 27.55
 */
export function publishedSrPsnr(set: string, scale: number, method: string): number | undefined {
  return publishedSrRows([set], [scale]).find((r) => r.method === method)?.psnr ?? undefined;
}
