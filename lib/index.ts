// sgd-native: Keras 3's SGD optimizer for Node.js, as a native addon.
export { SGD } from './sgd.js';
export type { Gradient, StateDict } from './sgd.js';
export type { SGDOptions, LearningRate } from './config.js';
export { Variable } from './variable.js';
export type { VariableOptions } from './variable.js';
export * as schedules from './schedules.js';
export { backendInfo as backend, isa, numThreads, setIsa, setNumThreads } from './runtime.js';
export type { FloatArray } from './native.js';
