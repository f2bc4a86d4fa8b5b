/**
 * Runs a committed model on a folder of images and measures it beside the baseline:
 *
 *   npm run -s evaluate -- --task sr --scale 3 --pairs DIR [--model rim_sr48] [--steps T] [--ensemble] [--json] [--out DIR]
 *   npm run -s evaluate -- --task denoise --sigma 25 --images DIR [--quantize] [--gray] [--model rim_gray] [--seed N] [--json] [--out DIR]
 *   npm run -s evaluate -- --task deblur [--sigma 2] --images DIR [--model rim_deblur] ...
 *
 * SR: DIR holds MATLAB-made pairs `NAME_HR.png` / `NAME_LR.png`; PSNR/SSIM on the BT.601 luma with
 * `scale` pixels shaved; baseline = bicubic (MATLAB imresize, 8-bit). Denoise / deblur: each image
 * is degraded with seed `seed + i`, the seed defaulting to the notebooks' protocol (denoising
 * `1000·σ`, +500 with --quantize; deblurring 5000), so a folder of a notebook's test set gives the
 * notebook's numbers (the gray or color model by `--gray` and the model's channels); --quantize
 * rounds the noisy image to 8 bits (the color table's 'sigma=25, quantized'). Baseline = the
 * degraded input. While it runs, a progress bar on stderr (in place on a terminal, else a line every
 * 30 s); then one line per image; with --json one last JSON line
 * `{"model","task","scale"|"sigma","images","psnr","ssim","baseline_psnr","baseline_ssim","seconds"}`
 * (denoise / deblur add `"seed"`, and `"quantized": true` with --quantize).
 * --ensemble: the geometric self-ensemble (8 flips / rotations averaged; 8x the time; JSON adds
 * `"ensemble": 8`). --steps T runs the learned solver T steps instead of the T it was trained
 * for (JSON adds `"steps"`). --out DIR writes the restored PNGs (each atomically). Bad input: one line on stderr, exit 1.
 * Learned Gauss–Newton models only: --cg-iterations N and --damping identity|smoothness run the
 * network with another linear solve (same weights; JSON adds `"cg_iterations"` / `"damping"`);
 * --cosines prints, per step, the mean cosine between the GN direction δ_t and the negative
 * likelihood gradient on the model's own iterates (JSON adds `"direction_cosines"`); --ablate
 * direction|gradient zeroes the network's weights for that input (does it use it? JSON adds `"ablated"`).
 *
 *   npm run -s evaluate -- --task synthesis --labels DIR --out DIR [--method rim|lgd|generator|tv|mean] [--json]
 *                          [--model NAME] [--segmenter DIR] [--lambda 1] [--iterations 100]
 *
 * Synthesis: one PNG per label map of DIR (same file names; CamVid label values 0..11, 11 =
 * Unlabelled) through the segmenter φ (`results/models/seg_phi`), from the per-class mean colours
 * of CamVid train; --json prints `{"task","method","images","miou","pixel_accuracy","seconds"}`
 * last: φ's scores on its own outputs. Score the PNGs with a segmenter of your own.
 */
import * as fs from 'fs';
import * as path from 'path';
import { initEngine, tf } from '../lib/engine';
import {
  defaultModel, evaluate, gnDirectionCosines, loadModelArg, selfEnsembleMethod, labelFiles, learnedMethod, loadImagesFromDir, loadSrPairsFromDir, perClassMeanColors, restorationTaskFor, RestoreTaskName,
  semanticSynthesisTask, synthesisMethod, SYNTHESIS_METHODS, SYNTHESIS_MODELS, SynthesisMethodName, synthesizeFolder,
} from '../lib/experiments';
import { writeImage } from '../lib/io/image';
import { modelsDir } from '../lib/io/paths';
import { Damping, Lgn } from '../lib/solvers/learned';
import { camvidDir, camvidTensors, hasCamVid, loadCamVid, loadSegmenter } from '../lib/segmentation';
import { OptionSpec, parseCommandLine } from './cli';
import { runSetup } from './setup';


