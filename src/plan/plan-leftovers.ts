/**
 * What unpublished AMIs of earlier runs to clean up, and what to keep on purpose: builds this run does not resume (a
 * failed one, one of another version or fingerprint), AMIs Packer made that gild never tagged (recognised by name),
 * and snapshots whose AMI is gone. Each removal waits for the image's lock and is checked again right before it.
 */
import semver from 'semver';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { Inventory, LeaseState, ObservedAmi } from '../observe/inventory.ts';
import { staleLeaseReason } from '../observe/parse-lease.ts';
import { orphanSnapshots } from './inventory-slices.ts';
import { unpublishedBuilds, type ImageState, type UnpublishedBuild } from './image-state.ts';
import { resumableStatuses, takenOnlyByLedger } from './plan-build.ts';
import type { KeptResource, PlanStep } from './run-plan.ts';
import { ofAnotherPipeline, runsOfOtherPipelines } from './prefix-tag.ts';
import { escapeRegExp } from '../escape-regexp.ts';

const DAY_MS = 86_400_000;

export interface LeftoversInput {
  readonly image: ResolvedImage;
  readonly state: ImageState;
  readonly inventory: Inventory;
  readonly runId: string;
  readonly now: Date;
  readonly keepFailedDays: number;
  readonly lease: LeaseState;
  /** `gild retire`: a build the next `gild run` may resume is kept, not cleaned up. */
  readonly retireOnly: boolean;
  /** The version and fingerprint this run builds (or would). */
  readonly next: string;
  readonly fingerprint: string;
  /** The earlier run whose build this run resumes, if any. */
  readonly resumableRunId: string | undefined;
  /** Whether this run builds or resumes the image at all. */
  readonly building: boolean;
  /** AMIs a half-done publish is about to finish: not leftovers, though no parameter names them yet. */
  readonly finishing: ReadonlySet<string>;
  readonly lockStepId: string;
}

export function planLeftovers(input: LeftoversInput): { steps: Extract<PlanStep, { kind: 'cleanup' }>[]; kept: KeptResource[] } {
  const { image, state, inventory, runId, lease, retireOnly, next, fingerprint, resumableRunId, building, finishing, lockStepId } = input;
  const steps: Extract<PlanStep, { kind: 'cleanup' }>[] = [];
  const kept: KeptResource[] = [];
  // Unpublished AMIs of earlier runs that this run will not resume: nothing will ever publish them.
  for (const build of unpublishedBuilds(state)) {
    if (resumableRunId !== undefined && build.runId === resumableRunId) continue;
    if (Object.values(build.amis).some((ami) => finishing.has(ami.amiId))) continue;
    const resumableLater =
      retireOnly &&
      build.version !== undefined &&
      (build.version === next || takenOnlyByLedger(state, build.version, next)) &&
      build.fingerprint === fingerprint &&
      resumableStatuses.has(build.status ?? '');
    for (const [region, ami] of Object.entries(build.amis)) {
      const keptOnPurpose = keepPeriod(ami, input.now, input.keepFailedDays);
      const keepReason = resumableLater
        ? `run ${build.runId} built ${build.version} from what the image is made of now: the next \`gild run\` may resume it`
        : keptOnPurpose?.kept
          ? keptOnPurpose.reason
          : undefined;
      if (keepReason) {
        kept.push({ image: image.name, region, amiId: ami.amiId, version: build.version, reason: `kept on purpose: ${keepReason}` });
        continue;
      }
      steps.push({
        id: `cleanup:${image.name}:${region}:${ami.amiId}`,
        kind: 'cleanup',
        image: image.name,
        region,
        amiId: ami.amiId,
        snapshotIds: ami.snapshotIds,
        status: build.status ?? '(none)',
        after: [lockStepId],
        reason: `${cleanupReason(build, next, fingerprint, building)}${keptOnPurpose ? `; ${keptOnPurpose.reason}` : ''}`,
        precondition: `${ami.amiId} is still tagged gild:image=${image.name}, no parameter names it and nothing uses it`,
      });
    }
  }

  // NOTE: no live run holds this image's lock (checked above), so no run is between Packer's CreateImage and tagging.
  for (const region of image.regions) {
    for (const found of untaggedBuilds(inventory, image.name, region, runId)) {
      // A copy the resumed run started and had not tagged yet: its copy step finds it by name and finishes it.
      if (resumableRunId !== undefined && found.runId === resumableRunId) continue;
      const gone = lease.kind === 'held' && lease.lease.runId === found.runId ? `its lock is stale (${staleLeaseReason(lease, input.now)})` : `it holds no lock on ${image.name}`;
      steps.push({
        id: `cleanup:${image.name}:${region}:${found.ami.amiId}`,
        kind: 'cleanup',
        image: image.name,
        region,
        amiId: found.ami.amiId,
        snapshotIds: found.ami.snapshotIds,
        status: '(untagged)',
        untagged: { runId: found.runId, version: found.version, name: found.ami.name },
        after: [lockStepId],
        reason: `${found.ami.amiId} carries no gild tags, but its name ${found.ami.name} is the build step's for ${image.name} ${found.version} in run ${found.runId}, which is gone (${gone}): gild stopped between Packer's CreateImage and its tagging. Tag it as gild's, then deregister it with its snapshots`,
        precondition: `${found.ami.amiId} still has no gild:image tag other than ${image.name}, no parameter names it and nothing uses it`,
      });
    }
  }

  for (const region of image.regions) {
    const orphans = orphanSnapshots(inventory, region, image.name);
    if (orphans.length === 0) continue;
    steps.push({
      id: `cleanup:${image.name}:${region}:snapshots`,
      kind: 'cleanup',
      image: image.name,
      region,
      amiId: undefined,
      snapshotIds: orphans,
      status: '(snapshots only)',
      after: [lockStepId],
      reason: `snapshots tagged gild:image=${image.name} whose AMI no longer exists (a removal that stopped halfway)`,
      precondition: 'no AMI uses them',
    });
  }
  return { steps, kept };
}

