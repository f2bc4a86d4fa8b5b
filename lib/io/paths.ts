import * as fs from 'fs';
import * as path from 'path';
import { setting } from '../settings';

let root: string | undefined;

/**
 * The project's root folder (the one holding this package's package.json), found from this
 * file's location, so paths work from notebooks, scripts and tests alike.
 */
export function projectRoot(): string {
  if (root) return root;
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if (JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'lgd-workspace') return (root = dir);
      } catch {
        /* keep looking */
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the lgd-workspace project root above ${__dirname}`);
    dir = up;
  }
}

/** A path inside the project: `projectPath('results', 'tables')`. */
export function projectPath(...parts: string[]): string {
  return path.join(projectRoot(), ...parts);
}

/** `data/` inside the project (override with `LGD_DATA_DIR`). */
export function dataDir(): string {
  return setting('LGD_DATA_DIR') ?? projectPath('data');
}

/** The read-only data mirror: `LGD_DATA_MIRROR`, default `../shared/data` next to the project. */
export function dataMirror(): string {
  return setting('LGD_DATA_MIRROR') ?? path.resolve(projectRoot(), '..', 'shared', 'data');
}

/**
 * Where figures and tables go: `results/` inside the project, or `results/quick/` (git-ignored)
 * in quick mode, so a CI-sized run never overwrites the committed full-size results.
 * Override with `LGD_RESULTS_DIR`.
 */
export function resultsDir(): string {
  return setting('LGD_RESULTS_DIR') ?? (isQuick() ? projectPath('results', 'quick') : projectPath('results'));
}

/** Trained models: `results/models/` (the same in quick and full mode; override with `LGD_MODELS_DIR`). */
export function modelsDir(): string {
  return setting('LGD_MODELS_DIR') ?? projectPath('results', 'models');
}

/** True when `LGD_QUICK` asks for CI-sized runs. */
export function isQuick(): boolean {
  return setting('LGD_QUICK');
}