const USAGE = `usage: npm run -s evaluate -- --task sr --scale S --pairs DIR [--model NAME|DIR] [--steps T] [--ensemble] [--cg-iterations N] [--damping D] [--cosines] [--ablate I] [--json] [--out DIR]
       npm run -s evaluate -- --task denoise --sigma S --images DIR [--quantize] [--gray] [--model NAME] [--steps T] [--seed N] [--json] [--out DIR]
       npm run -s evaluate -- --task deblur [--sigma 2] --images DIR [--model NAME] [--steps T] [--seed N] [--json] [--out DIR]
       npm run -s evaluate -- --task synthesis --labels DIR --out DIR [--method rim|lgd|generator|tv|mean] [--model NAME]
                              [--segmenter DIR] [--lambda L] [--iterations N] [--json]
  --model: a name under results/models/ or a model folder (a path with a '/'); models default to the committed ones: rim_sr48 (sr), rim_gray / rim_color_q (denoise, by --gray), rim_deblur (deblur),
  rim_semantic_ce2 / lgd_semantic / spade_semantic (synthesis --method rim / lgd / generator; default rim)
  --steps (sr, denoise, deblur): run the learned solver T steps (default: the T it was trained for)
  --ensemble (sr, denoise, deblur): geometric self-ensemble, the model run on the 8 flips / 90° rotations and averaged (8x the time)
  --cg-iterations N, --damping identity|smoothness (learned Gauss–Newton models): the same weights with another linear solve
  --cosines (learned Gauss–Newton models): per step, the mean cos(δ_t, −∇L) on the model's own iterates
  --ablate direction|gradient (learned Gauss–Newton models): the network's weights for that input set to zero
  --quantize (denoise): the noisy image rounded to 8 bits (the color table's protocol)
  --seed (denoise, deblur): image i is degraded with seed + i; default the notebooks' protocol (denoise 1000·σ, +500 quantized; deblur 5000)`;

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
      labels: { type: 'string' },
      method: { type: 'string' },
      segmenter: { type: 'string' },
      lambda: { type: 'string' },
      iterations: { type: 'string' },
      ensemble: { type: 'boolean' },
      quantize: { type: 'boolean' },
      steps: { type: 'string' },
      'cg-iterations': { type: 'string' },
      damping: { type: 'string' },
      cosines: { type: 'boolean' },
      ablate: { type: 'string' },
    },
  });
  const v = cli.values;
  if (!v.task) cli.fail('--task is required (sr, denoise, deblur or synthesis)');
  if (v.task === 'synthesis') return synthesis(cli);
  if (!['sr', 'denoise', 'deblur'].includes(v.task as string)) cli.fail(`unknown task ${JSON.stringify(v.task)} (use sr, denoise, deblur or synthesis)`);
  for (const k of ['labels', 'method', 'segmenter', 'lambda', 'iterations'] as const) if (v[k] !== undefined) cli.fail(`--${k} belongs to --task synthesis`);
  const taskName = v.task as RestoreTaskName;
  const scale = cli.integer('scale', { min: 2 });
  const sigma = cli.number('sigma', { min: 0 });
  const seedOption = cli.integer('seed', { min: 0 });
  const steps = cli.integer('steps', { min: 1 });
  const cgIterations = cli.integer('cg-iterations', { min: 1 });
  const damping = v.damping as string | undefined;
  if (damping !== undefined && damping !== 'identity' && damping !== 'smoothness') cli.fail(`--damping must be identity or smoothness, got ${JSON.stringify(damping)}`);
  const ablate = v.ablate as string | undefined;
  if (ablate !== undefined && ablate !== 'direction' && ablate !== 'gradient') cli.fail(`--ablate must be direction or gradient, got ${JSON.stringify(ablate)}`);
  if (taskName === 'sr') {
    if (scale === undefined) cli.fail('--task sr needs --scale');
    if (!v.pairs) cli.fail('--task sr needs --pairs DIR (files NAME_HR.png / NAME_LR.png)');
    if (v.images || v.gray || v.sigma !== undefined || v.seed !== undefined) cli.fail('--task sr takes --pairs and --scale, not --images, --gray, --sigma or --seed');
  } else {
    if (!v.images) cli.fail(`--task ${taskName} needs --images DIR`);
    if (v.pairs || v.scale !== undefined) cli.fail(`--task ${taskName} takes --images, not --pairs or --scale`);
    if (taskName === 'denoise' && sigma === undefined) cli.fail('--task denoise needs --sigma (0..255 scale)');
  }
  if (v.quantize && taskName !== 'denoise') cli.fail(`--quantize is for --task denoise, not ${taskName}`);

  // Set-up first (idempotent, quiet when done): the native convolutions.
  await runSetup({ only: ['native'], log: () => undefined });
  const { backend, native } = await initEngine({ quiet: true });

  const task = restorationTaskFor(taskName, { scale, sigma, quantize: v.quantize === true });
  const seed = seedOption ?? task.seed;
  const t0 = performance.now();
  const dir = path.resolve((taskName === 'sr' ? v.pairs : v.images) as string);
  const pairs = taskName === 'sr' ? await loadSrPairsFromDir(dir, scale as number) : undefined;
  const images = taskName === 'sr' ? undefined : await loadImagesFromDir(dir, v.gray ? 1 : undefined);
  const channels = taskName === 'sr' ? 1 : images![0].image.shape[3];
  const modelName = v.model ?? defaultModel(taskName, channels);
  const model = await loadModelArg(modelName);
  const solveChanged = cgIterations !== undefined || damping !== undefined;
  if ((solveChanged || v.cosines || ablate) && !(model.solver instanceof Lgn)) {
    model.solver.dispose();
    const opts = [cgIterations !== undefined ? '--cg-iterations' : '', damping !== undefined ? '--damping' : '', v.cosines ? '--cosines' : '', ablate ? '--ablate' : ''].filter(Boolean).join(', ');
    cli.fail(`${opts}: for a learned Gauss–Newton model (kind lgn); ${modelName} is a ${model.solver.kind}`);
  }
  if (solveChanged) {
    const changed = (model.solver as Lgn).withSolve({ ...(cgIterations !== undefined ? { cgIterations } : {}), ...(damping !== undefined ? { damping: damping as Damping } : {}) });
    model.solver.dispose();
    model.solver = changed;
  }
  if (ablate) {
    try {
      const without = (model.solver as Lgn).ablated(ablate as 'direction' | 'gradient');
      model.solver.dispose();
      model.solver = without;
    } catch (err) {
      model.solver.dispose();
      cli.fail(`--ablate ${ablate}: ${(err as Error).message}`);
    }
  }
  try {
    if (taskName !== 'sr' && model.solver.config.channels !== channels) {
      throw new Error(
        `model ${modelName} restores ${model.solver.config.channels}-channel images but the images in ${dir} are read with ${channels}` +
          (model.solver.config.channels === 1 ? ' (add --gray)' : ' (drop --gray, or use a gray model)'),
      );
    }
    const n = pairs?.length ?? images!.length;
    const variant = [steps !== undefined ? `T=${steps}` : '', cgIterations !== undefined ? `CG=${cgIterations}` : '', damping !== undefined ? `damping ${damping}` : '', ablate ? `no ${ablate} input` : ''].filter(Boolean).join(', ');
    const plain = learnedMethod(model.solver, { name: variant ? `${modelName}, ${variant}` : modelName, steps });
    const method = v.ensemble ? selfEnsembleMethod(plain) : plain;
    const ev = evaluate(task, [method], { dataset: path.basename(dir), pairs, images, seed, keepExamples: v.out ? n : 0, progress: { stream: process.stderr } });
    const m = ev.methods[0];
    m.perImage.forEach((r, i) => {
      const b = ev.input[i].quality;
      console.log(`[${i + 1}/${n}] ${r.name}: ${method.name} ${r.quality.psnr.toFixed(2)} dB / ${r.quality.ssim.toFixed(4)}; ${task.inputMethod} ${b.psnr.toFixed(2)} dB / ${b.ssim.toFixed(4)} (${r.seconds.toFixed(1)} s)`);
    });
    if (v.out) {
      const out = path.resolve(v.out);
      fs.mkdirSync(out, { recursive: true });
      for (const e of m.examples) await writeImage(e.output, path.join(out, `${e.name}.png`));
      for (const e of m.examples) tf.dispose([e.truth, e.input, e.output]);
      console.log(`wrote ${m.examples.length} restored image(s) to ${out}`);
    }
    const cosines = v.cosines ? gnDirectionCosines(model.solver, task, { pairs, images, seed }) : undefined;
    if (cosines) console.log(`cos(δ_t, −∇L) per step t = 1..${cosines.length} (mean over ${n} image(s)): ${cosines.map((c) => c.toFixed(3)).join(', ')}`);
    const [baseline, learned] = ev.rows;
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `${method.name} on ${n} image(s) of ${dir}, ${task.task} ${task.setting}: PSNR ${(learned.psnr ?? NaN).toFixed(2)} dB, SSIM ${(learned.ssim ?? NaN).toFixed(4)}; ` +
        `${task.inputMethod} ${(baseline.psnr ?? NaN).toFixed(2)} dB, ${(baseline.ssim ?? NaN).toFixed(4)} (${seconds.toFixed(1)} s, ${backend}${native ? ' + native convs' : ''})`,
    );
    if (v.json) {
      const param = taskName === 'sr' ? { scale } : { sigma: sigma ?? task.sigma * 255, ...(v.quantize ? { quantized: true } : {}), seed };
      const solve = { ...(cgIterations !== undefined ? { cg_iterations: cgIterations } : {}), ...(damping !== undefined ? { damping } : {}), ...(cosines ? { direction_cosines: cosines } : {}), ...(ablate ? { ablated: ablate } : {}) };
      console.log(JSON.stringify({ model: modelName, ...(v.ensemble ? { ensemble: 8 } : {}), ...(steps !== undefined ? { steps } : {}), ...solve, task: taskName, ...param, images: n, psnr: learned.psnr, ssim: learned.ssim, baseline_psnr: baseline.psnr, baseline_ssim: baseline.ssim, seconds }));
    }
  } finally {
    model.solver.dispose();
    for (const p of pairs ?? []) tf.dispose([p.hr, p.lr]);
    for (const im of images ?? []) im.image.dispose();
  }
}

