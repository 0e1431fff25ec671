import type { PipelineSettingsInput } from './schema.ts';

/**
 * A typed identity function, like vite's `defineConfig`. Apart from the
 * schema so that loading `pipeline/settings.ts` does not load zod.
 */
export function defineSettings(settings: PipelineSettingsInput): PipelineSettingsInput {
  return settings;
}
