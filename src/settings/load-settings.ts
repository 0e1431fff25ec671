import { access } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { importIsolated } from '../definition/import-isolated.ts';
import { couldNotLoad } from '../definition/load-definitions.ts';
import { catalogue } from '../errors.ts';
import { formatIssues } from '../definition/format-issues.ts';
import { pipelineSettingsSchema, type PipelineSettings } from './schema.ts';

import { settingsFile } from './settings-file.ts';

export { settingsFile };

/** The settings file as read: its problems, and the settings to check the image definitions with meanwhile. */
export interface SettingsReading {
  /** The settings when `problems` is empty; otherwise a stand-in (see `fallbacks`), only for checking definitions. */
  readonly settings: PipelineSettings;
  readonly problems: readonly string[];
  /**
   * The top-level settings fields that could not be read and were given their defaults in `settings`
   * (`pipeline/settings.ts` as a whole when the file could not be read at all).
   */
  readonly fallbacks: readonly string[];
}

const defaults = (): PipelineSettings => pipelineSettingsSchema.parse({});

/** The settings messages: where, what, the closest known field for a misspelt one, and docs/settings.md for the rest. */
export function formatSettingsIssues(exported: unknown, issues: readonly z.core.$ZodIssue[]): string[] {
  return formatIssues(settingsFile, exported, issues, { schema: pipelineSettingsSchema, reference: 'docs/settings.md' });
}

/**
 * Reads `pipeline/settings.ts` (in the definition loader's worker, under its time limit, as plain data); without one,
 * the defaults apply. Never throws for a broken file: a command reports its problems together with the image
 * definitions' (checked meanwhile with the readable fields, each broken one at its default), so that one run shows
 * every problem.
 */
export async function readSettings(cwd: string, options: { timeoutMs?: number } = {}): Promise<SettingsReading> {
  const absolutePath = path.join(cwd, settingsFile);
  let exported: unknown = {};
  const present = await access(absolutePath).then(
    () => true,
    () => false,
  );
  const unreadable = (problems: readonly string[]): SettingsReading => ({ settings: defaults(), problems, fallbacks: [settingsFile] });
  if (present) {
    const [outcome] = await importIsolated([absolutePath], options);
    if (outcome?.kind === 'threw') return unreadable([couldNotLoad(settingsFile, absolutePath, cwd, outcome)]);
    if (outcome?.kind === 'timed-out')
      return unreadable([`${settingsFile}: did not finish loading within ${outcome.timeoutMs / 1000} seconds: an endless loop, or a top-level await that never settles?`]);
    if (outcome?.kind === 'loaded') {
      if (outcome.problems.length > 0) return unreadable(outcome.problems.map((problem) => `${settingsFile}: ${problem}`));
      exported = outcome.value;
    }
  }
  const parsed = pipelineSettingsSchema.safeParse(exported);
  if (parsed.success) return { settings: parsed.data, problems: [], fallbacks: [] };
  const problems = formatSettingsIssues(exported, parsed.error.issues);
  if (exported === null || typeof exported !== 'object' || Array.isArray(exported)) return unreadable(problems);
  // Each top-level field with a problem is left out (its default applies); unknown fields are reported on the object
  // itself, and leaving them out is all they need.
  const broken = new Set(parsed.error.issues.flatMap((issue) => (issue.path.length > 0 ? [String(issue.path[0])] : issue.code === 'unrecognized_keys' ? issue.keys : [])));
  const known = Object.keys(pipelineSettingsSchema.shape);
  const readable = Object.fromEntries(Object.entries(exported).filter(([key]) => !broken.has(key) && known.includes(key)));
  const repaired = pipelineSettingsSchema.safeParse(readable);
  if (!repaired.success) return unreadable(problems);
  return { settings: repaired.data, problems, fallbacks: [...broken].filter((key) => known.includes(key)) };
}

/** The settings, or `ESETTINGS` with every problem of the file. */
export async function loadSettings(cwd: string, options: { timeoutMs?: number } = {}): Promise<PipelineSettings> {
  const reading = await readSettings(cwd, options);
  if (reading.problems.length > 0) throw catalogue.ESETTINGS(reading.problems);
  return reading.settings;
}
