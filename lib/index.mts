// The ESM entry: re-exports the CommonJS build, so there is one copy of every
// class (instanceof works whichever way a program loads the package).
export { SGD, Variable, schedules, isa, setIsa, numThreads, setNumThreads } from './index.js';
export type * from './index.js';
