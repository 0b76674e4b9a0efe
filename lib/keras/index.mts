// The ESM entry of sgd-native/keras: re-exports the CommonJS build, so SGD and
// Variable are the same classes whichever way a program loads the package.
export {
  readKerasFile,
  writeKerasFile,
  readKerasWeights,
  writeKerasWeights,
  KerasFormatError,
  SUPPORTED_LAYERS,
  KERAS_VERSION,
} from './index.js';
export type * from './index.js';
