/**
 * Which of gild's temporary resources are leftovers of runs that are gone:
 * build and smoke instances, Packer's key pairs (named `gild_<runId>_<image>`)
 * and the security groups gild makes for builds. Pure.
 *
 * A resource belongs to a run. That run is gone when its lease on the image is
 * stale (expired, or its pid on this host is dead): then its leftovers go at
 * once, whatever their age. A run that holds no lease at all has finished (or
 * never got its lock); its leftovers go once they are older than
 * `sweepAfterMinutes`, which also keeps a run that is just taking its lock safe.
 * A run that holds a live lease is never touched, nor is another gild pipeline's
 * instance (tagged `gild:prefix` with another SSM prefix): its lease is under
 * that prefix, out of sight here.
 */
import type { Inventory, RegionInventory } from '../observe/inventory.ts';
import { isTakeoverClaimOf, leaseTtlMs, parseLease, staleLeaseReason } from '../observe/parse-lease.ts';
import { lockParameterName } from './parameter-names.ts';
import type { PlanStep, SweptResource } from './run-plan.ts';
import { ofAnotherPipeline, runsOfOtherPipelines } from './prefix-tag.ts';
import { escapeRegExp } from '../escape-regexp.ts';

export interface SweepInput {
  readonly inventory: Inventory;
  readonly runId: string;
  readonly now: Date;
  readonly sweepAfterMinutes: number;
  /** Each image's build region, where its lock lives: an instance in another account is checked against it. */
  readonly buildRegions?: Readonly<Record<string, string>>;
}

type SweepStep = Extract<PlanStep, { kind: 'sweep' }>;

/** Only gild's own temporary instances go: an instance tagged with another role is someone's on purpose. */
const sweptRoles = ['build', 'smoke'];
/** Instances already on their way out need nothing more. */
const liveStates = ['pending', 'running', 'stopping', 'stopped'];

/** `20261128T221500Z-abc123` → that time; undefined for anything else. */
export function runStartedAt(runId: string | undefined): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(runId ?? '');
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match;
  const date = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export function planSweep(input: SweepInput): SweepStep[] {
  const { inventory, now } = input;
  const liveRuns = new Set<string>();
  const deadRuns = new Map<string, string>();
  for (const lease of Object.values(inventory.leases)) {
    if (lease.kind !== 'held') continue;
    const stale = staleLeaseReason(lease, now);
    if (stale) deadRuns.set(lease.lease.runId, stale);
    else liveRuns.add(lease.lease.runId);
  }
  const verdict = (runId: string | undefined, since: Date | undefined): string | undefined => {
    if (runId === input.runId || (runId !== undefined && liveRuns.has(runId))) return undefined;
    const dead = runId === undefined ? undefined : deadRuns.get(runId);
    if (dead) return `its run ${runId} is gone: the lock it held is stale (${dead})`;
    if (!since) return undefined;
    const ageMinutes = Math.floor((now.getTime() - since.getTime()) / 60_000);
    if (ageMinutes < input.sweepAfterMinutes) return undefined;
    return `its run ${runId ?? '(unknown)'} holds no lock and it is ${ageMinutes} min old (sweepAfterMinutes is ${input.sweepAfterMinutes})`;
  };

  const steps: SweepStep[] = [];
  for (const [region, regionInventory] of Object.entries(inventory.regions)) {
    const instanceSteps: string[] = [];
    for (const instance of regionInventory.instances) {
      if (!sweptRoles.includes(instance.tags['gild:role'] ?? '') || !liveStates.includes(instance.state) || ofAnotherPipeline(instance.tags, inventory.ssmPrefix)) continue;
      const runId = instance.tags['gild:run-id'];
      const why = verdict(runId, instance.launchedAt ? new Date(instance.launchedAt) : undefined);
      if (!why) continue;
      const id = `sweep:${region}:${instance.instanceId}`;
      instanceSteps.push(id);
      steps.push(
        sweepStep(id, region, { kind: 'instance', id: instance.instanceId }, runId, `terminate leftover ${instance.tags['gild:role']} instance ${instance.instanceId} (${instance.state}): ${why}`, []),
      );
    }
    // A key pair or security group says nothing of its pipeline (Packer names its key pair, and observation keeps no
    // tags): one of a run whose build or smoke instance is another pipeline's is that pipeline's.
    const otherPipelinesRuns = runsOfOtherPipelines(regionInventory.instances, inventory.ssmPrefix);
    for (const resource of regionInventory.temporaryResources) {
      // NOTE: only what names its run and image the way gild does (`gild_<runId>_<image>`, or gild's tags) is gild's;
      // someone's own `gild_ci` key pair never is.
      if (resource.runId === undefined || resource.image === undefined || runStartedAt(resource.runId) === undefined || otherPipelinesRuns.has(resource.runId)) continue;
      const since = resource.createdAt ? new Date(resource.createdAt) : runStartedAt(resource.runId);
      const why = verdict(resource.runId, since);
      if (!why) continue;
      const swept: SweptResource = { kind: resource.kind, id: resource.id, name: resource.name };
      // NOTE: a security group cannot go while an instance still uses it, so groups wait for the region's instances.
      steps.push(
        sweepStep(
          `sweep:${region}:${resource.id}`,
          region,
          swept,
          resource.runId,
          `delete leftover ${resource.kind} ${resource.name}: ${why}`,
          resource.kind === 'security-group' ? instanceSteps : [],
        ),
      );
    }
    steps.push(...staleClaimSteps(inventory.ssmPrefix, regionInventory, now));
  }
  // An account smoke test runs its instance (and a Windows one its key pair) in the distribution account, under the
  // building account's lock.
  for (const [roleArn, observed] of Object.entries(inventory.accounts ?? {})) {
    if (observed.kind !== 'observed') continue;
    for (const [region, held] of Object.entries(observed.regions)) {
      for (const instance of held.instances ?? []) {
        const image = instance.tags['gild:image'];
        const lockRegion = image === undefined ? undefined : input.buildRegions?.[image];
        if (instance.tags['gild:role'] !== 'smoke' || !liveStates.includes(instance.state) || !image || !lockRegion || ofAnotherPipeline(instance.tags, inventory.ssmPrefix)) continue;
        const runId = instance.tags['gild:run-id'];
        const why = verdict(runId, instance.launchedAt ? new Date(instance.launchedAt) : undefined);
        if (!why) continue;
        steps.push({
          ...sweepStep(
            `sweep:${observed.account}:${region}:${instance.instanceId}`,
            region,
            { kind: 'instance', id: instance.instanceId },
            runId,
            `terminate leftover account smoke instance ${instance.instanceId} (${instance.state}) in account ${observed.account}: ${why}`,
            [],
          ),
          account: { account: observed.account, roleArn, image, lockRegion },
        });
      }
      // A Windows account smoke test's key pair (`gild_<runId>-smoke_<image>`): the same verdict as the building
      // account's, deleted as the account's role.
      for (const resource of held.temporaryResources ?? []) {
        const lockRegion = resource.image === undefined ? undefined : input.buildRegions?.[resource.image];
        if (resource.kind !== 'key-pair' || resource.runId === undefined || !resource.image || !lockRegion || runStartedAt(resource.runId) === undefined) continue;
        const why = verdict(resource.runId, resource.createdAt ? new Date(resource.createdAt) : runStartedAt(resource.runId));
        if (!why) continue;
        steps.push({
          ...sweepStep(
            `sweep:${observed.account}:${region}:${resource.id}`,
            region,
            { kind: resource.kind, id: resource.id, name: resource.name },
            resource.runId,
            `delete leftover key pair ${resource.name} in account ${observed.account}: ${why}`,
            [],
          ),
          account: { account: observed.account, roleArn, image: resource.image, lockRegion },
        });
      }
    }
  }
  return steps;
}

