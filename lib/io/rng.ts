/** Compatibility path: {@link Rng} lives in the utilities module, `lib/util/rng.ts`. */
export { Rng } from '../util/rng';
