/**
 * Learned iterative solvers `x_{t+1} = x_t + N_w(∇ log p(y | x_t), x_t, state)`: the recurrent
 * inference machine (RIM) and learned gradient descent (LGD), objects called as
 * `solver.run(y, problem)` that return every iterate; their building blocks (ConvGRU, conv
 * layers, named parameters) and checksummed save/load in the tfjs weights format.
 * @example
 * import { Rim, createProblem, gaussianLikelihood, identity } from 'lgd-workspace';
 * const rim = new Rim({ channels: 1 });
 * const xs = rim.run(y, createProblem({ likelihood: gaussianLikelihood(identity(), { sigma: 0.1 }), y }));
 */
export * from './types';
export * from './params';
export * from './conv';
export * from './convgru';
export * from './data_term';
export * from './rim_cell';
export * from './rim';
export * from './lgd';
export * from './lgn';
export * from './spade';
export * from './cnn';
export * from './gauss_newton_direction';
export * from './factory';
export * from './io';
