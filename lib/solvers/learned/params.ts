/**
 * The trainable weights of a learned solver: a named, ordered set of `tf.Variable`s with seeded
 * PyTorch-style initialisation, parameter counting, and get/set by name.
 *
 * Names: every weight has a *logical* name (`cell/gru1/ih/kernel`) that is stable across
 * processes and used in weight files; the `tf.Variable` itself gets that name plus a per-instance
 * suffix (`cell/gru1/ih/kernel#7`), because tfjs registers variables globally and refuses
 * duplicates (two solvers in one process must not collide).
 *
 * Initialisation is drawn in JavaScript from the seeded {@link Rng} (mulberry32), in creation order,
 * so a given seed gives bit-identical weights on every backend.
 */
import { tf } from '../../engine/tf';
import { formatShape, sameShape } from '../../engine/shapes';
import { Rng } from '../../io/rng';

/** A tensor with a name (the shape tfjs' `io.encodeWeights` takes; tfjs does not export the type). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

let instances = 0;

/**
 * An ordered set of named trainable variables.
 * @example
 * const params = new ParamSet(0);
 * const w = params.uniform('conv/kernel', [3, 3, 1, 8], 1 / 3); // U(-1/3, 1/3)
 * params.count(); // 72
 * params.dispose();
 */
export class ParamSet {
  private readonly vars = new Map<string, tf.Variable>();
  private readonly rng: Rng;
  private readonly suffix: string;
  private disposed = false;

  /** @param seed seed of the initialisation RNG */
  constructor(seed: number) {
    this.rng = new Rng(seed);
    this.suffix = `#${++instances}`;
  }

  private add(name: string, values: Float32Array, shape: number[]): tf.Variable {
    if (this.disposed) throw new Error(`ParamSet: cannot add ${name} after dispose()`);
    if (this.vars.has(name)) throw new Error(`ParamSet: duplicate weight name ${name}`);
    const v = tf.tidy(() => tf.variable(tf.tensor(values, shape, 'float32'), true, name + this.suffix));
    this.vars.set(name, v);
    return v;
  }

  /**
   * A variable drawn from `U(−bound, bound)` (elementwise, seeded).
   * @param name logical name
   * @param shape its shape
   * @param bound half-width of the uniform distribution
   */
  uniform(name: string, shape: number[], bound: number): tf.Variable {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = (2 * this.rng.next() - 1) * bound;
    return this.add(name, values, shape);
  }

  /** A variable filled with `value`. */
  constant(name: string, shape: number[], value: number): tf.Variable {
    const n = shape.reduce((a, b) => a * b, 1);
    return this.add(name, new Float32Array(n).fill(value), shape);
  }

  /** The variables in creation order (the order optimizers and weight files use). */
  get variables(): tf.Variable[] {
    return [...this.vars.values()];
  }

  /** The logical names in creation order. */
  get names(): string[] {
    return [...this.vars.keys()];
  }

  /** The number of scalar parameters. */
  count(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  /** Copies of the weights under their logical names; the caller disposes the tensors. */
  getWeights(): NamedTensor[] {
    return [...this.vars.entries()].map(([name, v]) => ({ name, tensor: tf.clone(v) }));
  }

  /**
   * Assigns weights by logical name. Every weight of the set must be given, with its shape;
   * unknown names are an error (naming them), so a file of another model cannot load silently.
   * The given tensors are not disposed.
   */
  setWeights(weights: NamedTensor[] | tf.NamedTensorMap): void {
    const map: tf.NamedTensorMap = Array.isArray(weights) ? Object.fromEntries(weights.map((w) => [w.name, w.tensor])) : weights;
    const unknown = Object.keys(map).filter((k) => !this.vars.has(k));
    if (unknown.length) throw new Error(`setWeights: unknown weight(s) ${unknown.join(', ')}; expected ${this.names.join(', ')}`);
    const missing = this.names.filter((k) => !(k in map));
    if (missing.length) throw new Error(`setWeights: missing weight(s) ${missing.join(', ')}`);
    for (const [name, v] of this.vars) {
      const t = map[name];
      if (!sameShape(t.shape, v.shape)) {
        throw new Error(`setWeights: ${name} has shape ${formatShape(t.shape)}, expected ${formatShape(v.shape)}`);
      }
      if (t.dtype !== 'float32') throw new Error(`setWeights: ${name} has dtype ${t.dtype}, expected float32`);
      v.assign(t);
    }
  }

  /** Frees every variable. */
  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    this.disposed = true;
  }
}

/**
 * Base of the learned solvers: owns their {@link ParamSet} and gives the weight API every solver
 * shares (count, trainable variables, named weights, `dispose()`).
 */
export abstract class ParamOwner {
  constructor(protected readonly params: ParamSet) {}

  /** Number of trainable scalars. */
  paramCount(): number {
    return this.params.count();
  }

  trainableVariables(): tf.Variable[] {
    return this.params.variables;
  }

  getWeights(): NamedTensor[] {
    return this.params.getWeights();
  }

  setWeights(weights: NamedTensor[] | tf.NamedTensorMap): void {
    this.params.setWeights(weights);
  }

  /** Frees every weight. */
  dispose(): void {
    this.params.dispose();
  }
}
