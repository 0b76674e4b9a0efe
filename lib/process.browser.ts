// The part of Node's `process` lib/ uses, for the browser bundle (tools/build-browser.mjs
// injects it where lib/ says `process`): warnings go to the console.
export const process = {
  emitWarning(message: string, options?: { type?: string; code?: string }): void {
    console.warn(`${options?.type ?? options?.code ?? 'Warning'}: ${message}`);
  },
  env: {} as Record<string, string | undefined>,
};
