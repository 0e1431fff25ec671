/**
 * The two validation passes over every definition: shape (the schema), then
 * cross-field and cross-image rules. Returns every problem at once.
 */
import type { PipelineSettings } from '../settings/schema.ts';
import { formatIssues } from './format-issues.ts';
import { loadDefinitions, type LoadedDefinition } from './load-definitions.ts';
import type { ResolvedImage } from './resolved-image.ts';
import { resolveImage } from './resolve-image.ts';
import { applyRules } from './rules.ts';
import { imageDefinitionSchema } from './schema.ts';

export interface ValidationResult {
  readonly images: readonly ResolvedImage[];
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
}

export function validateDefinitions(definitions: readonly LoadedDefinition[], settings: PipelineSettings, cwd: string): ValidationResult {
  const errors: string[] = [];
  const images: ResolvedImage[] = [];
  const presetNames = new Map<string, string | undefined>();
  const unparsedNames = new Set<string>();
  for (const definition of definitions) {
    const parsed = imageDefinitionSchema.safeParse(definition.exported);
    if (!parsed.success) {
      errors.push(...formatIssues(definition.file, definition.exported, parsed.error.issues));
      const name = (definition.exported as { name?: unknown } | null)?.name;
      if (typeof name === 'string') unparsedNames.add(name);
      continue;
    }
    const image = resolveImage(parsed.data, { file: definition.file, absolutePath: definition.absolutePath, cwd }, settings);
    presetNames.set(image.name, 'preset' in parsed.data.base ? parsed.data.base.preset : undefined);
    images.push(image);
  }
  const findings = applyRules(images, { images, settings, presetNames, cwd, unparsedNames });
  return { images, errors: [...errors, ...findings.errors], warnings: findings.warnings };
}

/** Loads `images/` and validates it: load, shape and rule problems from every file together. */
export async function loadAndValidateDefinitions(cwd: string, settings: PipelineSettings, imagesDir = 'images'): Promise<ValidationResult> {
  const loaded = await loadDefinitions(cwd, imagesDir);
  const validated = validateDefinitions(loaded.definitions, settings, cwd);
  return { images: validated.images, errors: [...loaded.errors, ...validated.errors], warnings: validated.warnings };
}
