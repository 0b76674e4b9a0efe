// sgd-native/tfjs on tfjs's cpu backend (zero copy: the variables' values are the optimizer's arrays).
import { defineTfjsSuite, defineTfjsTrapSuite } from './tfjs-suite.js';

defineTfjsSuite('cpu');
defineTfjsTrapSuite('cpu');
