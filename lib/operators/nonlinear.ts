/** Non-linear forward maps (e.g. a network) with autodiff vector-Jacobian products. */
import { tf } from '../engine/tf';
import { assertNhwc, formatShape, sameShape } from './linear';
import { Operator } from './types';

/**
 * `J_f(x)ᵀ v` by reverse-mode autodiff: the gradient of `<f(x), v>` with respect to x, computed as
 * `tf.grad(f)(x, v)` (v seeds the backward pass; no extra sum or product). Runs in `tf.tidy`.
 * Useful to check an explicit adjoint: for a linear `A`, `autodiffVjp(A.forward, x, v) = Aᵀ v`.
 * @example
 * const g = autodiffVjp((x) => tf.square(x) as tf.Tensor4D, x, v); // 2·x·v
 */
export function autodiffVjp(f: (x: tf.Tensor4D) => tf.Tensor4D, x: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.grad((t: tf.Tensor) => f(t as tf.Tensor4D))(x, v) as tf.Tensor4D);
}

/**
 * Something that owns weights (a `tf.LayersModel`, a custom network, ...).
 * @example
 * const owned: Disposable = tf.sequential();
 */
export interface Disposable {
  dispose(): unknown;
}

/**
 * Options of {@link NonlinearOperator}.
 * @example
 * new NonlinearOperator(f, { name: 'unet', model, outputShape: (s) => [...s] });
 */
export interface NonlinearOptions {
  /** Name in errors and tables (default `nonlinear`). */
  name?: string;
  /** A model whose weights the operator owns: `dispose()` disposes it. */
  model?: Disposable;
  /**
   * The output shape for an input shape (should throw for invalid ones). Default: found by
   * running `f` once on zeros of that shape (cached per shape).
   */
  outputShape?: (inputShape: readonly number[]) => number[];
}

/**
 * A non-linear forward map `A(x) = f(x)`, e.g. a network, with
 * `vjp(x, v) = J_f(x)ᵀ v = ∇_x <f(x), v>` by autodiff ({@link autodiffVjp}).
 * `f` must be built from differentiable tfjs ops and map `[b, h, w, c]` to a 4-D tensor.
 * @example
 * const A = new NonlinearOperator((x) => tf.sigmoid(x) as tf.Tensor4D, { name: 'sigmoid' });
 * const y = A.forward(x);
 * const g = A.vjp(x, tf.onesLike(y)); // σ(x)(1 − σ(x))
 * A.dispose();
 */
export class NonlinearOperator implements Operator {
  readonly name: string;
  private readonly shapes = new Map<string, number[]>();
  private disposed = false;

  constructor(
    private readonly f: (x: tf.Tensor4D) => tf.Tensor4D,
    private readonly options: NonlinearOptions = {},
  ) {
    this.name = options.name ?? 'nonlinear';
  }

  outputShape(inputShape: readonly number[]): number[] {
    this.checkAlive();
    assertNhwc(this.name, 'input', inputShape);
    const key = inputShape.join(',');
    let out = this.shapes.get(key);
    if (!out) {
      try {
        out = this.options.outputShape
          ? this.options.outputShape(inputShape)
          : tf.tidy(() => this.f(tf.zeros(inputShape as [number, number, number, number])).shape.slice());
      } catch (err) {
        throw new Error(`${this.name}: input shape ${formatShape(inputShape)} is invalid: ${(err as Error).message}`);
      }
      assertNhwc(this.name, 'output', out);
      this.shapes.set(key, out);
    }
    return [...out];
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    this.outputShape(x.shape);
    return tf.tidy(() => this.f(x));
  }

  vjp(x: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor4D {
    const expected = this.outputShape(x.shape);
    if (!sameShape(expected, v.shape)) {
      throw new Error(`${this.name}: vjp cotangent shape ${formatShape(v.shape)} differs from the output shape ${formatShape(expected)} of input ${formatShape(x.shape)}`);
    }
    return autodiffVjp(this.f, x, v);
  }

  /** Disposes the owned model, if any; the operator is unusable afterwards. */
  dispose(): void {
    if (!this.disposed) this.options.model?.dispose();
    this.disposed = true;
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error(`${this.name}: used after dispose()`);
  }
}

/**
 * Shorthand for `new NonlinearOperator(f, options)`.
 * @example
 * const A = nonlinear((x) => net.apply(x) as tf.Tensor4D, { name: 'unet', model: net });
 */
export function nonlinear(f: (x: tf.Tensor4D) => tf.Tensor4D, options: NonlinearOptions = {}): NonlinearOperator {
  return new NonlinearOperator(f, options);
}
