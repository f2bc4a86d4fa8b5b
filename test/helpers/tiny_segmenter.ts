/**
 * A tiny convolutional segmenter for tests of the segmentation operator, the categorical
 * likelihood and semantic synthesis: `logits = W₂ act(conv3x3(x, W₁) + b₁) + b₂` (zero "same"
 * padding), with a float64 twin for finite differences.
 */
import { tf } from '../../lib/engine';
import { SegmenterLike } from '../../lib/operators/segmentation';
import { rand } from './numeric';

/** The weights of a {@link TinySegmenter} (row-major float64). */
export interface TinyWeights {
  /** `[3, 3, 3, hidden]` (tfjs conv layout: ky, kx, c_in, c_out). */
  w1: Float64Array;
  b1: Float64Array;
  /** `[hidden, classes]`. */
  w2: Float64Array;
  b2: Float64Array;
  hidden: number;
  classes: number;
  activation: 'tanh' | 'linear';
}

export class TinySegmenter implements SegmenterLike {
  readonly classes: number;
  private readonly t: tf.Tensor[];
  disposed = false;

  constructor(readonly weights: TinyWeights) {
    const { w1, b1, w2, b2, hidden, classes } = weights;
    this.classes = classes;
    this.t = [
      tf.tensor4d(Float32Array.from(w1), [3, 3, 3, hidden]),
      tf.tensor1d(Float32Array.from(b1)),
      tf.tensor4d(Float32Array.from(w2), [1, 1, hidden, classes]),
      tf.tensor1d(Float32Array.from(b2)),
    ];
  }

  /** Seeded random weights, tanh hidden layer. */
  static random(seed: number, classes = 3, hidden = 4): TinySegmenter {
    const r = rand(seed);
    const u = (n: number, s: number) => Float64Array.from({ length: n }, () => (r() - 0.5) * 2 * s);
    return new TinySegmenter({ w1: u(27 * hidden, 0.6), b1: u(hidden, 0.3), w2: u(hidden * classes, 1.5), b2: u(classes, 0.3), hidden, classes, activation: 'tanh' });
  }

  /**
   * A nearest-prototype colour classifier of the 3×3 box-averaged image:
   * `logits_k = β (2 c_k·x̄ − ‖c_k‖²)` = `−β ‖x̄ − c_k‖²` up to a term shared by all classes.
   */
  static prototypes(colors: readonly (readonly number[])[], beta: number): TinySegmenter {
    const K = colors.length;
    const w1 = new Float64Array(27 * 3);
    for (let k = 0; k < 9; k++) for (let c = 0; c < 3; c++) w1[k * 9 + c * 3 + c] = 1 / 9;
    const w2 = new Float64Array(3 * K);
    const b2 = new Float64Array(K);
    colors.forEach((col, k) => {
      for (let c = 0; c < 3; c++) w2[c * K + k] = 2 * beta * col[c];
      b2[k] = -beta * col.reduce((s, v) => s + v * v, 0);
    });
    return new TinySegmenter({ w1, b1: new Float64Array(3), w2, b2, hidden: 3, classes: K, activation: 'linear' });
  }

  logits(x: tf.Tensor4D): tf.Tensor4D {
    const [w1, b1, w2, b2] = this.t;
    return tf.tidy(() => {
      const h0 = tf.add(tf.conv2d(x, w1 as tf.Tensor4D, 1, 'same'), b1) as tf.Tensor4D;
      const h = this.weights.activation === 'tanh' ? tf.tanh(h0) : h0;
      return tf.add(tf.conv2d(h as tf.Tensor4D, w2 as tf.Tensor4D, 1, 'same'), b2) as tf.Tensor4D;
    });
  }

  /** The float64 twin of {@link logits} on a row-major `[b, h, w, 3]` array. */
  logits64(x: ArrayLike<number>, shape: readonly number[]): Float64Array {
    const [b, h, w] = shape;
    const { w1, b1, w2, b2, hidden: H, classes: K, activation } = this.weights;
    const out = new Float64Array(b * h * w * K);
    const hid = new Float64Array(H);
    for (let n = 0; n < b; n++) {
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          for (let o = 0; o < H; o++) {
            let s = b1[o];
            for (let di = 0; di < 3; di++) {
              for (let dj = 0; dj < 3; dj++) {
                const ii = i + di - 1;
                const jj = j + dj - 1;
                if (ii < 0 || jj < 0 || ii >= h || jj >= w) continue;
                for (let c = 0; c < 3; c++) s += x[((n * h + ii) * w + jj) * 3 + c] * w1[((di * 3 + dj) * 3 + c) * H + o];
              }
            }
            hid[o] = activation === 'tanh' ? Math.tanh(s) : s;
          }
          for (let k = 0; k < K; k++) {
            let s = b2[k];
            for (let o = 0; o < H; o++) s += hid[o] * w2[o * K + k];
            out[((n * h + i) * w + j) * K + k] = s;
          }
        }
      }
    }
    return out;
  }

  dispose(): void {
    tf.dispose(this.t);
    this.disposed = true;
  }
}
