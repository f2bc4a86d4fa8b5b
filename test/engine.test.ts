import { strict as assert } from 'assert';
import { execFileSync } from 'child_process';
import * as path from 'path';
import { BACKENDS, initEngine, parseBackend, tf } from '../lib/engine';

const root = path.resolve(__dirname, '..');

/** Runs a snippet in a fresh Node process (engine choice is once per process). */
function runNode(code: string, env: Record<string, string>): { status: number; out: string } {
  try {
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', code], {
      cwd: root,
      env: { ...process.env, LGD_ENGINE_QUIET: '', ...env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { status: 0, out };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { status: e.status, out: `${e.stdout}${e.stderr}` };
  }
}

describe('engine', () => {
  it('parses the valid backend names and treats empty as automatic', () => {
    for (const b of BACKENDS) assert.equal(parseBackend(b), b);
    assert.equal(parseBackend('WASM'), 'wasm');
    assert.equal(parseBackend(undefined), undefined);
    assert.equal(parseBackend(''), undefined);
  });

  it('rejects an unknown backend with the valid ones listed', () => {
    assert.throws(() => parseBackend('webgpu'), /LGD_BACKEND="webgpu" is not a backend; valid values: tensorflow, wasm, cpu/);
  });

  it('fails at start-up on an unknown LGD_BACKEND, naming it', () => {
    const r = runNode(`require('./lib/engine').initEngine().then(() => process.exit(0), (e) => { console.error(e.message); process.exit(3); })`, {
      LGD_BACKEND: 'gpu',
    });
    assert.equal(r.status, 3, r.out);
    assert.match(r.out, /LGD_BACKEND=gpu: expected one of tensorflow\|wasm\|cpu/);
  });

  it('chooses wasm when no native backend is installed, and says so in one line', () => {
    const r = runNode(`require('./lib/engine').initEngine().then((i) => console.log('chosen=' + i.backend))`, { LGD_BACKEND: '' });
    assert.equal(r.status, 0, r.out);
    const hasNative = (() => {
      try {
        return require('@tensorflow/tfjs-node/package.json').name === '@tensorflow/tfjs-node';
      } catch {
        return false;
      }
    })();
    assert.match(r.out, hasNative ? /chosen=tensorflow/ : /chosen=wasm/);
    assert.equal(r.out.split('\n').filter((l) => l.startsWith('engine: ')).length, 1, r.out);
  });

  it('LGD_BACKEND=cpu forces the cpu backend', () => {
    const r = runNode(`require('./lib/engine').initEngine().then((i) => console.log('chosen=' + i.backend))`, { LGD_BACKEND: 'cpu' });
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /engine: cpu .*forced by LGD_BACKEND/);
  });

  it('trains through a convolution on the chosen engine (Conv2DBackpropFilter is available)', async () => {
    await initEngine({ quiet: true });
    const before = tf.memory().numTensors;
    const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w0 = tf.randomNormal([3, 3, 3, 4], 0, 0.1, 'float32', 2);
    const w = tf.variable(w0);
    w0.dispose();
    const g = tf.tidy(() => tf.grad((ww: tf.Tensor) => tf.conv2d(x, ww as tf.Tensor4D, 1, 'same').square().sum())(w));
    assert.deepEqual(g.shape, [3, 3, 3, 4]);
    assert.ok(g.dataSync().every((v) => Number.isFinite(v)));
    tf.dispose([x, w, g]);
    assert.equal(tf.memory().numTensors, before);
  });
});
