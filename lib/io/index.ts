export * from './files';
export * from './image';
export * from './paths';
export * from './rng';
export * from './datasets';
export * from './patches';
