/**
 * Scores a segmenter model folder on a CamVid split: mIoU, per-class IoU, pixel accuracy.
 *
 *   npx tsx scripts/evaluate-segmenter.ts --model results/models/seg_phi [--split test] [--json]
 */
import * as path from 'path';
import { initEngine } from '../lib/engine';
import { CAMVID_CLASSES, CamVidSplit, evaluateSegmenter, loadCamVid, loadSegmenter } from '../lib/segmentation';
import { parseCommandLine } from './cli';
import { runSetup } from './setup';

const USAGE = 'usage: npx tsx scripts/evaluate-segmenter.ts --model DIR [--split test|val|train] [--json]';

async function main(): Promise<void> {
  const cli = parseCommandLine({ command: 'evaluate-segmenter', usage: USAGE, options: { model: { type: 'string' }, split: { type: 'string' }, json: { type: 'boolean' } } });
  const { model, json } = cli.values;
  const split = (cli.values.split ?? 'test') as CamVidSplit;
  if (!model) cli.fail('--model is required');
  if (!['train', 'val', 'test'].includes(split)) cli.fail(`unknown split ${JSON.stringify(split)} (train, val or test)`);
  await runSetup({ only: ['native', 'data'], sets: ['CamVid'], log: () => undefined });
  await initEngine({ quiet: true });
  const segmenter = await loadSegmenter(path.resolve(model as string));
  try {
    const r = evaluateSegmenter(segmenter, await loadCamVid(split));
    console.log(`${model} on CamVid ${split}: mIoU ${(100 * r.miou).toFixed(2)}, pixel accuracy ${(100 * r.pixelAccuracy).toFixed(2)}`);
    console.log('per-class IoU: ' + CAMVID_CLASSES.map((c, k) => `${c} ${(100 * r.iou[k]).toFixed(1)}`).join(', '));
    if (json) console.log(JSON.stringify({ model, split, miou: r.miou, pixelAccuracy: r.pixelAccuracy, iou: r.iou }));
  } finally {
    segmenter.dispose();
  }
}

main().catch((err) => {
  console.error(`evaluate-segmenter: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
