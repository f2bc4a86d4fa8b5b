/**
 * The PyTorch twins of φ, φ' and the SPADE generator (scripts/bench/twins_torch.py), which
 * `npm run bench -- --torch` times beside the library's training steps: they must be the same
 * networks. Given the library's weights, the twin's output must equal the library's (so the
 * padding, pooling, upsampling and layouts agree), and for the committed configurations the
 * parameter counts must be equal. Skipped only where /usr/bin/python3 has no torch.
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initEngine, tf } from '../lib/engine';
import { createSegmenter, SegmenterConfigInput } from '../lib/segmentation';
import { Spade } from '../lib/solvers/learned/spade';
import { torchAbsence, TWIN_PYTHON } from './helpers/torch';

const SCRIPT = path.resolve(__dirname, '..', 'scripts', 'bench', 'twins_torch.py');

function twin(args: string[]): Record<string, unknown> {
  const r = spawnSync(TWIN_PYTHON, [SCRIPT, ...args], { encoding: 'utf8', maxBuffer: 1 << 28, timeout: 120000 });
  if (r.status !== 0) throw new Error(`twins_torch.py ${args[0]} failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string);
}

/** Runs the twin on the library's weights and input; its output (NHWC) as a flat array. */
function twinApply(net: string, config: Record<string, unknown>, weights: { name: string; tensor: tf.Tensor }[], input: tf.Tensor4D, dir: string): { params: number; shape: number[]; data: number[] } {
  const file = path.join(dir, `${net}.json`);
  const spec = {
    weights: Object.fromEntries(weights.map((w) => [w.name, { shape: w.tensor.shape, data: Array.from(w.tensor.dataSync()) }])),
    input: { shape: input.shape, data: Array.from(input.dataSync()) },
  };
  fs.writeFileSync(file, JSON.stringify(spec));
  return twin(['apply', '--net', net, '--config', JSON.stringify(config), '--weights', file]) as { params: number; shape: number[]; data: number[] };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('the PyTorch twins of the semantic-synthesis nets (bench)', function () {
  let dir: string;
  before(async function () {
    const why = torchAbsence();
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    await initEngine({ quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'twins-'));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  // Odd sizes: φ mirror-pads 18×30 to 24×32, φ' to 20×32, and the stride-2 convs pad one side only.
  const segCases: [string, SegmenterConfigInput][] = [
    ['φ (U-Net, avg pooling)', { kind: 'unet', width: 4, levels: 3, bottleneckDilation: 2, seed: 3 }],
    ['φ (U-Net, max pooling, leaky)', { kind: 'unet', width: 4, levels: 2, bottleneckDilation: 1, pool: 'max', activation: 'leaky', seed: 4 }],
    ["φ' (dilated FCN)", { kind: 'dilated', width: 6, dilations: [1, 2, 4, 1], seed: 5 }],
  ];
  for (const [label, config] of segCases) {
    it(`${label}: the twin's logits equal the library's on the same weights`, () => {
      const seg = createSegmenter(config);
      const x = tf.randomUniform([2, 18, 30, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
      const ours = seg.logits(x);
      const weights = seg.getWeights();
      try {
        const r = twinApply(seg.kind, { ...seg.config }, weights, x, dir);
        assert.deepEqual(r.shape, ours.shape);
        assert.equal(r.params, seg.paramCount());
        const d = maxAbsDiff(r.data, ours.dataSync());
        assert.ok(d < 1e-4, `max |tfjs − torch| = ${d}`);
      } finally {
        tf.dispose([x, ours, ...weights.map((w) => w.tensor)]);
        seg.dispose();
      }
    });
  }

  it('the SPADE generator: the twin\'s image equals the library\'s on the same weights (labels with the ignore label)', () => {
    const g = new Spade({ features: 6, hidden: 5, blocks: 2, seed: 2 });
    const labels = tf.tidy(() => tf.floor(tf.randomUniform([2, 10, 14, 1], 0, 12, 'float32', 4))) as tf.Tensor4D; // 0..11
    const ours = g.generate(labels);
    const weights = g.getWeights();
    try {
      const r = twinApply('spade', { ...g.config }, weights, labels, dir);
      assert.deepEqual(r.shape, ours.shape);
      assert.equal(r.params, g.paramCount());
      const d = maxAbsDiff(r.data, ours.dataSync());
      assert.ok(d < 1e-5, `max |tfjs − torch| = ${d}`);
    } finally {
      tf.dispose([labels, ours, ...weights.map((w) => w.tensor)]);
      g.dispose();
    }
  });

  it('the committed configurations (seg_phi, seg_phi_eval, spade_semantic) have equal parameter counts in the twin', () => {
    for (const [name, make] of [
      ['seg_phi', (m: SegmenterConfigInput) => createSegmenter(m)],
      ['seg_phi_eval', (m: SegmenterConfigInput) => createSegmenter(m)],
      ['spade_semantic', (m: Record<string, unknown>) => new Spade(m)],
    ] as const) {
      const model = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', 'configs', `${name}.json`), 'utf8')).model;
      const ours = (make as (m: unknown) => { paramCount(): number; dispose(): void })(model);
      try {
        const r = twin(['count', '--net', model.kind, '--config', JSON.stringify(model)]);
        assert.equal(r.params, ours.paramCount(), `${name}: twin ${r.params} vs library ${ours.paramCount()}`);
      } finally {
        ours.dispose();
      }
    }
  });

  it('a training step of the twin runs and reports its times', () => {
    const r = twin(['time', '--net', 'unet', '--config', JSON.stringify({ width: 4, levels: 2 }), '--batch', '1', '--height', '16', '--width', '24', '--iters', '1', '--warmup', '0', '--threads', '1']);
    assert.ok((r.train_step_ms as number) > 0 && (r.forward_ms as number) > 0, JSON.stringify(r));
    assert.throws(() => twin(['count', '--net', 'resnet']), /unknown --net 'resnet'/);
  });
});
