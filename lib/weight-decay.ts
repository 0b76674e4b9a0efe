// Which variables weight decay skips (Keras's exclude_from_weight_decay): given
// variables, or names matching any of the given regular expressions.
import { invalid } from './checks.js';
import type { Variable } from './variable.js';

export class DecayExclusions {
  #variables = new Set<Variable>();
  #pattern: RegExp | null = null;
  #cache = new Map<Variable, boolean>();

  /** Replaces the exclusions; `variables` must already be checked. Throws (changing nothing) on bad `varNames`. */
  set(variables: readonly Variable[] | undefined, varNames: unknown): void {
    let pattern: RegExp | null = null;
    if (varNames !== undefined && varNames !== null) {
      if (!Array.isArray(varNames) || !varNames.every((n) => typeof n === 'string')) {
        throw invalid(TypeError, 'excludeFromWeightDecay', 'varNames', 'an array of strings', varNames, { named: false });
      }
      if (varNames.length > 0) {
        try {
          pattern = new RegExp([...new Set(varNames)].join('|'));
        } catch (e) {
          throw new RangeError(`excludeFromWeightDecay: \`varNames\` is not a valid regular expression: ${(e as Error).message}`, {
            cause: e,
          });
        }
      }
    }
    this.#variables = new Set(variables ?? []);
    this.#pattern = pattern;
    this.#cache = new Map();
  }

  /** Whether weight decay applies to `v`. */
  applies(v: Variable): boolean {
    let use = this.#cache.get(v);
    if (use === undefined) {
      use = !this.#variables.has(v) && !(this.#pattern?.test(v.name) ?? false);
      this.#cache.set(v, use);
    }
    return use;
  }

  /** The excluded variables follow their replacements (rebind). */
  replace(from: readonly Variable[], to: readonly Variable[]): void {
    from.forEach((v, i) => {
      if (this.#variables.delete(v)) this.#variables.add(to[i]);
    });
    this.#cache = new Map();
  }
}
