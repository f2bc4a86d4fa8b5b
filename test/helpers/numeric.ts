/** Float64 helpers shared by the gradient tests (likelihoods, priors, classical solvers). */
import { Rng } from '../../lib/io/rng';

/** A seeded uniform generator in [0, 1) (the library's mulberry32 Rng). */
export function rand(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

/** Central differences of a float64 function. */
export function centralDifferences(fn: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  const xp = Float64Array.from(x);
  for (let i = 0; i < x.length; i++) {
    xp[i] = x[i] + h;
    const fp = fn(xp);
    xp[i] = x[i] - h;
    const fm = fn(xp);
    xp[i] = x[i];
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/** ‖a − b‖ / ‖b‖ (Euclidean). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-300));
}
