/**
 * Training of learned solvers: configuration, blind-noise batches, the loss over iterates,
 * learning-rate schedules, gradient clipping, checkpoints with exact resumption, logs, and the
 * training loop {@link trainLearnedSolver}.
 * @example
 * import { trainLearnedSolver } from 'lgd-workspace';
 * const { solver, exportDir } = await trainLearnedSolver(JSON.parse(fs.readFileSync('configs/rim_gray.json', 'utf8')));
 */
export * from './config';
export * from './schedule';
export * from './noise';
export * from './loss';
export * from './clip';
export * from './log';
export * from './step';
export * from './checkpoint';
export * from './train';
export * from './export';
export * from './provenance';
