/** Running the project's command-line scripts from tests. */
import { spawnSync } from 'child_process';
import * as path from 'path';

/** The repository root. */
export const ROOT = path.resolve(__dirname, '..', '..');

/**
 * Runs `scripts/evaluate.ts` with the models of `modelsDir` (as `LGD_MODELS_DIR`), quietly.
 * @example
 * const r = evaluateCli(['--task', 'sr', '--scale', '3', '--pairs', dir, '--json'], models);
 */
export function evaluateCli(args: string[], modelsDir: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'evaluate.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, LGD_MODELS_DIR: modelsDir, LGD_ENGINE_QUIET: '1' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
