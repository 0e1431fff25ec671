export { defineImage } from './definition/define-image.ts';
export { defineSettings } from './settings/schema.ts';
export type { ImageDefinition } from './definition/schema.ts';
export type { PipelineSettingsInput } from './settings/schema.ts';
export type { ResolvedImage } from './definition/resolved-image.ts';
