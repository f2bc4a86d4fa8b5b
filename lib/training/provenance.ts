/**
 * Where a model's weights came from: the folder of a config's `init.model`, and how many training
 * patches a model has seen along its chain of inits (its own steps × batch, plus those of the
 * model it was started from, and so on).
 *
 * A name in `init.model` points at whatever `results/models/<name>/` holds now, and that folder
 * can be exported again after a model was started from it (rim_gray48 trained on after
 * rim_gray48_t16 was fine-tuned from it). So training records what it started from in the
 * checkpoint state and in `train.json` ({@link InitRecord}), and the chain of a model that has no
 * record is only followed through folders exported before that model began training.
 */
import * as fs from 'fs';
import * as path from 'path';
import { modelsDir, projectPath } from '../io/paths';

/** What a run was started from, as it was when the run began (`train.json`'s `initFrom`). */
export interface InitRecord {
  /** `init.model` as the config gave it. */
  model: string;
  /** SHA-256 of the init folder's `weights.bin`. */
  weightsSha256: string;
  /** Patches the init weights had seen along their own chain; absent when its folders did not say. */
  patches?: number;
  /** The names along that chain, nearest first (e.g. `['rim_gray48', 'rim_gray']`). */
  chain?: string[];
}

/** True when `model` names a folder (absolute, or with a '/') rather than a model under `results/models/`. */
export function isModelPath(model: string): boolean {
  return path.isAbsolute(model) || model.includes('/') || model.includes(path.sep);
}

/** The folder of `init.model`: a path (absolute, or with a '/'), else a name under `results/models/`. */
export function initModelDir(model: string): string {
  return isModelPath(model) ? path.resolve(model) : path.join(modelsDir(), model);
}

/**
 * How a summary names an `init.model`: a model name as it is; a folder by its path under
 * `results/` (a checkpoint's own name, `best` or `step-024000`, says nothing alone).
 */
export function initName(model: string): string {
  if (!isModelPath(model)) return model;
  const parts = path.normalize(model).split(path.sep);
  const at = parts.lastIndexOf('results');
  return at >= 0 ? parts.slice(at).join('/') : path.basename(model);
}

/** The folder of an `init.model`: a name beside `siblingsDir` (else where training looks, {@link initModelDir}), or a path. */
export function initFolder(model: string, siblingsDir: string): string {
  if (isModelPath(model)) {
    const given = path.resolve(projectPath(), model);
    // an absolute path from the machine that trained it: the same folder under this project's results/
    return fs.existsSync(given) || !initName(model).startsWith('results/') ? given : projectPath(initName(model));
  }
  const beside = path.join(siblingsDir, model);
  return fs.existsSync(beside) ? beside : initModelDir(model);
}

/** What a model folder says about its training. */
interface FolderTraining {
  /** Its own patches: steps × batch. */
  patches: number;
  /** Its config's `init.model`. */
  init?: string;
  /** What it recorded of that init when it began (newer exports). */
  initFrom?: InitRecord;
  /** When it was exported (ms since the epoch; exported models only). */
  exportedAt?: number;
  /** A time by which its training had begun: export time minus training wall time (ms). */
  begunBy?: number;
}

