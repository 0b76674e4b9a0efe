// sgd-native/tfjs on tfjs's wasm backend (zero copy: views on the module's heap).
import { defineTfjsSuite, defineTfjsTrapSuite } from './tfjs-suite.js';

defineTfjsSuite('wasm');
defineTfjsTrapSuite('wasm');
