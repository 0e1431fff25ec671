/**
 * `gild verify --repair` as an assembler: from the audit of one observation
 * (src/report/audit-images.ts), the plan that restores what the definitions
 * say, made of the steps every other command's plan uses, run by the same
 * runner under each image's lease: a pointer that names the wrong AMI is a
 * one-region `repoint` (re-checked: the AMI is still the image's, of that
 * version, not revoked; the parameter still holds what was observed), and an
 * AMI or snapshot shared otherwise than defined is a `share` of that AMI
 * (re-checked: still the image's, of that version, available, not failed).
 * Pure. A repair it cannot place (an AMI the observation does not know) stays
 * a finding, for the audit after the repair to show.
 */
import { underLock } from './plan-image-lock.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { Inventory, ObservedAmi } from '../observe/inventory.ts';
import type { Finding, RepairStep } from '../report/audit-images.ts';
import { imageState } from './image-state.ts';
import { withInventoryIndex } from './inventory-slices.ts';
import { latestParameterName, lockParameterName, versionFromParameterName } from './parameter-names.ts';
import { expectedLaunchPermissions, expectedVolumePermissions } from './plan-sharing.ts';
import { planSchemaVersion, type PlanStep, type RunPlan } from './run-plan.ts';

export interface RepairInput {
  readonly runId: string;
  readonly now: Date;
  readonly inventory: Inventory;
  readonly images: readonly ResolvedImage[];
  readonly findings: readonly Finding[];
}

export function planRepairs(input: RepairInput): RunPlan {
  // Each repaired image's state reads its slice of the inventory: indexed once for the whole plan, as in a run's assembly.
  return withInventoryIndex(input.inventory, () => planIndexed(input));
}

function planIndexed(input: RepairInput): RunPlan {
  const prefix = input.inventory.ssmPrefix;
  const steps: PlanStep[] = [];
  const decisions: RunPlan['images'][number][] = [];
  for (const image of input.images) {
    const findings = input.findings.filter((finding) => finding.image === image.name && finding.repair);
    const lockId = `lock:${image.name}`;
    const repairs = new Map<string, PlanStep>();
    for (const finding of findings) {
      const step = repairStep(input, image, finding, finding.repair!, lockId);
      if (step && !repairs.has(step.id)) repairs.set(step.id, step);
    }
    if (repairs.size === 0) continue;
    const lockName = lockParameterName(prefix, image.name);
    steps.push(...underLock(image, lockName, `${image.name} is repaired only under its lock, never beside a run that changes it`, [...repairs.values()]));
    decisions.push({
      image: image.name,
      action: 'change',
      reason: `restore what the definition says: ${repairs.size} repair${repairs.size === 1 ? '' : 's'} of the drift gild verify found`,
      currentVersion: imageState(input.inventory, image.name, image.regions).versions[0]?.version,
    });
  }
  return {
    schema: planSchemaVersion,
    runId: input.runId,
    createdAt: input.now.toISOString(),
    ssmPrefix: prefix,
    options: { force: false, images: input.images.map((image) => image.name) },
    observed: { at: input.inventory.observedAt, digests: {} },
    images: decisions,
    steps,
    kept: [],
  };
}

function repairStep(input: RepairInput, image: ResolvedImage, finding: Finding, repair: RepairStep, lockId: string): PlanStep | undefined {
  const prefix = input.inventory.ssmPrefix;
  const amis = input.inventory.regions[repair.region]?.amis ?? [];
  const reason = `gild verify found ${finding.resource} in ${finding.region}: ${finding.difference}`;
  switch (repair.kind) {
    case 'put-parameter': {
      const ami = amis.find((candidate) => candidate.amiId === repair.value);
      const version = versionFromParameterName(prefix, image.name, repair.name) ?? versionOf(ami);
      if (version === undefined) return undefined;
      const pointer = repair.name === latestParameterName(prefix, image.name) ? 'latest' : `versions/${version}`;
      return {
        id: `repoint:${image.name}:${pointer}:${repair.region}`,
        kind: 'repoint',
        image: image.name,
        version,
        pointer,
        moves: [{ region: repair.region, name: repair.name, amiId: repair.value, previous: repair.expected }],
        after: [lockId],
        reason: `${reason}; point it at ${image.name} ${version} again`,
        precondition: `${repair.name} in ${repair.region} still holds ${repair.expected ?? 'nothing'}, and ${repair.value} is ${image.name} ${version} as gild tagged it, available and not revoked`,
      };
    }
    case 'launch-permissions':
    case 'volume-permissions': {
      const ami = repair.kind === 'launch-permissions' ? amis.find((candidate) => candidate.amiId === repair.amiId) : amis.find((candidate) => candidate.snapshotIds.includes(repair.snapshotId));
      const version = versionOf(ami);
      if (!ami || version === undefined) return undefined;
      return {
        id: `share:${image.name}:${repair.region}:${ami.amiId}`,
        kind: 'share',
        image: image.name,
        version,
        region: repair.region,
        amis: { amis: { [repair.region]: ami.amiId } },
        launchPermissions: expectedLaunchPermissions(image),
        volumePermissions: expectedVolumePermissions(image),
        description: image.description,
        after: [lockId],
        reason: `${reason}; share ${ami.amiId} and its snapshots exactly as the definition says`,
        precondition: `${ami.amiId} in ${repair.region} is still tagged gild:image=${image.name} and gild:version=${version}, and available`,
      };
    }
  }
}

const versionOf = (ami: ObservedAmi | undefined): string | undefined => ami?.tags['gild:version'];
