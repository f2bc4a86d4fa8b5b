/**
 * The PyTorch twin of the RIM-bench cell (`../shared/bench/rim_torch.py`), for tests.
 *
 * A test skips only when the twin genuinely cannot run here: no `/usr/bin/python3`, or no `torch`
 * module for it (checked explicitly with `importlib.util.find_spec`, not guessed from an exit
 * code). Once python and torch are there, anything else — a missing script, a non-zero exit, a
 * crash inside torch, output that is not the expected JSON line — is a failure of the twin and
 * {@link runTorchTwin} throws, naming the command and its stderr.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** Debian's python, the one `python3-torch` installs into. */
export const TWIN_PYTHON = '/usr/bin/python3';

/** The twin script, next to the project in the shared folder. */
export const TWIN_SCRIPT = path.resolve(__dirname, '..', '..', '..', 'shared', 'bench', 'rim_torch.py');

/**
 * Why the twin cannot run on this machine, or undefined when python and torch are both present.
 * @example
 * const why = torchAbsence(); if (why) { console.log(`skipped: ${why}`); this.skip(); }
 */
export function torchAbsence(python = TWIN_PYTHON): string | undefined {
  if (!fs.existsSync(python)) return `${python} is absent`;
  const probe = spawnSync(python, ['-c', 'import importlib.util, sys; sys.exit(0 if importlib.util.find_spec("torch") else 3)'], { encoding: 'utf8', timeout: 30000 });
  if (probe.status === 3) return `${python} has no torch module (Debian: apt-get install python3-torch)`;
  if (probe.status !== 0) throw new Error(`probing ${python} for torch failed (exit ${probe.status}, signal ${probe.signal}): ${probe.stderr.trim()}`);
  return undefined;
}

/** The JSON line the twin prints. */
export interface TwinResult {
  framework: string;
  params: number;
  train_step_ms?: number;
  forward_ms?: number;
  [key: string]: unknown;
}

/**
 * Runs the twin and parses its last output line.
 * @throws When the script is missing, exits non-zero or by a signal, or its last line is not a
 *   JSON object with a numeric `params`; the message names the command and quotes stderr.
 */
export function runTorchTwin(args: string[], options: { python?: string; script?: string; timeoutMs?: number } = {}): TwinResult {
  const python = options.python ?? TWIN_PYTHON;
  const script = options.script ?? TWIN_SCRIPT;
  if (!fs.existsSync(script)) throw new Error(`the torch twin ${script} is missing`);
  const command = `${python} ${script} ${args.join(' ')}`;
  const r = spawnSync(python, [script, ...args], { encoding: 'utf8', timeout: options.timeoutMs ?? 60000 });
  if (r.error) throw new Error(`${command}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${command} failed (exit ${r.status}${r.signal ? `, signal ${r.signal}` : ''}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(last);
  } catch {
    throw new Error(`${command}: the last output line is not JSON: ${JSON.stringify(last.slice(0, 200))}`);
  }
  if (!parsed || typeof parsed !== 'object' || typeof (parsed as TwinResult).params !== 'number') {
    throw new Error(`${command}: expected a JSON object with a numeric "params", got ${last.slice(0, 200)}`);
  }
  return parsed as TwinResult;
}
