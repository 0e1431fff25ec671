import type { ImageDefinition } from './schema.ts';

/**
 * A typed identity function: it exists so that editors check and complete
 * `images/*.ts` against `ImageDefinition`. The real check happens at load time,
 * because a definition can be written without TypeScript's help.
 */
export function defineImage<const T extends ImageDefinition>(definition: T): T {
  return definition;
}