/**
 * An AMI tagged `gild:keep-reason` is kept until its `gild:keep-until`, then cleaned up like any unpublished AMI.
 * One kept by a gild that stamped no end is kept `keepFailedDays` from its build (or creation).
 */
function keepPeriod(ami: ObservedAmi, now: Date, keepFailedDays: number): { kept: boolean; reason: string } | undefined {
  const keepReason = ami.tags['gild:keep-reason'];
  if (!keepReason) return undefined;
  const stamped = Date.parse(ami.tags['gild:keep-until'] ?? '');
  const since = Date.parse(ami.tags['gild:built-at'] ?? ami.createdAt);
  const until = Number.isFinite(stamped) ? stamped : Number.isFinite(since) ? since + keepFailedDays * DAY_MS : Number.POSITIVE_INFINITY;
  if (until === Number.POSITIVE_INFINITY) return { kept: true, reason: `${keepReason} (no keep period can be read from its tags)` };
  const untilText = new Date(until).toISOString();
  const how = Number.isFinite(stamped) ? 'gild:keep-until' : `keepFailedDays ${keepFailedDays} from its build`;
  if (now.getTime() < until) return { kept: true, reason: `${keepReason} (until ${untilText}, ${how})` };
  return { kept: false, reason: `it was kept on purpose (${keepReason}) until ${untilText} (${how}), and that has passed` };
}

function cleanupReason(build: UnpublishedBuild, nextVersion: string, fingerprint: string, building: boolean): string {
  const what = `built by run ${build.runId} (gild:status=${build.status ?? 'none'}${build.version ? `, version ${build.version}` : ''}) and never published`;
  if (build.status === 'failed') return `${what}: it failed (${Object.values(build.amis)[0]?.tags['gild:failure'] ?? 'no reason recorded'})`;
  if (build.version !== nextVersion) return `${what}: the next version is ${nextVersion} now, so it can never be published`;
  if (build.fingerprint !== fingerprint) return `${what}: what goes into the image changed since, so it can never be published`;
  if (!building) return `${what}: the published version is unchanged, so nothing will publish it`;
  return `${what}: it is incomplete or built from another base, so it cannot be resumed`;
}

/**
 * Owned AMIs without gild tags named exactly as the build step names an image's build (`<image>-<version>-<runId>`,
 * see `amiName`), of another run than this one. `web-api-1.0.0-…` is not `web`'s: its version would not parse. Nor is
 * another gild pipeline's (another SSM prefix, whose lock is out of sight here): one whose `gild:prefix` (modern
 * Packer's AMI carries the build's run tags) or whose run's build instance (Packer 1.6.6 keeps it until it has tagged
 * the AMI) names another prefix.
 */
function untaggedBuilds(inventory: Inventory, imageName: string, region: string, runId: string): { ami: ObservedAmi; version: string; runId: string }[] {
  const pattern = new RegExp(`^${escapeRegExp(imageName)}-(.+)-(\\d{8}T\\d{6}Z-[a-z0-9]+)$`);
  const regionInventory = inventory.regions[region];
  const otherPipelinesRuns = runsOfOtherPipelines(regionInventory?.instances ?? [], inventory.ssmPrefix);
  return (regionInventory?.untaggedAmis ?? []).flatMap((ami) => {
    const match = pattern.exec(ami.name);
    if (!match || ami.tags['gild:image'] !== undefined || !semver.valid(match[1]!) || match[2] === runId) return [];
    if (ofAnotherPipeline(ami.tags, inventory.ssmPrefix) || otherPipelinesRuns.has(match[2]!)) return [];
    return [{ ami, version: match[1]!, runId: match[2]! }];
  });
}
