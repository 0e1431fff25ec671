/**
 * What to publish: a new version's `versions/<v>` in every region, then the pointers that follow it (`v<major>`, then
 * `latest`; a held pointer stays where the rollback put it), or what a publish that stopped halfway left unwritten.
 */
import semver from 'semver';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { describeHold, findAmi, revocationOf, type ImageState } from './image-state.ts';
import { imageParameterPath, latestParameterName, majorParameterName, versionParameterName } from './parameter-names.ts';
import type { ParameterWrite, PlanStep } from './run-plan.ts';

/** Publishing the version this run builds, once its smoke test passed and it is shared. */
export function publishStep(input: {
  readonly image: ResolvedImage;
  readonly state: ImageState;
  readonly prefix: string;
  readonly version: string;
  readonly producerId: string;
  readonly after: readonly string[];
}): Extract<PlanStep, { kind: 'publish' }> {
  const { image, state, prefix, version } = input;
  return {
    id: `publish:${image.name}`,
    kind: 'publish',
    image: image.name,
    version,
    amis: { from: input.producerId },
    writes: [
      ...image.regions.map((region) => ({ region, name: versionParameterName(prefix, image.name, version), pointer: 'version' as const, previous: undefined })),
      // NOTE: latest is written last so that a failed run never points at an untested or half-published AMI.
      ...pointerWrites(prefix, image, state, version, image.regions),
    ],
    after: [...input.after],
    reason: `the smoke test passed: publish ${version} in ${image.regions.join(', ')}${heldNote(state)}`,
    precondition: `versions/${version} does not exist yet and latest still holds what was observed`,
  };
}

/**
 * A publish that stopped halfway: the newest version has `versions/<v>` in some regions and the same run's
 * tested AMIs in the others, or `latest` still names an older version somewhere. Finishing it writes exactly
 * what is missing.
 */
export function unfinishedPublish(state: ImageState, image: ResolvedImage, prefix: string): { step: Omit<Extract<PlanStep, { kind: 'publish' }>, 'id' | 'after'> } | undefined {
  // A revoked version is not half-published: its pointers were moved away on purpose. The newest good one is what
  // latest and its v<major> follow, also after a release (the catch-up).
  const newest = state.versions.find((published) => revocationOf(state, published.version) === undefined);
  if (!newest) return undefined;
  const publishedIn = Object.keys(newest.amis);
  const runIds = new Set(publishedIn.map((region) => findAmi(state, region, newest.amis[region])?.tags['gild:run-id']).filter((runId): runId is string => runId !== undefined));
  if (runIds.size !== 1) return undefined;
  const [runId] = [...runIds];
  const amis: Record<string, string> = {};
  for (const region of image.regions) {
    const named = newest.amis[region];
    const tagged = (state.amis[region] ?? []).find(
      (ami) =>
        ami.tags['gild:run-id'] === runId && ami.tags['gild:version'] === newest.version && ami.state === 'available' && ['tested', 'untested', 'published'].includes(ami.tags['gild:status'] ?? ''),
    );
    const amiId = named ?? tagged?.amiId;
    if (!amiId) return undefined;
    amis[region] = amiId;
  }
  const writes = [
    ...image.regions
      .filter((region) => !newest.amis[region])
      .map((region) => ({ region, name: versionParameterName(prefix, image.name, newest.version), pointer: 'version' as const, previous: undefined })),
    ...pointerWrites(prefix, image, state, newest.version, image.regions, amis),
  ];
  if (writes.length === 0) return undefined;
  const missing = [...new Set(writes.map((write) => `${write.name.slice(imageParameterPath(prefix, image.name).length + 1)} in ${write.region}`))];
  return {
    step: {
      kind: 'publish',
      image: image.name,
      version: newest.version,
      amis: { amis },
      writes,
      // Only pointers missing: a run stopped before moving them, or they were added since (`v<major>` after an upgrade).
      reason: writes.some((write) => write.pointer === 'version' || write.pointer === 'latest')
        ? `finish publishing ${newest.version} (run ${runId} stopped halfway): write ${missing.join(', ')}`
        : `catch up: point ${missing.join(', ')} at ${newest.version}, the newest good version (a release, an upgrade or a stopped run left ${missing.length === 1 ? 'it' : 'them'} behind)`,
      precondition: 'the parameters still hold what was observed',
    },
  };
}

/**
 * Whether what `unfinishedPublish` found leaves the regions apart: a parameter it writes in some regions but not all
 * (`versions/<v>` missing in one, or `v<major>` already naming the new version in one but not the other), as a publish
 * cut short leaves them. A pointer behind in every region alike (after a release, an upgrade) is a catch-up, not that.
 */
export function leavesRegionsApart(step: { readonly writes: readonly ParameterWrite[] }, regions: readonly string[]): boolean {
  const regionsOf = new Map<string, Set<string>>();
  for (const write of step.writes) regionsOf.set(write.name, (regionsOf.get(write.name) ?? new Set()).add(write.region));
  return [...regionsOf.values()].some((written) => regions.some((region) => !written.has(region)));
}

/**
 * The pointers a publish of `version` moves, per region: `v<major>` when it is the newest of its major, then
 * `latest`; a held pointer stays where the rollback put it. Channels never move on publish.
 */
export function pointerWrites(prefix: string, image: ResolvedImage, state: ImageState, version: string, regions: readonly string[], amis?: Readonly<Record<string, string>>): ParameterWrite[] {
  const major = semver.major(version);
  // A revoked version is never what v<major> should name, however new.
  const newestOfMajor = !state.versions.some((published) => semver.major(published.version) === major && semver.gt(published.version, version) && revocationOf(state, published.version) === undefined);
  const writes: ParameterWrite[] = [];
  const add = (pointer: 'major' | 'latest', relative: string, name: string) => {
    if (state.holds[relative]) return;
    for (const region of regions) {
      const previous = state.pointers[region]?.[name];
      if (amis && previous === amis[region]) continue;
      writes.push({ region, name, pointer, previous });
    }
  };
  if (newestOfMajor) add('major', `v${major}`, majorParameterName(prefix, image.name, major));
  add('latest', 'latest', latestParameterName(prefix, image.name));
  return writes;
}

export const heldNote = (state: ImageState) => {
  const held = Object.entries(state.holds);
  return held.length === 0 ? '' : ` (${held.map(([pointer, hold]) => describeHold(pointer, hold)).join('; ')}: not moved)`;
};
