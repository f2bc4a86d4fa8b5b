/** The restoration problem moved to `lib/tasks/problem.ts` (shared by classical and learned solvers and training); re-exported here. */
export * from '../../tasks/problem';