/** `--task synthesis`: label maps → images through φ. */
async function synthesis(cli: ReturnType<typeof parseCommandLine<Record<string, OptionSpec>>>): Promise<void> {
  const v = cli.values as Record<string, string | boolean | undefined>;
  if (!v.labels) cli.fail('--task synthesis needs --labels DIR (label PNGs, CamVid values 0..11)');
  if (!v.out) cli.fail('--task synthesis needs --out DIR (one PNG per label map)');
  for (const k of ['scale', 'sigma', 'pairs', 'images', 'gray', 'seed', 'ensemble', 'quantize', 'steps', 'cg-iterations', 'damping', 'cosines', 'ablate'] as const) if (v[k] !== undefined) cli.fail(`--task synthesis takes --labels and --out, not --${k}`);
  const methodName = (v.method ?? 'rim') as SynthesisMethodName;
  if (!SYNTHESIS_METHODS.includes(methodName)) cli.fail(`unknown --method ${JSON.stringify(v.method)} (use ${SYNTHESIS_METHODS.join(', ')})`);
  if (v.model !== undefined && (methodName === 'tv' || methodName === 'mean')) cli.fail(`--model is for the learned methods (rim, lgd, generator), not ${methodName}`);
  if ((v.lambda !== undefined || v.iterations !== undefined) && methodName !== 'tv') cli.fail('--lambda and --iterations are for --method tv');
  const lambda = cli.number('lambda', { min: 0 });
  const iterations = cli.integer('iterations', { min: 1 });

  await runSetup({ only: ['native'], log: () => undefined });
  const { backend, native } = await initEngine({ quiet: true });
  const segDir = path.resolve((v.segmenter as string | undefined) ?? path.join(modelsDir(), 'seg_phi'));
  if (!fs.existsSync(path.join(segDir, 'model.json'))) throw new Error(`no segmenter in ${segDir} (train it: npm run train:segmenter -- --config configs/seg_phi.json; or give --segmenter DIR)`);
  const labelsDir = path.resolve(v.labels as string);
  labelFiles(labelsDir); // the folder's errors before any loading
  if (!hasCamVid('train')) throw new Error(`the mean-colour start needs CamVid train in ${camvidDir()} (npm run setup -- --only data)`);
  const segmenter = await loadSegmenter(segDir);
  const modelName = methodName === 'tv' || methodName === 'mean' ? undefined : ((v.model as string | undefined) ?? SYNTHESIS_MODELS[methodName]);
  const model = modelName ? await loadModelArg(modelName) : undefined;
  const train = camvidTensors(await loadCamVid('train'));
  const colors = perClassMeanColors(train.x, train.labels);
  tf.dispose([train.x, train.labels]);
  const task = semanticSynthesisTask({ segmenter, colors });
  try {
    const method = synthesisMethod(methodName, { solver: model?.solver, label: modelName, lambda, iterations });
    const r = await synthesizeFolder(task, method, labelsDir, path.resolve(v.out as string), { log: (l) => console.log(l) });
    console.log(`${r.method}: ${r.images} image(s) written to ${path.resolve(v.out as string)}; φ (${path.relative(process.cwd(), segDir) || segDir}) on them: mIoU ${r.miou.toFixed(3)}, pixel accuracy ${r.pixelAccuracy.toFixed(3)} (${r.seconds.toFixed(1)} s, ${backend}${native ? ' + native convs' : ''})`);
    if (v.json) console.log(JSON.stringify({ task: 'synthesis', method: methodName, model: modelName ?? null, images: r.images, miou: r.miou, pixel_accuracy: r.pixelAccuracy, seconds: r.seconds }));
  } finally {
    task.dispose();
    segmenter.dispose();
    model?.solver.dispose();
  }
}

main().catch((err) => {
  console.error(`evaluate: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
