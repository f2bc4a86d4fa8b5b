/** Composition of forward maps, `A ∘ B`. */
import { tf } from '../engine/tf';
import { assertNhwc, formatShape, linearOperator, sameShape } from './linear';
import { isLinear, LinearOperator, Operator } from './types';

/** Runs a shape computation, prefixing any error with the composite's name. */
function wrap<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new Error(`${name}: ${(err as Error).message}`);
  }
}

function compose2(A: Operator, B: Operator): Operator {
  const name = `${A.name} ∘ ${B.name}`;
  const outputShape = (shape: readonly number[]) => wrap(name, () => A.outputShape(B.outputShape(shape)));
  if (isLinear(A) && isLinear(B)) {
    return linearOperator({
      name,
      outputShape,
      inputShape: (shape) => wrap(name, () => B.inputShape(A.inputShape(shape))),
      apply: (x) => A.forward(B.forward(x)),
      applyAdjoint: (y) => B.adjoint(A.adjoint(y)),
    });
  }
  const checkedOutputShape = (shape: readonly number[]) => {
    assertNhwc(name, 'input', shape);
    return outputShape(shape);
  };
  return {
    name,
    outputShape: checkedOutputShape,
    forward(x) {
      checkedOutputShape(x.shape);
      return tf.tidy(() => A.forward(B.forward(x)));
    },
    vjp(x, v) {
      const expected = checkedOutputShape(x.shape);
      if (!sameShape(expected, v.shape)) {
        throw new Error(`${name}: vjp cotangent shape ${formatShape(v.shape)} differs from the output shape ${formatShape(expected)} of input ${formatShape(x.shape)}`);
      }
      return tf.tidy(() => B.vjp(x, A.vjp(B.forward(x), v)));
    },
    dispose() {
      // The parts are not owned: dispose them yourself.
    },
  };
}

/**
 * The composition `A ∘ B` (`x ↦ A(B(x))`), and more generally `A ∘ B ∘ C ∘ …` (the last operator
 * applies first). Linear parts give a linear operator with the adjoint in reverse order,
 * `(A ∘ B)ᵀ = Bᵀ ∘ Aᵀ`; otherwise the vector-Jacobian product chains,
 * `J_{A∘B}(x)ᵀ v = J_B(x)ᵀ (J_A(B x)ᵀ v)`. Shapes are checked through the chain and errors name
 * the composite. The composite does not own its parts: `dispose()` is a no-op, dispose them yourself.
 * @example
 * const A = compose(downsample(2), gaussianBlur(7, 1.6)); // blur, then downsample by 2
 * const y = A.forward(x); // [1, 64, 64, 3] -> [1, 32, 32, 3]
 * const g = A.adjoint(y); // blurᵀ(downsampleᵀ y)
 */
export function compose(A: LinearOperator, B: LinearOperator, ...rest: LinearOperator[]): LinearOperator;
export function compose(A: Operator, B: Operator, ...rest: Operator[]): Operator;
export function compose(A: Operator, B: Operator, ...rest: Operator[]): Operator {
  const ops = [A, B, ...rest];
  let out = ops[ops.length - 1];
  for (let i = ops.length - 2; i >= 0; i--) out = compose2(ops[i], out);
  return out;
}
