/**
 * Runs a committed model on a folder of images and measures it beside the baseline:
 *
 *   npm run -s evaluate -- --task sr --scale 3 --pairs DIR [--model rim_sr] [--json] [--out DIR]
 *   npm run -s evaluate -- --task denoise --sigma 25 --images DIR [--gray] [--model rim_gray] [--seed 0] [--json] [--out DIR]
 *   npm run -s evaluate -- --task deblur [--sigma 2] --images DIR [--model rim_deblur] ...
 *
 * SR: DIR holds MATLAB-made pairs `NAME_HR.png` / `NAME_LR.png`; PSNR/SSIM on the BT.601 luma with
 * `scale` pixels shaved; baseline = bicubic (MATLAB imresize, 8-bit). Denoise / deblur: each image
 * is degraded with seed `seed + i` (the gray or color model by `--gray` and the model's channels);
 * baseline = the degraded input. One progress line per image; with --json one last JSON line
 * `{"model","task","scale"|"sigma","images","psnr","ssim","baseline_psnr","baseline_ssim","seconds"}`.
 * --out DIR writes the restored PNGs (each atomically). Bad input: one line on stderr, exit 1.
 */
import * as fs from 'fs';
import * as path from 'path';
import { initEngine, tf } from '../lib/engine';
import {
  defaultModel, evaluate, learnedMethod, loadImagesFromDir, loadOrTrainModel, loadSrPairsFromDir, restorationTaskFor, RestoreTaskName,
} from '../lib/experiments';
import { writeImage } from '../lib/io/image';
import { parseCommandLine } from './cli';
import { runSetup } from './setup';

const USAGE = `usage: npm run -s evaluate -- --task sr --scale S --pairs DIR [--model NAME] [--json] [--out DIR]
       npm run -s evaluate -- --task denoise --sigma S --images DIR [--gray] [--model NAME] [--seed N] [--json] [--out DIR]
       npm run -s evaluate -- --task deblur [--sigma 2] --images DIR [--model NAME] [--seed N] [--json] [--out DIR]
  models default to the committed ones: rim_sr (sr), rim_gray / rim_color (denoise, by --gray), rim_deblur (deblur)`;

async function main(): Promise<void> {
  const cli = parseCommandLine({
    command: 'evaluate',
    usage: USAGE,
    options: {
      task: { type: 'string' },
      scale: { type: 'string' },
      sigma: { type: 'string' },
      pairs: { type: 'string' },
      images: { type: 'string' },
      gray: { type: 'boolean' },
      model: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean' },
      out: { type: 'string' },
    },
  });
  const v = cli.values;
  if (!v.task) cli.fail('--task is required (sr, denoise or deblur)');
  if (!['sr', 'denoise', 'deblur'].includes(v.task as string)) cli.fail(`unknown task ${JSON.stringify(v.task)} (use sr, denoise or deblur)`);
  const taskName = v.task as RestoreTaskName;
  const scale = cli.integer('scale', { min: 2 });
  const sigma = cli.number('sigma', { min: 0 });
  const seed = cli.integer('seed', { min: 0 }) ?? 0;
  if (taskName === 'sr') {
    if (scale === undefined) cli.fail('--task sr needs --scale');
    if (!v.pairs) cli.fail('--task sr needs --pairs DIR (files NAME_HR.png / NAME_LR.png)');
    if (v.images || v.gray || v.sigma !== undefined) cli.fail('--task sr takes --pairs and --scale, not --images, --gray or --sigma');
  } else {
    if (!v.images) cli.fail(`--task ${taskName} needs --images DIR`);
    if (v.pairs || v.scale !== undefined) cli.fail(`--task ${taskName} takes --images, not --pairs or --scale`);
    if (taskName === 'denoise' && sigma === undefined) cli.fail('--task denoise needs --sigma (0..255 scale)');
  }

  // Set-up first (idempotent, quiet when done): the native convolutions.
  await runSetup({ only: ['native'], log: () => undefined });
  const { backend, native } = await initEngine({ quiet: true });

  const task = restorationTaskFor(taskName, { scale, sigma });
  const t0 = performance.now();
  const dir = path.resolve((taskName === 'sr' ? v.pairs : v.images) as string);
  const pairs = taskName === 'sr' ? await loadSrPairsFromDir(dir, scale as number) : undefined;
  const images = taskName === 'sr' ? undefined : await loadImagesFromDir(dir, v.gray ? 1 : undefined);
  const channels = taskName === 'sr' ? 1 : images![0].image.shape[3];
  const modelName = v.model ?? defaultModel(taskName, channels);
  const model = await loadOrTrainModel(modelName);
  try {
    if (taskName !== 'sr' && model.solver.config.channels !== channels) {
      throw new Error(
        `model ${modelName} restores ${model.solver.config.channels}-channel images but the images in ${dir} are read with ${channels}` +
          (model.solver.config.channels === 1 ? ' (add --gray)' : ' (drop --gray, or use a gray model)'),
      );
    }
    const n = pairs?.length ?? images!.length;
    const method = learnedMethod(model.solver, { name: modelName });
    const ev = evaluate(task, [method], { dataset: path.basename(dir), pairs, images, seed, keepExamples: v.out ? n : 0, progress: false });
    const m = ev.methods[0];
    m.perImage.forEach((r, i) => {
      const b = ev.input[i].quality;
      console.log(`[${i + 1}/${n}] ${r.name}: ${modelName} ${r.quality.psnr.toFixed(2)} dB / ${r.quality.ssim.toFixed(4)}; ${task.inputMethod} ${b.psnr.toFixed(2)} dB / ${b.ssim.toFixed(4)} (${r.seconds.toFixed(1)} s)`);
    });
    if (v.out) {
      const out = path.resolve(v.out);
      fs.mkdirSync(out, { recursive: true });
      for (const e of m.examples) await writeImage(e.output, path.join(out, `${e.name}.png`));
      for (const e of m.examples) tf.dispose([e.truth, e.input, e.output]);
      console.log(`wrote ${m.examples.length} restored image(s) to ${out}`);
    }
    const [baseline, learned] = ev.rows;
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `${modelName} on ${n} image(s) of ${dir}, ${task.task} ${task.setting}: PSNR ${(learned.psnr ?? NaN).toFixed(2)} dB, SSIM ${(learned.ssim ?? NaN).toFixed(4)}; ` +
        `${task.inputMethod} ${(baseline.psnr ?? NaN).toFixed(2)} dB, ${(baseline.ssim ?? NaN).toFixed(4)} (${seconds.toFixed(1)} s, ${backend}${native ? ' + native convs' : ''})`,
    );
    if (v.json) {
      const param = taskName === 'sr' ? { scale } : { sigma: sigma ?? task.sigma * 255 };
      console.log(JSON.stringify({ model: modelName, task: taskName, ...param, images: n, psnr: learned.psnr, ssim: learned.ssim, baseline_psnr: baseline.psnr, baseline_ssim: baseline.ssim, seconds }));
    }
  } finally {
    model.solver.dispose();
    for (const p of pairs ?? []) tf.dispose([p.hr, p.lr]);
    for (const im of images ?? []) im.image.dispose();
  }
}

main().catch((err) => {
  console.error(`evaluate: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
