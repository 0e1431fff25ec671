/**
 * What `import … from 'gild'` gives: the typed identity functions image
 * definitions and settings are written with, and `resolveImage` for programs
 * that need a published AMI ID. Plain Node gets the bundle, dist/bundle/index.js.
 *
 * NOTE: every definition imports this module, so it stays free of zod and the
 * AWS SDK; `resolveImage` loads the SSM client on its first call.
 */
import type { ResolvedAmi, ResolveRequest } from './commands/resolve.ts';

export { defineImage } from './definition/define-image.ts';
export { defineSettings } from './settings/define-settings.ts';
export type { ImageDefinition } from './definition/schema.ts';
export type { PipelineSettingsInput } from './settings/schema.ts';
export type { ResolvedImage } from './definition/resolved-image.ts';
export type { ResolvedAmi, ResolveRequest };
export { GildError } from './errors.ts';

/**
 * The AMI ID a published image resolves to in one region: `latest`, or the
 * `version`, `range`, `channel` or `major` asked for. Throws a GildError
 * (`ENOTPUBLISHED`, `ENOMATCHINGVERSION`, `EUSAGE`) that says how to fix it.
 */
export async function resolveImage(request: ResolveRequest): Promise<ResolvedAmi> {
  return (await import('./commands/resolve.ts')).resolveImage(request);
}
