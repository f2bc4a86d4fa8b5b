/**
 * Geometric self-ensemble: a method run on the eight flips and 90° rotations of the measurement,
 * each output transformed back, the eight averaged (then rounded to 8 bits). It needs a task whose
 * degradation commutes with those transforms: denoising, the symmetric Gaussian blur, and MATLAB
 * bicubic downsampling at an integer scale of an image whose sides are multiples of the scale
 * (the benchmark pairs are). It costs eight runs of the method; the row says so in its name.
 */
import { tf } from '../engine/tf';
import { Method, MethodResult } from './evaluate';
import { to8bit } from './sr';

/** One of the eight symmetries of the square: an optional transpose (rows ↔ columns), then flips. */
export interface Dihedral {
  transpose: boolean;
  flipRows: boolean;
  flipColumns: boolean;
}

/** The eight symmetries, identity first. */
export const DIHEDRAL: readonly Dihedral[] = [false, true].flatMap((transpose) =>
  [false, true].flatMap((flipRows) => [false, true].map((flipColumns) => ({ transpose, flipRows, flipColumns }))),
);

function flips(x: tf.Tensor4D, g: Dihedral): tf.Tensor4D {
  const axes = [...(g.flipRows ? [1] : []), ...(g.flipColumns ? [2] : [])];
  return axes.length ? tf.reverse(x, axes) : x.clone();
}

/**
 * `g(x)` for a `[n, h, w, c]` batch (a new tensor).
 * @example
 * const t = dihedral(x, { transpose: true, flipRows: false, flipColumns: true }); // x rotated by 90°
 */
export function dihedral(x: tf.Tensor4D, g: Dihedral): tf.Tensor4D {
  return tf.tidy(() => flips(g.transpose ? (tf.transpose(x, [0, 2, 1, 3]) as tf.Tensor4D) : x, g));
}

/** `g⁻¹(x)`: the flips undone, then the transpose (a new tensor). */
export function inverseDihedral(x: tf.Tensor4D, g: Dihedral): tf.Tensor4D {
  return tf.tidy(() => {
    const f = flips(x, g);
    return g.transpose ? (tf.transpose(f, [0, 2, 1, 3]) as tf.Tensor4D) : f;
  });
}

/**
 * The method averaged over the eight symmetries (`name` default: the method's name + ' ×8').
 * Curves are the averages of the eight runs' curves (PSNR per step of each transformed run, not of
 * the averaged iterate); the work is the sum.
 * @example
 * const plus = selfEnsembleMethod(learnedMethod(rim, { name: 'rim_sr' })); // 'rim_sr ×8'
 */
export function selfEnsembleMethod(method: Method, name = `${method.name} ×8`): Method {
  return {
    name,
    params: method.params,
    ...(method.horizon !== undefined ? { horizon: method.horizon } : {}),
    restore(y, task, context) {
      const backs: tf.Tensor4D[] = [];
      let curve: number[] | undefined;
      let work = 0;
      try {
        for (const g of DIHEDRAL) {
          const yg = dihedral(y, g);
          const inputG = dihedral(context.input, g);
          const truthG = context.truth ? dihedral(context.truth, g) : undefined;
          let r: MethodResult;
          try {
            r = method.restore(yg, task, { input: inputG, truth: truthG, curve: context.curve });
          } finally {
            tf.dispose([yg, inputG, ...(truthG ? [truthG] : [])]);
          }
          backs.push(inverseDihedral(r.output, g));
          r.output.dispose();
          work += r.work ?? 0;
          if (r.curve) curve = r.curve.map((p, t) => (curve?.[t] ?? 0) + p);
        }
        const output = tf.tidy(() => to8bit(tf.div(tf.addN(backs), backs.length) as tf.Tensor4D));
        return { output, curve: curve?.map((p) => p / DIHEDRAL.length), work };
      } finally {
        tf.dispose(backs);
      }
    },
  };
}
