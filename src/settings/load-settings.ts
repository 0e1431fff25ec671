import { access } from 'node:fs/promises';
import path from 'node:path';
import { importIsolated } from '../definition/import-isolated.ts';
import { couldNotLoad } from '../definition/load-definitions.ts';
import { catalogue } from '../errors.ts';
import { formatIssues } from '../definition/format-issues.ts';
import { pipelineSettingsSchema, type PipelineSettings } from './schema.ts';

import { settingsFile } from './settings-file.ts';

export { settingsFile };

/**
 * Reads `pipeline/settings.ts` (in the definition loader's worker, under its
 * time limit, as plain data); without one, the defaults apply.
 */
export async function loadSettings(cwd: string, options: { timeoutMs?: number } = {}): Promise<PipelineSettings> {
  const absolutePath = path.join(cwd, settingsFile);
  let exported: unknown = {};
  const present = await access(absolutePath).then(
    () => true,
    () => false,
  );
  if (present) {
    const [outcome] = await importIsolated([absolutePath], options);
    if (outcome?.kind === 'threw') throw catalogue.ESETTINGS([couldNotLoad(settingsFile, absolutePath, cwd, outcome)]);
    if (outcome?.kind === 'timed-out')
      throw catalogue.ESETTINGS([`${settingsFile}: did not finish loading within ${outcome.timeoutMs / 1000} seconds: an endless loop, or a top-level await that never settles?`]);
    if (outcome?.kind === 'loaded') {
      if (outcome.problems.length > 0) throw catalogue.ESETTINGS(outcome.problems.map((problem) => `${settingsFile}: ${problem}`));
      exported = outcome.value;
    }
  }
  const parsed = pipelineSettingsSchema.safeParse(exported);
  if (!parsed.success) throw catalogue.ESETTINGS(formatIssues(settingsFile, exported, parsed.error.issues));
  return parsed.data;
}
