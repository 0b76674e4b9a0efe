// The ESM entry of sgd-native/tfjs: re-exports the CommonJS build, so the adapter and the
// core classes it uses exist once whichever way a program loads the package.
export { bindTfjs, CLASS_NAME } from './tfjs.js';
export type * from './tfjs.js';
