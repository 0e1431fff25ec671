/**
 * Fits the source settings to the installed Packer: settings it does not
 * understand are dropped with a warning when that is harmless, and refused
 * when dropping them would change who can launch the image. See the table in
 * packer-capabilities.ts.
 */
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { HclBody } from './hcl.ts';
import { formatPackerVersion, gatedSettings, isSupported, type PackerVersion } from './packer-capabilities.ts';

export interface GateOutcome {
  readonly body: HclBody;
  readonly warnings: readonly string[];
  readonly refusals: readonly string[];
}

export function gateSettings(image: ResolvedImage, body: HclBody, packer: PackerVersion): GateOutcome {
  const installed = formatPackerVersion(packer);
  const warnings: string[] = [];
  const refusals: string[] = [];
  const unsupported = new Set<string>();
  for (const setting of gatedSettings) {
    if (isSupported(setting, packer) || !body.some((entry) => (entry.kind === 'attribute' ? entry.name : entry.type) === setting.name)) continue;
    unsupported.add(setting.name);
    const since = formatPackerVersion(setting.since);
    if (setting.whenMissing === 'drop') {
      warnings.push(
        `${image.file}: ${setting.field}: left out "${setting.name}" because Packer ${installed} does not support it (Packer ${since} with the amazon plugin does), so ${setting.consequence}.`,
      );
    } else {
      refusals.push(
        `${image.file}: ${setting.field}: needs "${setting.name}", which Packer ${installed} does not support; without it ${setting.consequence}. Use Packer >= ${since} with the amazon plugin (>= 1.2.2).`,
      );
    }
  }
  return { body: body.filter((entry) => !unsupported.has(entry.kind === 'attribute' ? entry.name : entry.type)), warnings, refusals };
}
