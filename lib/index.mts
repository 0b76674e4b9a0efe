// The ESM entry: the CommonJS build's own objects, taken through require() so there is one
// copy of every class (instanceof works whichever way a program loads the package), and
// exported by name here, so no runtime has to detect CommonJS names (Deno does not).
import { createRequire } from 'node:module';
import type * as api from './index.js';

const cjs = createRequire(import.meta.url)('./index.js') as typeof api;

export const SGD = cjs.SGD;
export type SGD = api.SGD;
export const Variable = cjs.Variable;
export type Variable = api.Variable;
export const schedules = cjs.schedules;
export const { backend, isa, setIsa, numThreads, setNumThreads } = cjs;
export type { FloatArray, Gradient, LearningRate, SGDOptions, StateDict, VariableOptions } from './index.js';
