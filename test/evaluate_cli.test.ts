import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { initEngine, tf } from '../lib/engine';
import { denoisingTask, evaluate, learnedMethod, loadImagesFromDir, loadSrPairsFromDir, restore, semanticSynthesisTask, synthesisMethod, synthesizeFolder } from '../lib/experiments';
import { readImage } from '../lib/io/image';
import sharp from 'sharp';
import { evaluateCli } from './helpers/cli';
import { TinySegmenter } from './helpers/tiny_segmenter';
import { writeImage } from '../lib/io/image';
import { srMetrics } from '../lib/metrics';
import { imresize } from '../lib/operators';
import { Rim, saveLearnedSolver } from '../lib/solvers/learned';

/** A smooth RGB image `[1, s, s, 3]`. */
function smooth(size: number, phase: number): tf.Tensor4D {
  return tf.tidy(() => {
    const i = tf.range(0, size).reshape([size, 1, 1]);
    const j = tf.range(0, size).reshape([1, size, 1]);
    const k = tf.tensor1d([0, 1, 2]).reshape([1, 1, 3]);
    const v = tf.add(0.5, tf.mul(0.35, tf.mul(tf.sin(tf.add(tf.mul(i, 0.21), tf.add(k, phase))), tf.cos(tf.mul(j, 0.17)))));
    return tf.round(tf.mul(v, 255)).div(255).reshape([1, size, size, 3]) as tf.Tensor4D;
  });
}

