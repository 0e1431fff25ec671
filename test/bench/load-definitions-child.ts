/**
 * Loads and validates a project's definitions once and says how long that
 * took, excluding process start-up, which both variants pay alike.
 */
import path from 'node:path';
import { createJiti } from 'jiti';
import { loadDefinitions } from '../../src/definition/load-definitions.ts';
import { validateDefinitions } from '../../src/definition/validate-definitions.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';

export interface ChildLoad {
  readonly ms: number;
  /** This process's peak RSS in bytes (the kernel's high-water mark, so nothing is missed between samples). */
  readonly peakRss: number;
  readonly images: number;
  readonly errors: readonly string[];
}

export async function loadOnce(cwd: string): Promise<ChildLoad> {
  // NOTE: not loadSettings(): its jiti would fill the disk cache with gild's own modules before the measured load.
  const settingsModule = (await createJiti(import.meta.url, { fsCache: false }).import(path.join(cwd, 'pipeline/settings.ts'))) as { default?: unknown };
  const settings = pipelineSettingsSchema.parse(settingsModule.default ?? {});
  const started = performance.now();
  const loaded = await loadDefinitions(cwd);
  const validated = validateDefinitions(loaded.definitions, settings, cwd);
  const ms = performance.now() - started;
  return { ms, peakRss: process.resourceUsage().maxRSS * 1024, images: validated.images.length, errors: [...loaded.errors, ...validated.errors] };
}
