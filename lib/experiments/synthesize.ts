/**
 * Semantic synthesis of a folder of label maps (what `npm run -s evaluate -- --task synthesis`
 * runs): one PNG per label map, same file name, by one method through the segmenter `φ`, and
 * `φ`'s mIoU / pixel accuracy on its own outputs (so anyone can score the outputs with a
 * segmenter of their own).
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../engine/tf';
import { writeImage } from '../io/image';
import { ConfusionMatrix } from '../metrics/segmentation';
import { readLabelMap } from '../segmentation/camvid';
import { LearnedSolver } from '../solvers/learned/types';
import { addPredictions, labelMap, SemanticSynthesisTask } from './semantic';
import { meanColorMethod, SemanticMethod, semanticLearnedMethod, semanticTvMethod } from './semantic_eval';

/** The methods of the synthesis command. */
export const SYNTHESIS_METHODS = ['rim', 'lgd', 'generator', 'tv', 'mean'] as const;
export type SynthesisMethodName = (typeof SYNTHESIS_METHODS)[number];

/** The committed model of each learned method (rim: the RIM trained with the CE term, the strongest by φ' in notebook 04). */
export const SYNTHESIS_MODELS: Readonly<Record<'rim' | 'lgd' | 'generator', string>> = { rim: 'rim_semantic_ce2', lgd: 'lgd_semantic', generator: 'spade_semantic' };

/**
 * The label PNGs of a folder (`.png`, sorted by name).
 * @throws naming the folder when it is missing or holds no PNG
 */
export function labelFiles(dir: string): string[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`--labels ${dir}: no such folder`);
  const files = fs.readdirSync(dir).filter((f) => /\.png$/i.test(f) && !f.startsWith('.')).sort();
  if (files.length === 0) throw new Error(`--labels ${dir}: no label maps (*.png with CamVid label values 0..11)`);
  return files;
}

/**
 * The method of a name: a learned solver (given), TV through φ (λ, iterations), or the mean colours.
 * @example
 * synthesisMethod('tv', { lambda: 1, iterations: 100 });
 */
export function synthesisMethod(name: SynthesisMethodName, options: { solver?: LearnedSolver; label?: string; lambda?: number; iterations?: number } = {}): SemanticMethod {
  if (name === 'mean') return meanColorMethod;
  if (name === 'tv') return semanticTvMethod({ lambda: options.lambda ?? 1, iterations: options.iterations ?? 100 });
  if (!options.solver) throw new Error(`synthesis method ${name} needs its trained model (${SYNTHESIS_MODELS[name]})`);
  return semanticLearnedMethod(options.solver, options.label ?? SYNTHESIS_MODELS[name]);
}

/** What {@link synthesizeFolder} returns. */
export interface SynthesisResult {
  method: string;
  images: number;
  /** The inverted segmenter's scores on the syntheses against the given label maps. */
  miou: number;
  pixelAccuracy: number;
  files: string[];
  seconds: number;
}

/**
 * Synthesises one image per label map of `labelsDir` into `outDir` (same file names, 8-bit RGB,
 * each written atomically), and scores `φ` (the task's segmenter) on them.
 * @throws naming the file of a label map with an unknown class, and the folder when it is empty
 * @example
 * const r = await synthesizeFolder(task, synthesisMethod('tv'), 'labels/', 'out/');
 * r.miou; // φ's mIoU on its own syntheses
 */
export async function synthesizeFolder(
  task: SemanticSynthesisTask,
  method: SemanticMethod,
  labelsDir: string,
  outDir: string,
  options: { log?: (line: string) => void } = {},
): Promise<SynthesisResult> {
  const files = labelFiles(labelsDir);
  const maps = [];
  for (const f of files) maps.push({ file: f, ...(await readLabelMap(path.join(labelsDir, f))) }); // all checked before any work
  fs.mkdirSync(outDir, { recursive: true });
  const cm = new ConfusionMatrix(task.classes, task.ignoreLabel);
  const written: string[] = [];
  const t0 = performance.now();
  for (const [i, m] of maps.entries()) {
    const t = performance.now();
    const raw = tf.tensor3d(Int32Array.from(m.labels), [1, m.height, m.width], 'int32');
    const y = labelMap(raw);
    raw.dispose();
    try {
      const { output, steps } = method.synthesize(y, task, false);
      tf.dispose(steps ?? []);
      try {
        const one = addPredictions(task.segmenter, output, y, new ConfusionMatrix(task.classes, task.ignoreLabel)); // φ runs once per image
        cm.merge(one);
        const file = path.join(outDir, m.file);
        await writeImage(output, file);
        written.push(file);
        options.log?.(`[${i + 1}/${maps.length}] ${m.file} (${m.width}×${m.height}): φ mIoU ${one.meanIou().toFixed(3)}, pixel accuracy ${one.pixelAccuracy().toFixed(3)} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
      } finally {
        output.dispose();
      }
    } finally {
      y.dispose();
    }
  }
  return { method: method.name, images: maps.length, miou: cm.meanIou(), pixelAccuracy: cm.pixelAccuracy(), files: written, seconds: (performance.now() - t0) / 1000 };
}
