/**
 * Seeded random patch sampling with the 8 flips/rotations of the square, for training.
 * Sampling is done on 8-bit pixels in JS (no tensors kept per image), and the sampler's whole
 * state is the RNG state, so training resumes exactly.
 */
import { tf } from '../engine/tf';
import { RawImage } from './image';
import { Rng } from './rng';

/** Options of {@link PatchSampler}. */
export interface PatchSamplerOptions {
  /** Side of the square patches (pixels). */
  patchSize: number;
  /** Patches per batch. */
  batchSize: number;
  /** Seed of the sampler's RNG (default 0). */
  seed?: number;
  /** Random flips and 90-degree rotations (default true). */
  augment?: boolean;
}

/**
 * The images with room for a `patchSize` square patch (both sides at least `patchSize`), in order:
 * what a {@link PatchSampler} accepts. For training configs with `data.dropSmall`.
 * @example
 * const usable = imagesFittingPatch(await loadRawImages('T91'), 96); // T91's 78×78 images left out
 */
export function imagesFittingPatch(images: readonly RawImage[], patchSize: number): RawImage[] {
  return images.filter((im) => im.height >= patchSize && im.width >= patchSize);
}

/**
 * Draws batches of random patches `[b, p, p, c]` (float32 in [0, 1]) from a list of images.
 * @example
 * const sampler = new PatchSampler(await loadRawImages('Train400'), { patchSize: 32, batchSize: 8, seed: 1 });
 * const batch = sampler.next(); // [8, 32, 32, 1]
 */
export class PatchSampler {
  readonly channels: number;
  private readonly rng: Rng;
  private readonly opts: Required<PatchSamplerOptions>;

  constructor(private readonly images: RawImage[], options: PatchSamplerOptions) {
    this.opts = { seed: 0, augment: true, ...options };
    const p = this.opts.patchSize;
    if (!Number.isInteger(p) || p < 1) throw new Error(`PatchSampler: patchSize must be a positive integer, got ${p}`);
    if (!Number.isInteger(this.opts.batchSize) || this.opts.batchSize < 1) {
      throw new Error(`PatchSampler: batchSize must be a positive integer, got ${this.opts.batchSize}`);
    }
    if (images.length === 0) throw new Error('PatchSampler: no images');
    this.channels = images[0].channels;
    images.forEach((im, i) => {
      if (im.channels !== this.channels) throw new Error(`PatchSampler: image ${i} has ${im.channels} channels, image 0 has ${this.channels}`);
      if (im.height < p || im.width < p) throw new Error(`PatchSampler: image ${i} (${im.height}x${im.width}) is smaller than the patch size ${p}`);
    });
    this.rng = new Rng(this.opts.seed);
  }

  /** The RNG state (save it in checkpoints). */
  get state(): number {
    return this.rng.state;
  }
  set state(value: number) {
    this.rng.state = value;
  }

  /** The next batch `[b, p, p, c]`; the caller disposes it. */
  next(): tf.Tensor4D {
    const { patchSize: p, batchSize: b, augment } = this.opts;
    const c = this.channels;
    const out = new Float32Array(b * p * p * c);
    for (let n = 0; n < b; n++) {
      const im = this.images[this.rng.int(this.images.length)];
      const y0 = this.rng.int(im.height - p + 1);
      const x0 = this.rng.int(im.width - p + 1);
      const t = augment ? this.rng.int(8) : 0; // bit 0: transpose, bit 1: flip rows, bit 2: flip columns
      const base = n * p * p * c;
      for (let i = 0; i < p; i++) {
        for (let j = 0; j < p; j++) {
          let u = t & 1 ? j : i;
          let v = t & 1 ? i : j;
          if (t & 2) u = p - 1 - u;
          if (t & 4) v = p - 1 - v;
          const src = ((y0 + u) * im.width + (x0 + v)) * c;
          const dst = base + (i * p + j) * c;
          for (let k = 0; k < c; k++) out[dst + k] = im.data[src + k] / 255;
        }
      }
    }
    return tf.tensor4d(out, [b, p, p, c]);
  }
}
