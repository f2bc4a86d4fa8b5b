/**
 * Scores learned semantic-synthesis models the way notebook 04 scores them on its TV subset, so that a
 * probe (a config trained to see whether it closes a gap) is measured by committed code without the
 * notebook's 90-minute run: the first `--images` of notebook 04's test subset (every 4th CamVid test
 * image, the first 8 spread over both sequences), start = per-class mean colours of CamVid train,
 * PSNR/SSIM against the real image and mIoU / pixel accuracy by φ (inverted) and φ' (independent), at
 * the model's trained T and at 2T. With --tv, TV inversion through φ (gradient descent, notebook 04's
 * solver) at the given weights λ on the same images: notebook 04's oracle sweep, for λ off its grid.
 *
 *   npx tsx scripts/semantic-probe.ts --model rim_semantic_ce2 [--model results/runs/X/checkpoints/step-000800 ...]
 *       [--tv 1 --tv 0.3 [--iterations 100]] [--images 8] [--json]
 *
 * A model is a name under results/models/ or a folder with model.json (a path with a '/'; e.g. a
 * checkpoint exported by scripts/export-checkpoint.ts). With --json, one JSON line per model and horizon.
 */
import * as fs from 'fs';
import * as path from 'path';
import { initEngine, tf } from '../lib/engine';
import { modelsDir } from '../lib/io/paths';
import { camvidTensors, cropCamVidSample, evaluationSubset, loadCamVid, loadSegmenter } from '../lib/segmentation';
import { evaluateSemantic, loadModelArg, perClassMeanColors, semanticLearnedMethod, semanticSynthesisTask, semanticTvMethod, TrainedModel } from '../lib/experiments';
import { parseCommandLine } from './cli';
import { runSetup } from './setup';

const USAGE = 'usage: npx tsx scripts/semantic-probe.ts [--model NAME|DIR ...] [--tv LAMBDA ... [--iterations N (default 100)]] [--images N (default 8)] [--json]';
/** Notebook 04's full-size subset: every 4th test image, its first 8 (the TV images) spread over the split. */
export const PROBE_SUBSET = { every: 4, first: 8 } as const;


async function main(): Promise<void> {
  const cli = parseCommandLine({
    command: 'semantic-probe',
    usage: USAGE,
    options: { model: { type: 'string', multiple: true }, tv: { type: 'string', multiple: true }, iterations: { type: 'string' }, images: { type: 'string' }, json: { type: 'boolean' } },
  });
  const names = (cli.values.model ?? []) as string[];
  const lambdas = ((cli.values.tv ?? []) as string[]).map((v) => {
    const l = Number(v);
    if (v.trim() === '' || !Number.isFinite(l) || l < 0) cli.fail(`--tv ${v}: a TV weight λ must be a number ≥ 0`);
    return l;
  });
  if (names.length === 0 && lambdas.length === 0) cli.fail('give --model (one or more) or --tv (one or more)');
  const iterations = cli.integer('iterations', { min: 1 }) ?? 100;
  const count = cli.integer('images', { min: 1 }) ?? PROBE_SUBSET.first;
  await runSetup({ only: ['native', 'data'], sets: ['CamVid'], log: () => undefined });
  await initEngine({ quiet: true });

  const segmenter = async (name: string) => {
    const dir = path.join(modelsDir(), name);
    if (!fs.existsSync(path.join(dir, 'model.json'))) throw new Error(`no segmenter ${name} in ${dir}`);
    return loadSegmenter(dir);
  };
  const phi = await segmenter('seg_phi');
  const phiEval = await segmenter('seg_phi_eval');
  const models: TrainedModel[] = [];
  try {
    for (const n of names) models.push(await loadModelArg(n));
    const train = camvidTensors(await loadCamVid('train'));
    const colors = perClassMeanColors(train.x, train.labels);
    tf.dispose([train.x, train.labels]);
    const task = semanticSynthesisTask({ segmenter: phi, colors });
    const test = evaluationSubset(await loadCamVid('test'), { every: PROBE_SUBSET.every, first: Math.max(count, PROBE_SUBSET.first) }).slice(0, count).map((s) => cropCamVidSample(s));
    const pairs = test.map((s) => { const t = camvidTensors([s]); return { name: s.name, x: t.x, labels: t.labels }; });
    try {
      models.forEach((m, i) => {
        const T = m.solver.config.steps;
        const horizons = T > 1 ? [T, 2 * T] : [T];
        const scores = evaluateSemantic(task, horizons.map((h) => semanticLearnedMethod(m.solver, `${names[i]} t=${h}`, h)), pairs, { 'φ': phi, "φ'": phiEval });
        scores.forEach((s, k) => {
          const line = `${names[i]} at t = ${horizons[k]}${horizons[k] === T ? ' (T)' : ' (2T)'} on ${pairs.length} test images: ` +
            `φ' mIoU ${s.miou["φ'"].toFixed(3)} (pixel acc. ${s.pixelAccuracy["φ'"].toFixed(3)}), φ mIoU ${s.miou['φ'].toFixed(3)}, ${s.psnr.toFixed(2)} dB / ${s.ssim.toFixed(4)} (${s.seconds.toFixed(0)} s)`;
          console.log(line);
          if (cli.values.json) {
            console.log(JSON.stringify({ model: names[i], steps: horizons[k], images: pairs.length, miou_independent: s.miou["φ'"], miou_inverted: s.miou['φ'],
              pixel_acc_independent: s.pixelAccuracy["φ'"], pixel_acc_inverted: s.pixelAccuracy['φ'], psnr: s.psnr, ssim: s.ssim }));
          }
          tf.dispose(s.examples);
        });
      });
      for (const lambda of lambdas) {
        const [s] = evaluateSemantic(task, [semanticTvMethod({ lambda, iterations })], pairs, { 'φ': phi, "φ'": phiEval });
        console.log(`TV through φ, λ = ${lambda}, ${iterations} iterations, on ${pairs.length} test images: ` +
          `φ' mIoU ${s.miou["φ'"].toFixed(3)} (pixel acc. ${s.pixelAccuracy["φ'"].toFixed(3)}), φ mIoU ${s.miou['φ'].toFixed(3)}, ${s.psnr.toFixed(2)} dB / ${s.ssim.toFixed(4)} (${s.seconds.toFixed(0)} s)`);
        if (cli.values.json) {
          console.log(JSON.stringify({ method: 'tv', lambda, iterations, images: pairs.length, miou_independent: s.miou["φ'"], miou_inverted: s.miou['φ'],
            pixel_acc_independent: s.pixelAccuracy["φ'"], pixel_acc_inverted: s.pixelAccuracy['φ'], psnr: s.psnr, ssim: s.ssim }));
        }
        tf.dispose(s.examples);
      }
    } finally {
      pairs.forEach((p) => tf.dispose([p.x, p.labels]));
      task.dispose();
    }
  } finally {
    models.forEach((m) => m.solver.dispose());
    phi.dispose();
    phiEval.dispose();
  }
}

main().catch((err) => {
  console.error(`semantic-probe: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