/** Steps × batch of a training config; undefined when the config does not say. */
function patchesOfConfig(config: { data?: { batchSize?: number } } | undefined, steps: number): number | undefined {
  const batch = config?.data?.batchSize;
  return batch && Number.isFinite(steps) ? steps * batch : undefined;
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

type Config = { data?: { batchSize?: number }; init?: { model: string } };

/**
 * What a model folder says about its training: an exported model by its `train.json`; a run's
 * `best/` or `checkpoints/step-N/` folder by its step and the run's `config.json` (and the init
 * record in the checkpoint's `state.json`). Undefined when the folder says nothing.
 */
/** The fields of `train.json` that say how a model was trained. */
export interface TrainingRecordFields {
  steps: number;
  trainConfig?: Config;
  initFrom?: InitRecord;
  date?: string;
  wallTimeSeconds?: number;
}

function folderTraining(dir: string, given?: TrainingRecordFields): FolderTraining | undefined {
  const record = given ?? readJson<TrainingRecordFields>(path.join(dir, 'train.json'));
  if (record) {
    const patches = patchesOfConfig(record.trainConfig, record.steps);
    if (patches === undefined) return undefined;
    const exportedAt = record.date ? Date.parse(record.date) : NaN;
    return {
      patches,
      init: record.trainConfig?.init?.model,
      initFrom: record.initFrom,
      ...(Number.isFinite(exportedAt) ? { exportedAt, begunBy: exportedAt - 1000 * (record.wallTimeSeconds ?? 0) } : {}),
    };
  }
  const base = path.basename(dir);
  const parent = path.dirname(dir);
  const numbered = /^step-(\d+)$/.exec(base);
  const step = base === 'best' ? readJson<{ step: number }>(path.join(dir, 'best.json'))?.step : numbered ? Number(numbered[1]) : undefined;
  if (step === undefined) return undefined;
  const runDir = base === 'best' ? parent : path.dirname(parent);
  const config = readJson<Config>(path.join(runDir, 'config.json'));
  const patches = patchesOfConfig(config, step);
  if (patches === undefined) return undefined;
  // a run's init record is the same in all its checkpoints; best/ has none of its own, so it reads the latest's
  const stateDir = base === 'best' ? readJson<{ dir?: string }>(path.join(runDir, 'latest.json'))?.dir : undefined;
  const initFrom = readJson<{ initFrom?: InitRecord }>(path.join(stateDir ? path.join(runDir, stateDir) : dir, 'state.json'))?.initFrom;
  return { patches, init: config?.init?.model, ...(initFrom ? { initFrom } : {}) };
}

/** The patches a model saw along its chain of inits ({@link patchesSeen}). */
export interface PatchesSeen {
  /** Its own steps × batch. */
  own: number;
  /** With those of every init in `names`. */
  total: number;
  /** The inits counted in `total`, nearest first. */
  names: string[];
  /**
   * The link where counting stopped: `unknown` (its folder says nothing of its training) or
   * `changed` (exported again after the model before it had begun training from it, so what it
   * holds now is not what was started from).
   */
  stopped?: { name: string; why: 'unknown' | 'changed' };
}

/**
 * The training patches of the model in `dir` along its chain of inits. A link that recorded its
 * init ({@link InitRecord}) ends the walk with the recorded count; otherwise each init folder
 * counts only when it was exported before the model started from it began training.
 * Undefined when `dir` itself says nothing.
 * @param record the model's own `train.json` fields, when the caller has them (else read from `dir`)
 * @example
 * patchesSeen('results/models/rim_gray48_t16'); // { own: 32000, total: 336000, names: ['rim_gray48', 'rim_gray'] }
 */
export function patchesSeen(dir: string, record?: TrainingRecordFields): PatchesSeen | undefined {
  const first = folderTraining(dir, record);
  if (!first) return undefined;
  let total = first.patches;
  const names: string[] = [];
  let current = first;
  let siblings = path.dirname(dir);
  for (let depth = 0; current.init !== undefined && depth < 16; depth++) {
    const name = initName(current.init);
    if (current.initFrom) {
      if (current.initFrom.patches === undefined) return { own: first.patches, total, names, stopped: { name, why: 'unknown' } };
      return { own: first.patches, total: total + current.initFrom.patches, names: [...names, ...(current.initFrom.chain ?? [name])] };
    }
    const folder = initFolder(current.init, siblings);
    const next = folderTraining(folder);
    if (!next) return { own: first.patches, total, names, stopped: { name, why: 'unknown' } };
    if (next.exportedAt !== undefined && current.begunBy !== undefined && next.exportedAt > current.begunBy) {
      return { own: first.patches, total, names, stopped: { name, why: 'changed' } };
    }
    names.push(name);
    total += next.patches;
    current = next;
    siblings = path.dirname(folder);
  }
  return { own: first.patches, total, names };
}

/**
 * The record training keeps of its init folder when a run begins: `model` as configured, the
 * weights' SHA-256 and the patches along the folder's chain (when its folders say).
 */
export function initRecord(model: string, dir: string, weightsSha256: string): InitRecord {
  const seen = patchesSeen(dir);
  if (!seen || seen.stopped) return { model, weightsSha256 };
  return { model, weightsSha256, patches: seen.total, chain: [initName(model), ...seen.names] };
}