describe('npm run evaluate', function () {
  this.timeout(300_000);
  let tmp: string;
  let models: string;
  let pairs: string;

  before(async () => {
    await initEngine({ quiet: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-evaluate-'));
    models = path.join(tmp, 'models');
    // A tiny untrained SR model and two tiny MATLAB-style pairs (LR by the MATLAB-compatible imresize, 8-bit).
    const rim = new Rim({ features: 4, steps: 2, seed: 5 });
    await saveLearnedSolver(rim, path.join(models, 'tiny_sr'));
    rim.dispose();
    pairs = path.join(tmp, 'pairs');
    fs.mkdirSync(pairs);
    for (const [k, size] of [[0, 24], [1, 30]] as const) {
      const hr = smooth(size, k);
      const lr = imresize(hr, 1 / 3, { quantize: true });
      await writeImage(hr, path.join(pairs, `p${k}_HR.png`));
      await writeImage(lr, path.join(pairs, `p${k}_LR.png`));
      tf.dispose([hr, lr]);
    }
  });

  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('--json gives the library\'s PSNR (restore + srMetrics on Y, scale shaved) and writes the PNGs', async () => {
    const out = path.join(tmp, 'out');
    const r = evaluateCli(['--task', 'sr', '--scale', '3', '--pairs', pairs, '--model', 'tiny_sr', '--json', '--out', out], models);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /^\[1\/2\] p0: tiny_sr \d+\.\d\d dB/);
    assert.match(r.stderr, /^tiny_sr pairs .*\[#+\]\s+100% 2\/2 \| .* \| took /m, 'a progress bar on stderr, stdout left to the results');
    const json = JSON.parse(lines[lines.length - 1]) as Record<string, number | string>;
    assert.deepEqual(Object.keys(json), ['model', 'task', 'scale', 'images', 'psnr', 'ssim', 'baseline_psnr', 'baseline_ssim', 'seconds']);
    assert.equal(json.images, 2);
    // Independently: restore() each LR and measure with srMetrics.
    const loaded = await loadSrPairsFromDir(pairs, 3);
    const solver = new Rim({ features: 4, steps: 2, seed: 5 });
    const psnrs: number[] = [];
    for (const p of loaded) {
      const sr = await restore(p.lr, { task: 'sr', scale: 3, model: solver });
      psnrs.push(srMetrics(sr, p.hr, 3).psnr);
      sr.dispose();
      tf.dispose([p.hr, p.lr]);
    }
    solver.dispose();
    assert.ok(Math.abs((json.psnr as number) - (psnrs[0] + psnrs[1]) / 2) < 1e-9, `${json.psnr} vs ${psnrs}`);
    assert.deepEqual(fs.readdirSync(out).sort(), ['p0.png', 'p1.png']);
    // --model also takes a model folder (e.g. an exported checkpoint): the same model, the same numbers.
    const byPath = evaluateCli(['--task', 'sr', '--scale', '3', '--pairs', pairs, '--model', path.join(models, 'tiny_sr'), '--json'], path.join(tmp, 'elsewhere'));
    assert.equal(byPath.status, 0, byPath.stderr);
    const jsonByPath = JSON.parse(byPath.stdout.trim().split('\n').pop()!) as Record<string, number | string>;
    assert.equal(jsonByPath.psnr, json.psnr);
  });

  it('--task denoise: the notebooks\' protocol seed by default, --quantize rounds the noisy image, and the library\'s numbers', async () => {
    const color = new Rim({ features: 4, steps: 2, seed: 6, channels: 3 });
    await saveLearnedSolver(color, path.join(models, 'tiny_color'));
    const images = path.join(tmp, 'images');
    fs.mkdirSync(images);
    for (const k of [0, 1]) {
      const im = smooth(20 + 4 * k, 2 * k + 1);
      await writeImage(im, path.join(images, `im${k}.png`));
      im.dispose();
    }
    const run = (...extra: string[]) => {
      const r = evaluateCli(['--task', 'denoise', '--sigma', '25', '--images', images, '--model', 'tiny_color', '--json', ...extra], models);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number | string | boolean>;
    };
    const quantized = run('--quantize');
    assert.equal(quantized.quantized, true);
    assert.equal(quantized.seed, denoisingTask({ sigma: 25, quantize: true }).seed); // 1000·σ + 500
    // The library's evaluate() with the same task and the default seed gives the same numbers.
    const loaded = await loadImagesFromDir(images);
    const ev = evaluate(denoisingTask({ sigma: 25, quantize: true }), [learnedMethod(color, { name: 'tiny_color' })], { dataset: 'images', images: loaded, progress: false });
    assert.ok(Math.abs((quantized.psnr as number) - (ev.rows[1].psnr as number)) < 1e-9, `${quantized.psnr} vs ${ev.rows[1].psnr}`);
    assert.ok(Math.abs((quantized.baseline_psnr as number) - (ev.rows[0].psnr as number)) < 1e-9);
    // Without --quantize: the unquantized protocol (its own seed, 1000·σ), another noisy input.
    const plain = run();
    assert.equal(plain.quantized, undefined);
    assert.equal(plain.seed, 25000);
    assert.notEqual(plain.baseline_psnr, quantized.baseline_psnr);
    // An explicit seed is used as given.
    const seeded = run('--seed', '7');
    assert.equal(seeded.seed, 7);
    assert.notEqual(seeded.baseline_psnr, plain.baseline_psnr);
    // --steps T: the solver run T steps instead of its trained 2, as the library's learnedMethod({ steps }) does.
    const longer = run('--steps', '5');
    assert.equal(longer.steps, 5);
    assert.equal(plain.steps, undefined);
    const ev5 = evaluate(denoisingTask({ sigma: 25 }), [learnedMethod(color, { name: 'tiny_color', steps: 5 })], { dataset: 'images', images: loaded, progress: false });
    assert.ok(Math.abs((longer.psnr as number) - (ev5.rows[1].psnr as number)) < 1e-9, `${longer.psnr} vs ${ev5.rows[1].psnr}`);
    assert.notEqual(longer.psnr, plain.psnr);
    tf.dispose(loaded.map((l) => l.image));
    color.dispose();
    // --quantize belongs to denoising.
    const r = evaluateCli(['--task', 'deblur', '--images', images, '--model', 'tiny_color', '--quantize'], models);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr.trim().split('\n')[0], /--quantize is for --task denoise, not deblur/);
  });

  it('bad input: one clear line and a non-zero exit', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--task', 'sr', '--scale', '3', '--pairs', path.join(tmp, 'nowhere')], /^evaluate: no such folder: .*nowhere$/],
      [['--task', 'sr', '--scale', '3', '--pairs', tmp], /^evaluate: no SR pairs in /],
      [['--task', 'sr', '--scale', '2', '--pairs', pairs, '--model', 'tiny_sr'], /p0_LR\.png is 8×8 but its HR .*p0_HR\.png is 24×24, which at scale 2 gives an LR of 12×12/],
      [['--task', 'sr', '--scale', '3', '--pairs', pairs, '--model', 'no_such_model'], /no trained model "no_such_model"/],
      [['--task', 'sr', '--scale', '3', '--pairs', pairs, '--model', path.join(tmp, 'no_such_dir')], /--model .*no_such_dir: no saved model in .*no_such_dir \(no model\.json\)/],
      [['--task', 'upscale', '--pairs', pairs], /unknown task "upscale"/],
      [['--task', 'sr', '--pairs', pairs], /--task sr needs --scale/],
      [['--task', 'sr', '--scale', '3', '--pairs', pairs, '--model', 'tiny_sr', '--steps', '0'], /--steps/],
    ];
    for (const [args, message] of cases) {
      const r = evaluateCli(args, models);
      assert.notEqual(r.status, 0, args.join(' '));
      assert.match(r.stderr.trim().split('\n')[0], message);
    }
    // An unreadable image is named.
    const broken = path.join(tmp, 'broken');
    fs.mkdirSync(broken);
    fs.copyFileSync(path.join(pairs, 'p0_HR.png'), path.join(broken, 'q_HR.png'));
    fs.writeFileSync(path.join(broken, 'q_LR.png'), 'not a png');
    const r = evaluateCli(['--task', 'sr', '--scale', '3', '--pairs', broken, '--model', 'tiny_sr'], models);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /q_LR\.png/);
  });

  it('a model whose weights fail their SHA-256 is refused, and nothing is written', () => {
    const bad = path.join(tmp, 'bad_models');
    fs.cpSync(path.join(models, 'tiny_sr'), path.join(bad, 'tiny_sr'), { recursive: true });
    const bin = fs.readdirSync(path.join(bad, 'tiny_sr')).find((f) => f.endsWith('.bin')) as string;
    const file = path.join(bad, 'tiny_sr', bin);
    const bytes = fs.readFileSync(file);
    bytes[0] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const out = path.join(tmp, 'out_bad');
    const r = evaluateCli(['--task', 'sr', '--scale', '3', '--pairs', pairs, '--model', 'tiny_sr', '--out', out], bad);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /SHA-256|checksum/i);
    assert.equal(fs.existsSync(out), false);
  });

  describe('--task synthesis', () => {
    const COLORS = [[0.8, 0.2, 0.2], [0.2, 0.7, 0.3], [0.25, 0.3, 0.8]];
    /** Writes a one-channel label PNG of the given values (row-major). */
    const writeLabels = (file: string, values: number[], width: number, height: number) =>
      sharp(Buffer.from(values), { raw: { width, height, channels: 1 } }).png().toFile(file);

    it('writes one PNG per label map (same names, same size) and scores φ on them; a label outside 0..11 names its file', async () => {
      const labels = path.join(tmp, 'labels');
      fs.mkdirSync(labels);
      const band = (w: number, h: number, f: (i: number, j: number) => number) => Array.from({ length: w * h }, (_, k) => f(Math.floor(k / w), k % w));
      await writeLabels(path.join(labels, 'a.png'), band(12, 8, (_, j) => Math.floor(j / 4)), 12, 8);
      await writeLabels(path.join(labels, 'b.png'), band(10, 10, (i) => (i < 5 ? 0 : i < 9 ? 2 : 11)), 10, 10);
      const phi = TinySegmenter.prototypes(COLORS, 10);
      const task = semanticSynthesisTask({ segmenter: phi, colors: { colors: COLORS, unlabelled: [0.5, 0.5, 0.5], counts: [1, 1, 1] } });
      const before = tf.memory().numTensors;
      const out = path.join(tmp, 'synth');
      const lines: string[] = [];
      const r = await synthesizeFolder(task, synthesisMethod('mean'), labels, out, { log: (l) => lines.push(l) });
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      assert.deepEqual(fs.readdirSync(out).sort(), ['a.png', 'b.png']);
      const a = await readImage(path.join(out, 'a.png'));
      assert.deepEqual(a.shape, [1, 8, 12, 3]);
      a.dispose();
      assert.equal(r.images, 2);
      assert.equal(r.miou, 1, 'the prototype classifier reads the true class colours perfectly');
      assert.equal(lines.length, 2);
      assert.match(lines[0], /^\[1\/2\] a\.png \(12×8\): φ mIoU 1\.000/);
      const tvOut = path.join(tmp, 'synth_tv');
      const tv = await synthesizeFolder(task, synthesisMethod('tv', { lambda: 0.01, iterations: 3 }), labels, tvOut);
      assert.equal(tv.files.length, 2);
      assert.match(tv.method, /^TV inversion through φ \(λ=0\.01, 3 it\)/);
      await writeLabels(path.join(labels, 'c.png'), band(4, 4, () => 12), 4, 4);
      await assert.rejects(synthesizeFolder(task, synthesisMethod('mean'), labels, path.join(tmp, 'synth_bad')), /c\.png: label 12 at pixel 0 is not a CamVid class/);
      assert.equal(fs.existsSync(path.join(tmp, 'synth_bad')), false, 'nothing written when a label map is bad');
      assert.throws(() => synthesisMethod('rim'), /needs its trained model \(rim_semantic_ce2\)/);
      task.dispose();
      phi.dispose();
    });

    it('bad command lines: one clear line and a non-zero exit', () => {
      const labels = path.join(tmp, 'labels');
      const cases: Array<[string[], RegExp]> = [
        [['--task', 'synthesis', '--out', tmp], /--task synthesis needs --labels DIR/],
        [['--task', 'synthesis', '--labels', labels], /--task synthesis needs --out DIR/],
        [['--task', 'synthesis', '--labels', labels, '--out', tmp, '--method', 'gan'], /unknown --method "gan" \(use rim, lgd, generator, tv, mean\)/],
        [['--task', 'synthesis', '--labels', labels, '--out', tmp, '--method', 'rim', '--lambda', '2'], /--lambda and --iterations are for --method tv/],
        [['--task', 'synthesis', '--labels', labels, '--out', tmp, '--scale', '2'], /--task synthesis takes --labels and --out, not --scale/],
        [['--task', 'synthesis', '--labels', labels, '--out', tmp, '--method', 'tv', '--segmenter', path.join(tmp, 'no_seg')], /^evaluate: no segmenter in .*no_seg/],
        [['--task', 'synthesis', '--labels', path.join(tmp, 'nowhere'), '--out', tmp, '--method', 'mean', '--segmenter', path.join(tmp, 'no_seg')], /no segmenter in|--labels .*nowhere: no such folder/],
        [['--task', 'sr', '--scale', '3', '--pairs', pairs, '--labels', labels], /--labels belongs to --task synthesis/],
      ];
      for (const [args, message] of cases) {
        const r = evaluateCli(args, models);
        assert.notEqual(r.status, 0, args.join(' '));
        assert.match(r.stderr.trim().split('\n')[0], message, args.join(' '));
      }
    });
  });
});

