/**
 * The training tasks by name: a config's `task: { kind, ...params }` is looked up here and its
 * parameters checked by the definition's strict schema. Register new tasks with {@link registerTask}.
 */
import { z } from 'zod';
import { deblurTrainingTask } from './deblur';
import { denoiseTask } from './denoise';
import { poissonGaussianTask } from './poisson_gaussian';
import { semanticSynthesisTrainingTask } from './semantic';
import { superResolutionTrainingTask } from './super_resolution';
import { ResolvedTask, TaskDefinition } from './types';

const REGISTRY = new Map<string, TaskDefinition>();

/**
 * Makes a task available to training configs under `definition.kind` (replacing one of that name).
 * @example
 * registerTask(inpaintTask);
 * trainLearnedSolver({ name: 'rim_inpaint', model: { kind: 'rim' }, task: { kind: 'inpaint', keep: 0.5 } });
 */
export function registerTask<P extends object, C = unknown>(definition: TaskDefinition<P, C>): void {
  if (!/^[a-z][a-z0-9-]*$/.test(definition.kind)) throw new Error(`registerTask: kind must be lowercase letters, digits and '-', got ${JSON.stringify(definition.kind)}`);
  REGISTRY.set(definition.kind, definition as unknown as TaskDefinition);
}

/** The registered task kinds. */
export function taskKinds(): string[] {
  return [...REGISTRY.keys()];
}

/** The definition of a task kind; the error lists the known kinds. */
export function taskDefinition(kind: string): TaskDefinition {
  const d = REGISTRY.get(kind);
  if (!d) throw new Error(`unknown task kind ${JSON.stringify(kind)} (known: ${taskKinds().join(', ')}; add one with registerTask)`);
  return d;
}

/** Formats zod issues as `path: message` lines. */
export function formatIssues(error: z.ZodError, prefix: string): string {
  return error.issues
    .map((i) => {
      const where = [prefix, ...i.path.map(String)].filter(Boolean).join('.');
      const unknown = i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.map((k) => `"${[where, k].filter(Boolean).join('.')}"`).join(', ')}` : i.message;
      return i.code === 'unrecognized_keys' ? unknown : `${where || '(top level)'}: ${unknown}`;
    })
    .join('; ');
}

/**
 * Checks a config's `task` against its definition and fills its defaults.
 * @param where the config's name or file, for errors
 * @example
 * resolveTask({ kind: 'super-resolution' }).params; // { kind, scales: [2, 3, 4], sigmaMin: 0, ... }
 */
export function resolveTask(task: unknown, where = 'train config'): ResolvedTask {
  if (!task || typeof task !== 'object' || typeof (task as { kind?: unknown }).kind !== 'string') {
    throw new Error(`${where}: task must be an object with a string "kind" (known: ${taskKinds().join(', ')}), got ${JSON.stringify(task)}`);
  }
  const { kind, ...rest } = task as { kind: string } & Record<string, unknown>;
  let definition: TaskDefinition;
  try {
    definition = taskDefinition(kind);
  } catch (err) {
    throw new Error(`${where}: task.kind: ${(err as Error).message}`);
  }
  const parsed = definition.params.safeParse(rest);
  if (!parsed.success) throw new Error(`${where}: ${formatIssues(parsed.error, 'task')}`);
  return { definition, params: { kind, ...(parsed.data as Record<string, unknown>) } };
}

registerTask(denoiseTask);
registerTask(superResolutionTrainingTask);
registerTask(deblurTrainingTask);
registerTask(poissonGaussianTask);
registerTask(semanticSynthesisTrainingTask);
