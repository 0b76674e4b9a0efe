// Types of tools/fuzz.mjs, for the test that runs it in-process.
/** Runs `count` random calls from `seed`; returns the findings as text (a crash ends the process instead). */
export function runCases(seed: number, count: number, options?: { trace?: boolean; globals?: boolean }): Promise<string[]>;
