/**
 * Ops built on the engine's registered kernels and gradients, for model layers: they never ask
 * which backend runs (the kernel registry decides).
 *
 * - {@link convBias}: `conv2d + bias` as one `FusedConv2D` kernel with registered gradients;
 * - {@link addBias}: `y + b` with the engine's per-channel bias gradient;
 * - {@link biasAddGrad}: that gradient, `Σ dy` over all axes but the channels;
 * - {@link gruGate}: the conv-GRU gate, one native kernel each way where the addon has it;
 * - {@link fastTanh}: tanh as `2σ(2x) − 1` (fast on wasm).
 */
export { addBias } from './add_bias';
export { convBias } from './conv_bias';
export { biasAddGrad } from '../kernels/bias_add_grad';
export { gruGate } from './gru_gate';
export { fastTanh } from './fast_tanh';
