/**
 * Loads settings and every image definition and validates them in two passes.
 * Throws one catalogue error carrying every problem, or returns the images.
 */
import { catalogue } from '../errors.ts';
import { loadDefinitions } from '../definition/load-definitions.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { validateDefinitions } from '../definition/validate-definitions.ts';
import { readSettings } from '../settings/load-settings.ts';
import { unknownNotifiedImages } from '../notify/notify-settings.ts';
import type { PipelineSettings } from '../settings/schema.ts';

export interface Project {
  readonly settings: PipelineSettings;
  readonly images: readonly ResolvedImage[];
  readonly warnings: readonly string[];
}

export async function loadProject(cwd: string): Promise<Project> {
  // NOTE: broken settings do not stop the definitions being checked: they are checked with the settings' readable
  // fields (each broken one at its default), and both lists are reported at once.
  const reading = await readSettings(cwd);
  const settings = reading.settings;
  const loaded = await loadDefinitions(cwd);
  const validated = validateDefinitions(loaded.definitions, settings, cwd);
  const errors = [...loaded.errors, ...validated.errors];
  if (reading.problems.length > 0) throw catalogue.ESETTINGS(reading.problems, errors, reading.fallbacks);
  if (errors.length > 0) throw catalogue.EDEFINITIONS(errors);
  if (validated.images.length === 0) throw catalogue.EDEFINITIONS(['images/: no image definitions found. Add one file per image, e.g. images/web.ts (see the README).']);
  const notifyWarnings = unknownNotifiedImages(
    settings.notify,
    validated.images.map((image) => image.name),
  );
  return { settings, images: validated.images, warnings: [...validated.warnings, ...notifyWarnings] };
}

/** The images named on the command line (all when none). Images they are built on are not added: their published AMI is used. */
export function selectImages(images: readonly ResolvedImage[], names: readonly string[]): ResolvedImage[] {
  if (names.length === 0) return [...images];
  const known = images.map((image) => image.name);
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0) throw catalogue.EUNKNOWNIMAGE(unknown, known);
  return images.filter((image) => names.includes(image.name));
}
