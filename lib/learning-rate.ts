// The learning rate of an optimizer: a number (kept in Keras's `learning_rate` state
// variable), a schedule evaluated at the step counter, or a function called each time.
import { checkFinite, checkFloat32 } from './checks.js';
import type { LearningRate } from './config.js';
import { describe } from './python.js';
import { LearningRateSchedule } from './schedules.js';
import { Variable } from './variable.js';

export class RateSource {
  #rate: LearningRate;
  /** Keras's `learning_rate` variable: only while the rate is a number (a schedule or function set later untracks it, as Keras does). */
  variable: Variable<Float32Array> | null;

  constructor(rate: LearningRate, optimizerName: string) {
    this.#rate = rate;
    this.variable =
      typeof rate === 'number'
        ? new Variable(Float32Array.of(rate), { name: 'learning_rate', path: `${optimizerName}/learning_rate` })
        : null;
  }

  /** What the config holds: the number, schedule or function. */
  get rate(): LearningRate {
    return this.#rate;
  }

  /** The rate at a raw step counter, as float32 (Keras's floatx). May run user code. */
  read(rawIterations: number): number {
    const lr = this.#rate;
    let value: unknown;
    if (lr instanceof LearningRateSchedule) value = lr.call(rawIterations);
    else if (typeof lr === 'function') value = lr();
    else return this.variable!.value[0];
    if (typeof value !== 'number') {
      throw new TypeError(
        `The learning rate ${lr instanceof LearningRateSchedule ? 'schedule' : 'function'} returned ${describe(value)}, not a number`,
      );
    }
    return Math.fround(value);
  }

  /** Keras's learning_rate setter: a schedule or function replaces the rate; a number needs a number rate. */
  set(value: LearningRate): void {
    if (value instanceof LearningRateSchedule || typeof value === 'function') {
      this.#rate = value;
      this.variable = null;
      return;
    }
    if (!(this.#rate instanceof LearningRateSchedule) && typeof this.#rate === 'function') {
      throw new TypeError(
        'This optimizer was created with a function as its `learning_rate`, hence its learning rate is not ' +
          `settable to a number. Received: learning_rate=${describe(value)}`,
      );
    }
    if (this.#rate instanceof LearningRateSchedule || this.variable === null) {
      throw new TypeError(
        'This optimizer was created with a `LearningRateSchedule` object as its `learning_rate` constructor ' +
          'argument, hence its learning rate is not settable. If you need the learning rate to be settable, ' +
          'you should instantiate the optimizer with a float `learning_rate` argument.',
      );
    }
    checkFinite('learning_rate', value);
    checkFloat32('learning_rate', value);
    this.#rate = value;
    this.variable.value[0] = value;
  }
}
