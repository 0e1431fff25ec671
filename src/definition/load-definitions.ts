/**
 * Loads `images/*.ts`, each in a worker under a time limit (import-isolated.ts).
 * A file that fails to load, hangs, has no default export, or exports
 * something other than plain data is a definition problem naming the file
 * and field; every problem is collected before anything is reported.
 */
import { existsSync, readdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { settingsFile } from '../settings/settings-file.ts';
import { importIsolated, warmDefinitionLoader, type ImportOutcome } from './import-isolated.ts';

export interface LoadedDefinition {
  /** Relative to the project root, for messages: `images/web.ts`. */
  readonly file: string;
  readonly absolutePath: string;
  readonly exported: unknown;
}

export interface LoadResult {
  readonly definitions: LoadedDefinition[];
  readonly errors: string[];
}

const definitionFilePattern = /^[^.].*\.(?:ts|mts)$/;

const definitionFiles = (entries: readonly string[]) => entries.filter((entry) => definitionFilePattern.test(entry) && !entry.endsWith('.d.ts') && !/\.test\.m?ts$/.test(entry)).sort();

/**
 * Starts the loader's thread and has it import `pipeline/settings.ts` and `images/*.ts` at once, in the order they are
 * loaded, beside the engine's modules loading on this thread; `loadSettings` and `loadDefinitions` then take each
 * file's outcome, under the same time limit, instead of asking for them one after another once the engine is ready
 * (about 2 ms a definition, 100 of them after the modules on a run's path).
 */
export function prefetchDefinitions(cwd: string, imagesDir = 'images'): void {
  const settings = path.join(cwd, settingsFile);
  const folder = path.resolve(cwd, imagesDir);
  let entries: string[] = [];
  try {
    entries = definitionFiles(readdirSync(folder));
  } catch {
    // NOTE: no folder, nothing to fetch ahead: loadDefinitions says what is wrong.
  }
  warmDefinitionLoader([...(existsSync(settings) ? [settings] : []), ...entries.map((entry) => path.join(folder, entry))]);
}

export async function loadDefinitions(cwd: string, imagesDir = 'images', options: { timeoutMs?: number } = {}): Promise<LoadResult> {
  const folder = path.resolve(cwd, imagesDir);
  let entries: string[];
  try {
    entries = definitionFiles(await readdir(folder));
  } catch {
    return { definitions: [], errors: [`${imagesDir}/: the folder does not exist. Create it and add one image definition per file (see the README).`] };
  }
  const absolutePaths = entries.map((entry) => path.join(folder, entry));
  const outcomes = await importIsolated(absolutePaths, options);
  const definitions: LoadedDefinition[] = [];
  const errors: string[] = [];
  outcomes.forEach((outcome, index) => {
    const absolutePath = absolutePaths[index] as string;
    const file = path.relative(cwd, absolutePath).split(path.sep).join('/');
    switch (outcome.kind) {
      case 'no-default':
        errors.push(`${file}: has no default export. End the file with \`export default defineImage({ ... })\`.`);
        return;
      case 'threw':
        errors.push(couldNotLoad(file, absolutePath, cwd, outcome));
        return;
      case 'timed-out':
        errors.push(
          `${file}: did not finish loading within ${outcome.timeoutMs / 1000} seconds: an endless loop, or a top-level await that never settles? A definition must evaluate to its data at once.`,
        );
        return;
      case 'loaded':
        if (outcome.problems.length > 0) errors.push(...outcome.problems.map((problem) => `${file}: ${problem}`));
        else definitions.push({ file, absolutePath, exported: outcome.value });
    }
  });
  return { definitions, errors };
}

/**
 * `images/web.ts:4:2: could not be loaded: ParseError: Unexpected token. Fix …`: a syntax error's line and column
 * (jiti gives them apart from the message) go beside the file, as editors and terminals link them. A location in
 * another file (a helper the definition imports) is said after the message instead.
 */
export function couldNotLoad(file: string, absolutePath: string, cwd: string, outcome: Extract<ImportOutcome, { kind: 'threw' }>): string {
  const location = outcome.location;
  const fix = 'Fix the file so that it compiles and runs.';
  if (!location) return `${file}: could not be loaded: ${outcome.message}. ${fix}`;
  if (path.resolve(location.absolutePath) === path.resolve(absolutePath)) return `${file}:${location.line}:${location.column}: could not be loaded: ${outcome.message}. ${fix}`;
  const where = path.relative(cwd, location.absolutePath).split(path.sep).join('/');
  return `${file}: could not be loaded: ${outcome.message} (at ${where}:${location.line}:${location.column}). ${fix}`;
}
