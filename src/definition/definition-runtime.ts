/**
 * What `import { … } from 'gild'` gives a definition file while it loads in
 * the loader's worker (import-definition-worker.js): the same identity
 * functions as src/index.ts, without the schema, zod and the rest of gild
 * behind them, which the worker would otherwise load for nothing. Types are
 * erased on load, so only these values matter.
 */
export function defineImage<T>(definition: T): T {
  return definition;
}

export function defineSettings<T>(settings: T): T {
  return settings;
}