/**
 * Take-over claims (`<lock>.takeover-<digest>`, see takeOverLease in src/apply/lease.ts) live for one delete and one
 * create, and their taker removes them; one left by a taker that died is harmless but never goes by itself. Once it
 * was taken longer ago than a whole lease period, its take-over ended long since: it is removed, if still unchanged.
 */
function staleClaimSteps(ssmPrefix: string, regionInventory: RegionInventory, now: Date): SweepStep[] {
  const lockPattern = new RegExp(`^${escapeRegExp(ssmPrefix)}/([^/]+)/lock\\.takeover-`);
  const steps: SweepStep[] = [];
  for (const parameter of regionInventory.parameters) {
    const image = lockPattern.exec(parameter.name)?.[1];
    if (!image || !isTakeoverClaimOf(lockParameterName(ssmPrefix, image), parameter.name)) continue;
    const claim = parseLease(parameter.value);
    const takenAt = Date.parse(claim?.takenAt ?? parameter.lastModified ?? '');
    if (!Number.isFinite(takenAt) || now.getTime() - takenAt <= leaseTtlMs) continue;
    const ageMinutes = Math.floor((now.getTime() - takenAt) / 60_000);
    const resource: SweptResource = { kind: 'takeover-claim', id: parameter.name, name: parameter.name, value: parameter.value };
    const by = claim ? `run ${claim.runId} (pid ${claim.pid} on ${claim.host})` : 'an unknown taker';
    steps.push({
      ...sweepStep(
        `sweep:${regionInventory.region}:${parameter.name}`,
        regionInventory.region,
        resource,
        claim?.runId,
        `remove the take-over claim ${parameter.name} left by ${by}: taken ${ageMinutes} min ago, longer than a lease period (${leaseTtlMs / 60_000} min), so its take-over ended long ago`,
        [],
      ),
      precondition: `${parameter.name} still holds the value observed`,
    });
  }
  return steps;
}

function sweepStep(id: string, region: string, resource: SweptResource, runId: string | undefined, reason: string, after: readonly string[]): SweepStep {
  return {
    id,
    kind: 'sweep',
    region,
    resource,
    runId,
    after,
    reason,
    precondition: `${resource.kind} ${resource.id} still exists and its run ${runId ?? '(unknown)'} holds no live lock`,
  };
}
