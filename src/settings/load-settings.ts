import { access } from 'node:fs/promises';
import path from 'node:path';
import { createTypeScriptLoader } from '../create-typescript-loader.ts';
import { catalogue } from '../errors.ts';
import { formatIssues } from '../definition/format-issues.ts';
import { pipelineSettingsSchema, type PipelineSettings } from './schema.ts';

export const settingsFile = 'pipeline/settings.ts';

/** Reads `pipeline/settings.ts`; without one, the defaults apply. */
export async function loadSettings(cwd: string): Promise<PipelineSettings> {
  const absolutePath = path.join(cwd, settingsFile);
  let exported: unknown = {};
  try {
    await access(absolutePath);
    const jiti = createTypeScriptLoader(import.meta.url, { moduleCache: false });
    exported = ((await jiti.import(absolutePath)) as { default?: unknown }).default ?? {};
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw catalogue.ESETTINGS([`${settingsFile}: could not be loaded: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`]);
    }
  }
  const parsed = pipelineSettingsSchema.safeParse(exported);
  if (!parsed.success) throw catalogue.ESETTINGS(formatIssues(settingsFile, exported, parsed.error.issues));
  return parsed.data;
}
