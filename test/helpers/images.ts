/** Synthetic training images for tests that must not need the data mirror. */
import { RawImage } from '../../lib/io/image';
import { Rng } from '../../lib/util/rng';

/** Smooth-ish random 8-bit images (so denoising has something to learn), seeded. */
export function syntheticImages(n: number, size: number, channels: 1 | 3 = 1, seed = 0): RawImage[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const data = new Uint8Array(size * size * channels);
    const fx = rng.uniform(0.05, 0.4);
    const fy = rng.uniform(0.05, 0.4);
    const ph = rng.uniform(0, 6);
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        for (let c = 0; c < channels; c++) data[(i * size + j) * channels + c] = Math.round(127.5 + 100 * Math.sin(fx * i + fy * j + ph + c));
      }
    }
    return { data, height: size, width: size, channels };
  });
}
