/**
 * Loads `images/*.ts`. A file that fails to load, has no default export, or
 * duplicates another image's name is a definition problem naming the file;
 * every problem is collected before anything is reported.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { createTypeScriptLoader } from '../create-typescript-loader.ts';

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

export async function loadDefinitions(cwd: string, imagesDir = 'images'): Promise<LoadResult> {
  const folder = path.resolve(cwd, imagesDir);
  let entries: string[];
  try {
    entries = (await readdir(folder)).filter((entry) => definitionFilePattern.test(entry) && !entry.endsWith('.d.ts') && !/\.test\.m?ts$/.test(entry)).sort();
  } catch {
    return { definitions: [], errors: [`${imagesDir}/: the folder does not exist. Create it and add one image definition per file (see the README).`] };
  }
  // NOTE: moduleCache off so that a long-lived process (tests, watch) sees edits.
  const jiti = createTypeScriptLoader(import.meta.url, { moduleCache: false, interopDefault: false });
  const definitions: LoadedDefinition[] = [];
  const errors: string[] = [];
  await Promise.all(
    entries.map(async (entry) => {
      const absolutePath = path.join(folder, entry);
      const file = path.relative(cwd, absolutePath).split(path.sep).join('/');
      try {
        const module = (await jiti.import(absolutePath)) as { default?: unknown };
        if (module.default === undefined) {
          errors.push(`${file}: has no default export. End the file with \`export default defineImage({ ... })\`.`);
          return;
        }
        definitions.push({ file, absolutePath, exported: module.default });
      } catch (error) {
        errors.push(`${file}: could not be loaded: ${firstLine(error)}. Fix the file so that it compiles and runs.`);
      }
    }),
  );
  definitions.sort((a, b) => a.file.localeCompare(b.file));
  return { definitions, errors: errors.sort() };
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n').find((line) => line.trim() !== '')?.trim().replace(/\.$/, '') ?? 'unknown error';
}