describe('scripts/semantic-probe.ts (notebook 04\'s TV subset, by committed code)', function () {
  this.timeout(300_000);
  const probe = (args: string[]) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'scripts', 'semantic-probe.ts'), ...args], {
      cwd: path.join(__dirname, '..'), encoding: 'utf8', env: { ...process.env, LGD_ENGINE_QUIET: '1' },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('names what is wrong: neither a model nor a TV weight, a bad TV weight, a folder without model.json', () => {
    const none = probe([]);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /give --model \(one or more\) or --tv/);
    for (const bad of ['abc', '-1']) {
      const r = probe([`--tv=${bad}`]);
      assert.equal(r.status, 2);
      assert.match(r.stderr, new RegExp(`--tv ${bad}: a TV weight λ must be a number ≥ 0`));
    }
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-probe-'));
    try {
      const r = probe(['--model', empty, '--images', '1']);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /no saved model in .*\(no model\.json\)/);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('scores a committed model at T and 2T by both segmenters, and TV at a given λ, as notebook 04 does', function () {
    const committed = ['rim_semantic_ce2', 'seg_phi', 'seg_phi_eval'].every((m) => fs.existsSync(path.join(__dirname, '..', 'results', 'models', m, 'model.json')));
    if (!committed || !fs.existsSync(path.join(__dirname, '..', 'data', 'semantic', 'CamVid', 'test'))) this.skip();
    const r = probe(['--model', 'rim_semantic_ce2', '--tv', '300', '--iterations', '3', '--images', '1', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const all = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, number | string>);
    const rows = all.filter((x) => x.method === undefined);
    assert.deepEqual(rows.map((x) => x.steps), [8, 16]);
    const tv = all.filter((x) => x.method === 'tv');
    assert.deepEqual(tv.map((x) => [x.lambda, x.iterations, x.images]), [[300, 3, 1]]);
    assert.ok((tv[0].miou_independent as number) > 0 && (tv[0].miou_independent as number) <= 1 && Number.isFinite(tv[0].psnr as number));
    for (const x of rows) {
      assert.equal(x.images, 1);
      for (const k of ['miou_independent', 'miou_inverted']) assert.ok((x[k] as number) > 0 && (x[k] as number) <= 1, `${k} = ${x[k]}`);
      assert.ok(Number.isFinite(x.psnr as number));
    }
    // φ is what the descent inverts: it must be fooled more than the independent φ'
    assert.ok((rows[0].miou_inverted as number) > (rows[0].miou_independent as number));
  });
});
