/**
 * Decides, for one image, whether to build and what the build would produce.
 * Pure: the observation of AWS comes in as data.
 */
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { fingerprint } from './fingerprint.ts';
import { nextVersion } from './next-version.ts';
import type { ImageObservation } from './observe.ts';
import { latestParameterName, versionParameterName } from './parameter-names.ts';
import type { ImagePlan } from './types.ts';

export interface PlanImageInput {
  readonly image: ResolvedImage;
  readonly observation: ImageObservation;
  readonly ssmPrefix: string;
  readonly projectRoot: string;
  readonly force: boolean;
  readonly now: Date;
  readonly rebuildAfterDays: number | undefined;
  /** Images this run rebuilds, so dependants rebuild too. */
  readonly rebuiltDependencies: ReadonlySet<string>;
}

const DAY_MS = 86_400_000;

export function planImage(input: PlanImageInput): Exclude<ImagePlan, { action: 'build' }> | Omit<Extract<ImagePlan, { action: 'build' }>, 'retirements'> {
  const { image, observation } = input;
  const currentVersion = observation.published.versions[0]?.version;
  if (observation.base.kind === 'unresolved') return { image: image.name, action: 'error', kind: 'pipeline', reason: observation.base.reason };

  const version = nextVersion(image.version, observation.published.versions.map((published) => published.version));
  if (!version.ok) return { image: image.name, action: 'error', kind: 'definition', reason: `${image.file}: version: ${version.reason}` };

  const base =
    observation.base.kind === 'resolved'
      ? ({ kind: 'resolved', amiId: observation.base.amiId, source: observation.base.source } as const)
      : ({ kind: 'after-dependency', image: observation.base.image, source: observation.base.source } as const);
  const digest = fingerprint({ image, projectRoot: input.projectRoot, files: observation.files });

  const reason = buildReason(input, digest, base);
  if (reason === undefined) {
    return { image: image.name, action: 'skip', reason: `unchanged since ${currentVersion} (same definition, templates and base AMI); use --force to rebuild`, currentVersion };
  }
  // NOTE: a major.minor raise by the author is always built, even if nothing else changed.
  return {
    image: image.name,
    action: 'build',
    reason,
    base,
    fingerprint: digest,
    currentVersion,
    nextVersion: version.version,
    parameters: [
      ...image.regions.map((region) => ({ region, name: versionParameterName(input.ssmPrefix, image.name, version.version) })),
      ...image.regions.map((region) => ({ region, name: latestParameterName(input.ssmPrefix, image.name) })),
    ],
  };
}

function buildReason(input: PlanImageInput, digest: string, base: { kind: 'resolved'; amiId: string } | { kind: 'after-dependency'; image: string }): string | undefined {
  const { image, observation } = input;
  const newest = observation.published.versions[0];
  if (!newest) return 'first build: no version is published yet';
  if (input.force) return 'rebuild forced with --force';
  const missingRegions = image.regions.filter((region) => !newest.amis[region]);
  if (missingRegions.length > 0) return `version ${newest.version} is not published in ${missingRegions.join(', ')}`;
  const strayLatest = image.regions.filter((region) => observation.published.latest[region] !== newest.amis[region]);
  if (strayLatest.length > 0) return `latest in ${strayLatest.join(', ')} does not point to the newest version ${newest.version}`;
  if (base.kind === 'after-dependency' && input.rebuiltDependencies.has(base.image)) return `its base image "${base.image}" is rebuilt in this run`;
  const tags = observation.latestTags;
  if (!tags) return `the AMI that latest points to in ${image.buildRegion} is gone or unreadable`;
  const [major, minor] = image.version.split('.');
  if (!newest.version.startsWith(`${major}.${minor}.`)) return `the definition moved to ${major}.${minor}`;
  if (base.kind === 'resolved' && tags['gild:base-ami'] && tags['gild:base-ami'] !== base.amiId) return `the base AMI changed from ${tags['gild:base-ami']} to ${base.amiId}`;
  if (tags['gild:fingerprint'] !== digest) return 'the definition, its templates or its files changed';
  const builtAt = Date.parse(tags['gild:built-at'] ?? '');
  if (input.rebuildAfterDays !== undefined && Number.isFinite(builtAt) && input.now.getTime() - builtAt >= input.rebuildAfterDays * DAY_MS) {
    return `version ${newest.version} is ${Math.floor((input.now.getTime() - builtAt) / DAY_MS)} days old (rebuildAfterDays is ${input.rebuildAfterDays})`;
  }
  return undefined;
}
