/**
 * A small seeded pseudo-random generator (mulberry32) whose whole state is one 32-bit integer,
 * so samplers can be checkpointed and resumed exactly.
 * @example
 * const rng = new Rng(7);
 * const saved = rng.state;
 * const a = rng.next();
 * rng.state = saved;
 * rng.next() === a; // true
 */
export class Rng {
  private s: number;
  constructor(seed = 0) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Uniform in [a, b). */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.next();
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /** The generator's state, for checkpoints. */
  get state(): number {
    return this.s;
  }
  set state(value: number) {
    this.s = value >>> 0;
  }
}
