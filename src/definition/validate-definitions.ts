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
import { imageDefinitionSchema, type ParsedImageDefinition } from './schema.ts';

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
  const partial: { image: ResolvedImage; brokenFields: ReadonlySet<string> }[] = [];
  for (const definition of definitions) {
    const parsed = imageDefinitionSchema.safeParse(definition.exported);
    const source = { file: definition.file, absolutePath: definition.absolutePath, cwd };
    if (!parsed.success) {
      errors.push(...formatIssues(definition.file, definition.exported, parsed.error.issues, { schema: imageDefinitionSchema }));
      const name = (definition.exported as { name?: unknown } | null)?.name;
      if (typeof name === 'string') unparsedNames.add(name);
      const readable = readableFields(definition.exported, parsed.error.issues);
      if (readable) partial.push({ image: resolveImage(readable.data, source, settings), brokenFields: readable.brokenFields });
      continue;
    }
    const image = resolveImage(parsed.data, source, settings);
    presetNames.set(image.name, 'preset' in parsed.data.base ? parsed.data.base.preset : undefined);
    images.push(image);
  }
  const findings = applyRules(images, { images, settings, presetNames, cwd, unparsedNames });
  // Pass two also runs over the fields that could be read in a file with shape errors, so one run reports everything.
  const partialErrors = partial.flatMap(({ image, brokenFields }) =>
    applyRules([image], { images: [...images, image], settings, presetNames, cwd, unparsedNames }).errors.filter((error) => !concernsBrokenField(error, image.file, brokenFields)),
  );
  return { images, errors: [...errors, ...findings.errors, ...partialErrors], warnings: findings.warnings };
}

/** Stand-ins for required fields whose value could not be read; rule errors about them are dropped. */
const standIns: Readonly<Record<string, unknown>> = {
  name: 'unreadable',
  description: 'unreadable',
  version: '0.0.0',
  base: { ami: 'ami-00000000' },
  instanceType: 't3.micro',
  regions: { build: 'us-east-1' },
};

/** The definition with every field that failed pass one replaced by a stand-in or left out, if the rest parses. */
function readableFields(exported: unknown, issues: readonly { readonly path: readonly PropertyKey[] }[]): { data: ParsedImageDefinition; brokenFields: ReadonlySet<string> } | undefined {
  if (typeof exported !== 'object' || exported === null || Array.isArray(exported)) return undefined;
  const brokenFields = new Set(issues.map((issue) => String(issue.path[0] ?? '')));
  if (brokenFields.has('')) {
    // Unknown keys are reported on the object itself; dropping them is enough.
    brokenFields.delete('');
  }
  const repaired: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(exported)) if (!brokenFields.has(key) && key in imageDefinitionSchema.shape) repaired[key] = value;
  for (const key of brokenFields) if (Object.hasOwn(standIns, key)) repaired[key] = standIns[key];
  for (const [key, value] of Object.entries(standIns))
    if (!(key in repaired)) {
      repaired[key] = value;
      brokenFields.add(key);
    }
  const parsed = imageDefinitionSchema.safeParse(repaired);
  return parsed.success ? { data: parsed.data, brokenFields } : undefined;
}

function concernsBrokenField(error: string, file: string, brokenFields: ReadonlySet<string>): boolean {
  const field = error.startsWith(`${file}: `) ? (/^[A-Za-z]+/.exec(error.slice(file.length + 2))?.[0] ?? '') : '';
  return brokenFields.has(field) || !error.startsWith(`${file}: `);
}

/** Loads `images/` and validates it: load, shape and rule problems from every file together. */
export async function loadAndValidateDefinitions(cwd: string, settings: PipelineSettings, imagesDir = 'images'): Promise<ValidationResult> {
  const loaded = await loadDefinitions(cwd, imagesDir);
  const validated = validateDefinitions(loaded.definitions, settings, cwd);
  return { images: validated.images, errors: [...loaded.errors, ...validated.errors], warnings: validated.warnings };
}
