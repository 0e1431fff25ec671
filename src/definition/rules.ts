/**
 * Pass two of validation: rules that need more than one field, more than one
 * image, the pipeline settings or the file system. Each rule returns its
 * problems; the caller reports them all together.
 */
import { existsSync } from 'node:fs';
import type { PipelineSettings } from '../settings/schema.ts';
import type { ResolvedImage } from './resolved-image.ts';

export interface RuleContext {
  readonly images: readonly ResolvedImage[];
  readonly settings: PipelineSettings;
  /** Raw base definitions by image name, for messages about presets. */
  readonly presetNames: ReadonlyMap<string, string | undefined>;
}

export interface RuleFinding {
  readonly errors: string[];
  readonly warnings: string[];
}

export type Rule = (image: ResolvedImage, context: RuleContext) => Partial<RuleFinding> | void;

const uniqueNames: Rule = (image, { images }) => {
  const first = images.find((other) => other.name === image.name);
  if (first && first !== image) return { errors: [`${image.file}: name: "${image.name}" is already used by ${first.file}. Image names must be unique; rename one of them.`] };
};

const baseImageExists: Rule = (image, { images }) => {
  if (image.base.kind !== 'image') return;
  const { image: baseName } = image.base;
  if (baseName === image.name) return { errors: [`${image.file}: base.image: "${baseName}" is this image itself. Build on another image or an AMI.`] };
  if (!images.some((other) => other.name === baseName)) {
    return { errors: [`${image.file}: base.image: "${baseName}" is not a gild image. Known images: ${images.map((other) => other.name).join(', ')}.`] };
  }
};

const scriptsExist: Rule = (image) => {
  const errors: string[] = [];
  image.provision.forEach((step, index) => {
    const file = step.kind === 'script' ? step.path : step.kind === 'upload' ? step.source : undefined;
    if (file && !existsSync(file)) errors.push(`${image.file}: provision[${index}].${step.kind === 'script' ? 'script' : 'upload.source'}: "${file}" does not exist. Paths are relative to the definition's folder.`);
  });
  return { errors };
};

const requiredTagsPresent: Rule = (image, { settings }) => {
  const missing = settings.requiredTags.filter((tag) => !(tag in image.tags) || image.tags[tag] === '');
  if (missing.length > 0) {
    return { errors: [`${image.file}: tags: missing required tag${missing.length === 1 ? '' : 's'} ${missing.map((tag) => `"${tag}"`).join(', ')}. pipeline/settings.ts requires every image to carry ${missing.length === 1 ? 'it' : 'them'}.`] };
  }
};

const reservedTagsUntouched: Rule = (image) => {
  const reserved = Object.keys(image.tags).filter((key) => key.startsWith('gild:'));
  if (reserved.length > 0) return { errors: [`${image.file}: tags: ${reserved.map((key) => `"${key}"`).join(', ')} ${reserved.length === 1 ? 'is' : 'are'} set by gild itself. Remove ${reserved.length === 1 ? 'it' : 'them'}.`] };
};

const copyRegionsDistinct: Rule = (image) => {
  const errors: string[] = [];
  const seen = new Set<string>();
  image.copyRegions.forEach((region, index) => {
    if (region === image.buildRegion) errors.push(`${image.file}: regions.copies[${index}]: "${region}" is the build region. The AMI is already there; remove it from copies.`);
    else if (seen.has(region)) errors.push(`${image.file}: regions.copies[${index}]: "${region}" is listed twice. Remove the duplicate.`);
    seen.add(region);
  });
  return { errors };
};

export const rules: readonly Rule[] = [uniqueNames, baseImageExists, scriptsExist, requiredTagsPresent, reservedTagsUntouched, copyRegionsDistinct];

/** Dependency cycles among images, each reported once with its path. */
export function findCycles(images: readonly ResolvedImage[]): string[][] {
  const byName = new Map(images.map((image) => [image.name, image]));
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      cycles.push([...trail.slice(trail.indexOf(name)), name]);
      return;
    }
    state.set(name, 'visiting');
    for (const dependency of byName.get(name)?.dependsOn ?? []) if (byName.has(dependency)) visit(dependency, [...trail, name]);
    state.set(name, 'done');
  };
  for (const image of images) visit(image.name, []);
  return cycles;
}

export function applyRules(images: readonly ResolvedImage[], context: RuleContext, extraRules: readonly Rule[] = []): RuleFinding {
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const image of images) {
    for (const rule of [...rules, ...extraRules]) {
      const finding = rule(image, context);
      if (finding) {
        errors.push(...(finding.errors ?? []));
        warnings.push(...(finding.warnings ?? []));
      }
    }
  }
  for (const cycle of findCycles(images)) {
    const file = images.find((image) => image.name === cycle[0])?.file ?? 'images/';
    errors.push(`${file}: base.image: images depend on each other in a cycle: ${cycle.join(' → ')}. Break the cycle by building one of them on an AMI or preset.`);
  }
  return { errors, warnings };
}
