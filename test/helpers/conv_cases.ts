/** Shared by the conv kernel tests (wasm kernels and native kernels): cases, data and error measure. */
import { strict as assert } from 'assert';
import { Rng } from '../../lib/io/rng';

export type Shape4 = [number, number, number, number];
export type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

/** One convolution geometry to check. */
export interface Case {
  x: Shape4;
  w: Shape4;
  stride: number | [number, number];
  dilation: number;
  pad: Pad;
}

/** Deterministic uniform(-1, 1) values (the library's seeded Rng). */
export function randomValues(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.next() * 2 - 1;
  return out;
}

/** Number of elements of a shape. */
export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** max |got − want| / max |want| (absolute when want is all zeros). */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  assert.equal(got.length, want.length, 'length mismatch');
  let max = 0;
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    max = Math.max(max, Math.abs(want[i]));
    err = Math.max(err, Math.abs(got[i] - want[i]));
  }
  return max === 0 ? err : err / max;
}
