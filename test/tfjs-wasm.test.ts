// sgd-native/tfjs on tfjs's wasm backend (zero copy: views on the module's heap).
import { defineTfjsSuite } from './tfjs-suite.js';

defineTfjsSuite('wasm');
