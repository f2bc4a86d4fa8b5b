/** Builds a learned solver from its JSON configuration (`kind` picks the class). */
import { Lgd, LgdConfig } from './lgd';
import { Lgn, LgnConfig } from './lgn';
import { Spade, SpadeConfig } from './spade';
import { Cnn, CnnConfig } from './cnn';
import { Rim, RimConfig } from './rim';
import { LearnedSolver } from './types';

/**
 * A learned solver's configuration as stored in `config.json`: `kind` plus any fields of that
 * kind's config (missing fields take their defaults).
 * @example
 * const c: LearnedSolverConfig = { kind: 'rim', channels: 1, features: 32, steps: 8 };
 */
export type LearnedSolverConfig = ({ kind: 'rim' } & Partial<RimConfig>) | ({ kind: 'lgd' } & Partial<LgdConfig>) | ({ kind: 'lgn' } & Partial<LgnConfig>) | ({ kind: 'spade' } & Partial<SpadeConfig>) | ({ kind: 'cnn' } & Partial<CnnConfig>);

/**
 * Builds the solver that a configuration names (`kind: 'rim' | 'lgd'`), with fresh seeded weights.
 * @example
 * const solver = createLearnedSolver({ kind: 'lgd', steps: 10 });
 */
export function createLearnedSolver(config: LearnedSolverConfig): LearnedSolver {
  switch (config?.kind) {
    case 'rim':
      return new Rim(config);
    case 'lgd':
      return new Lgd(config);
    case 'lgn':
      return new Lgn(config);
    case 'spade':
      return new Spade(config);
    case 'cnn':
      return new Cnn(config);
    default:
      throw new Error(`createLearnedSolver: unknown kind ${JSON.stringify((config as { kind?: unknown })?.kind)} (use 'rim', 'lgd', 'lgn', 'spade' or 'cnn')`);
  }
}
