/**
 * The single tfjs instance the whole library uses. Import `tf` from here (never a second copy),
 * so that backends and kernels registered by the engine apply everywhere.
 */
import * as tf from '@tensorflow/tfjs';
export { tf };
