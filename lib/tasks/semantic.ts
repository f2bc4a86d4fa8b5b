/**
 * Semantic image synthesis as a training task: the measurement is a label map `y`, the forward
 * map a frozen segmentation network `φ` (logits), the data term the categorical likelihood
 * `CE(softmax(φ(x)), y)` over labelled pixels; learned descent restores the image from the
 * per-class mean-colour start. Training images carry their label map as a fourth channel, so the
 * patch sampler crops, flips and rotates image and labels together.
 */
import * as path from 'path';
import { z } from 'zod';
import { tf } from '../engine/tf';
import { RawImage } from '../io/image';
import { projectPath } from '../io/paths';
import { categoricalLikelihood } from '../likelihoods/categorical';
import { nonlinear } from '../operators/nonlinear';
import { CAMVID_IGNORE, CAMVID_NUM_CLASSES, CamVidSplit, loadCamVid } from '../segmentation/camvid';
import { loadSegmenter } from '../segmentation/io';
import { Segmenter } from '../segmentation/networks';
import { TaskDefinition } from './types';

/** Parameters of {@link semanticSynthesisTrainingTask}. */
export interface SemanticParams {
  /** The frozen segmenter φ every solver differentiates through: a model folder (relative to the project; default `results/models/seg_phi`). */
  segmenter: string;
  /** CamVid splits trained on (default ['train']; never test). */
  splits: CamVidSplit[];
}

const params = z
  .object({
    segmenter: z.string().min(1).default('results/models/seg_phi'),
    splits: z.array(z.enum(['train', 'val'])).min(1).default(['train']),
  })
  .strict();

/** What {@link semanticSynthesisTrainingTask}'s `prepare` makes: φ and the per-class mean colours of the training images. */
export interface SemanticContext {
  segmenter: Segmenter;
  /** `[K + 1][3]` in [0, 1]: class k's mean colour, then the unlabelled pixels' (index K). */
  colors: number[][];
}

/**
 * Stacks an RGB image and its label map into one 4-channel raw image (label in channel 3).
 * @example
 * const stacked = stackLabels(sample.image, sample.labels); // channels 4
 */
export function stackLabels(image: RawImage, labels: Uint8Array): RawImage {
  const n = image.height * image.width;
  if (image.channels !== 3 || labels.length !== n) throw new Error(`stackLabels: expected an RGB image and ${n} labels, got ${image.channels} channel(s) and ${labels.length} labels`);
  const data = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    data[4 * i] = image.data[3 * i];
    data[4 * i + 1] = image.data[3 * i + 1];
    data[4 * i + 2] = image.data[3 * i + 2];
    data[4 * i + 3] = labels[i];
  }
  return { data, height: image.height, width: image.width, channels: 4 as RawImage['channels'] };
}

/** Per-class mean colours (in [0, 1]) of 4-channel stacked images; a class never seen gets the labelled mean. */
export function stackedMeanColors(images: readonly RawImage[], classes: number = CAMVID_NUM_CLASSES, ignore: number = CAMVID_IGNORE): number[][] {
  const sums = Array.from({ length: classes + 1 }, () => [0, 0, 0]);
  const counts = new Array<number>(classes + 1).fill(0);
  for (const im of images) {
    if ((im.channels as number) !== 4) throw new Error(`semantic synthesis: training images must carry their labels as a 4th channel, got ${im.channels} channel(s)`);
    for (let i = 0; i < im.height * im.width; i++) {
      const label = im.data[4 * i + 3];
      const k = label === ignore ? classes : label;
      if (k > classes) throw new Error(`semantic synthesis: label ${label} outside 0..${classes - 1} and the ignore label ${ignore}`);
      for (let c = 0; c < 3; c++) sums[k][c] += im.data[4 * i + c];
      counts[k]++;
    }
  }
  const labelled = [0, 1, 2].map((c) => sums.slice(0, classes).reduce((a, s) => a + s[c], 0) / Math.max(1, counts.slice(0, classes).reduce((a, n) => a + n, 0)) / 255);
  return sums.map((s, k) => (counts[k] > 0 ? s.map((v) => v / counts[k] / 255) : labelled));
}

/**
 * Semantic synthesis through a frozen segmenter: `y` = the label map, `A` = φ's logits, the
 * categorical likelihood (label 11 ignored), start = the per-class mean-colour image of the
 * labels. φ's weights are not trained (training differentiates only the solver's variables) and
 * φ must be twice differentiable (see the U-Net's average pooling).
 * @example
 * { "task": { "kind": "semantic-synthesis", "segmenter": "results/models/seg_phi" }, "data": { "patchSize": 96 } }
 */
export const semanticSynthesisTrainingTask: TaskDefinition<SemanticParams, SemanticContext> = {
  kind: 'semantic-synthesis',
  description: 'semantic image synthesis: y = label map, A = a frozen segmenter, categorical likelihood',
  params: params as unknown as z.ZodType<SemanticParams, z.ZodTypeDef, unknown>,
  modelChannels: () => 3,
  async loadImages(p, options) {
    const out: RawImage[] = [];
    for (const split of p.splits) for (const s of await loadCamVid(split, { limit: options.limit })) out.push(stackLabels(s.image, s.labels));
    return out;
  },
  async prepare(p, images) {
    const dir = path.isAbsolute(p.segmenter) ? p.segmenter : projectPath(p.segmenter);
    const segmenter = await loadSegmenter(dir);
    return { segmenter, colors: stackedMeanColors(images) };
  },
  release(context) {
    context?.segmenter.dispose();
  },
  degradeBatch(clean, _p, _seed, context) {
    if (!context) throw new Error('semantic synthesis: degradeBatch needs the context of prepare() (the segmenter and the mean colours)');
    if (clean.shape[3] !== 4) throw new Error(`semantic synthesis: expected patches [b, p, p, 4] (RGB + labels), got [${clean.shape.join(', ')}]`);
    const { target, y, x0 } = tf.tidy(() => {
      const target = tf.slice(clean, [0, 0, 0, 0], [-1, -1, -1, 3]) as tf.Tensor4D; // [b, p, p, 3]
      const y = tf.round(tf.mul(tf.slice(clean, [0, 0, 0, 3], [-1, -1, -1, 1]), 255)) as tf.Tensor4D; // [b, p, p, 1] labels
      const [b, h, w] = y.shape;
      const palette = tf.tensor2d(context.colors, [context.colors.length, 3]);
      const index = tf.cast(tf.where(tf.equal(y, CAMVID_IGNORE), tf.fill(y.shape, CAMVID_NUM_CLASSES), y), 'int32');
      const x0 = tf.reshape(tf.gather(palette, tf.reshape(index, [-1])), [b, h, w, 3]) as tf.Tensor4D;
      return { target, y, x0 };
    });
    // A fresh operator per batch (the groups' operators are disposed after the step; φ is not owned),
    // with its output shape given, so that φ is not run once more per batch to find it.
    const op = nonlinear((x) => context.segmenter.logits(x), { name: 'φ', outputShape: (s) => [s[0], s[1], s[2], CAMVID_NUM_CLASSES] });
    const likelihood = categoricalLikelihood(op, { ignoreLabel: CAMVID_IGNORE });
    return [{ clean: target, y, x0, likelihood, describe: 'label maps of the batch' }];
  },
  summary: (p) => `semantic synthesis through ${p.segmenter} (CamVid ${p.splits.join('+')})`,
};
