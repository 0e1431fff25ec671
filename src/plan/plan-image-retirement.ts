/**
 * What to retire: the image's published versions the retention policy lets go, planned as if this run's publish (or
 * its finished intents) already happened, since that is the world the retirement steps run in.
 */
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { Inventory, ObservedAmi } from '../observe/inventory.ts';
import { describeHold, type ImageState } from './image-state.ts';
import { imageParameterPath } from './parameter-names.ts';
import { planRetirementPolicy } from './plan-retirement-policy.ts';
import { binVerdict } from './recycle-bin.ts';
import type { KeptResource, PlanStep } from './run-plan.ts';

export interface RetirementInput {
  readonly inventory: Inventory;
  readonly now: Date;
}

export function planImageRetirement(
  input: RetirementInput,
  image: ResolvedImage,
  state: ImageState,
  after: {
    readonly versions: readonly { readonly version: string; readonly amis: Readonly<Record<string, string>> }[];
    readonly moved: Readonly<Record<string, Readonly<Record<string, string>>>>;
    /** region → AMIs a restore being finished in this run un-revokes (tagged published again before retirement runs). */
    readonly restored?: Readonly<Record<string, ReadonlySet<string>>>;
  },
): { steps: Omit<Extract<PlanStep, { kind: 'retire' }>, 'after'>[]; kept: KeptResource[] } {
  const path = `${imageParameterPath(input.inventory.ssmPrefix, image.name)}/`;
  const pointers: Record<string, Record<string, string>> = {};
  const ownedAmis: Record<string, Record<string, ObservedAmi>> = {};
  const references: Record<string, readonly string[]> = {};
  const sharedWith: Record<string, readonly string[]> = {};
  const snapshotUsers: Record<string, readonly string[]> = {};
  for (const region of image.regions) {
    const regionPointers: Record<string, string> = {};
    for (const [name, amiId] of Object.entries({ ...state.pointers[region], ...after.moved[region] })) regionPointers[name.slice(path.length)] = amiId;
    pointers[region] = regionPointers;
    // NOTE: an AMI a half-done restore still tags revoked in this region is good once the restore is finished, before
    // retirement runs: retired as revoked, the restored version would be gone in this region and kept in the others.
    ownedAmis[region] = Object.fromEntries((state.amis[region] ?? []).map((ami) => [ami.amiId, after.restored?.[region]?.has(ami.amiId) ? asRestored(ami) : ami]));
    Object.assign(references, input.inventory.regions[region]?.references);
    Object.assign(sharedWith, input.inventory.regions[region]?.sharing);
    Object.assign(snapshotUsers, input.inventory.regions[region]?.snapshotUsers);
  }
  const { steps, kept } = planRetirementPolicy({
    image: image.name,
    ssmPrefix: input.inventory.ssmPrefix,
    policy: image.retention,
    now: input.now.toISOString(),
    published: Object.fromEntries(after.versions.map((published) => [published.version, published.amis])),
    pointers,
    held: Object.fromEntries(Object.entries(state.holds).map(([pointer, hold]) => [hold.version, describeHold(pointer, hold)])),
    pinned: {},
    ownedAmis,
    references,
    sharedWith,
    snapshotUsers,
  });
  // NOTE: two AMIs of one version in one region (left by a gild older than its locks) need two steps: the AMI tells them apart.
  const counts = new Map<string, number>();
  for (const step of steps) counts.set(step.id, (counts.get(step.id) ?? 0) + 1);
  return {
    steps: steps.map(({ after: _after, ...step }) => withBinNote(input.inventory, ownedAmis, (counts.get(step.id) ?? 0) > 1 ? { ...step, id: `${step.id}:${step.amiId}` } : step)),
    kept,
  };
}

/** The AMI as a restore leaves it (src/stages/restore.ts): enabled, tagged published, the revoke's marks taken off. */
function asRestored(ami: ObservedAmi): ObservedAmi {
  const tags = Object.fromEntries(Object.entries(ami.tags).filter(([key]) => !key.startsWith('gild:revoked-') && key !== 'gild:deprecated-at' && key !== 'gild:disabled-at'));
  return { ...ami, state: ami.state === 'disabled' ? 'available' : ami.state, tags: { ...tags, 'gild:status': 'published' } };
}

/**
 * A deregistration says whether the Recycle Bin will keep what it removes (so `gild restore` can still bring it back)
 * or whether it is final: from the region's retention rules, where the target has a Recycle Bin to ask.
 */
function withBinNote<Step extends { readonly phase: string; readonly region: string; readonly amiId: string; readonly reason: string }>(
  inventory: Inventory,
  ownedAmis: Readonly<Record<string, Readonly<Record<string, ObservedAmi>>>>,
  step: Step,
): Step {
  const sight = inventory.regions[step.region]?.recycleBin;
  if (step.phase !== 'deregister' || !sight) return step;
  // The deregister step tags the AMI retiring right before it deregisters: a tag-level rule sees it so.
  const tags = { ...ownedAmis[step.region]?.[step.amiId]?.tags, 'gild:status': 'retiring' };
  return { ...step, reason: `${step.reason}; ${binVerdict(sight, tags).text}` };
}
