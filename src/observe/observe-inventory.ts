/**
 * The only reads of AWS before a plan. Batched per region, not per image:
 * one paginated read of every parameter under the prefix, one of every gild
 * AMI, one of gild's instances, one of its temporary key pairs and security
 * groups; base parameters ten names a call. Everything the assembler needs
 * comes back as plain data (`Inventory`).
 */
import type { Context } from '../context.ts';
import { compareCodeUnits } from '../compare-names.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { allGildImages, describeGildSnapshots, describeImages, describeInstances, describeTemporaryResources, ownedImagesNamed } from '../adapters/ec2.ts';
import { observeAccounts } from './observe-accounts.ts';
import { observeReferences } from './observe-references.ts';
import { observeRecycleBin } from './observe-recycle-bin.ts';
import { getParameters, listParametersUnder } from '../adapters/ssm.ts';
import { lockParameterName } from '../plan/parameter-names.ts';
import { observedAmiOf, observedTemporaryResourceOf, type Inventory, type LeaseState, type ObservedBase, type RegionInventory } from './inventory.ts';
import { observeLeaseState } from './parse-lease.ts';
import { oneATurn } from './one-a-turn.ts';
import { escapeRegExp } from '../escape-regexp.ts';

/** Instance states that still cost money or hold an AMI: what a sweep looks at. */
const liveStates = ['pending', 'running', 'stopping', 'stopped'];

export interface ObserveOptions {
  /** Base AMIs to use instead of resolving an image's base, by image name. */
  readonly baseOverrides: Readonly<Record<string, string>>;
  /**
   * Whether to read each region's Recycle Bin retention rules (where the target has one): what retirement's plan and
   * `gild status` say of them. A command that says neither does not ask, so it needs no `rbin:` permission and pays
   * no ListRules and GetRule per region.
   */
  readonly retentionRules: boolean;
}

export async function observeInventory(context: Context, images: readonly ResolvedImage[], options: ObserveOptions): Promise<Inventory> {
  const observedAt = context.now().toISOString();
  const prefix = context.settings.ssmPrefix;
  const regions = [...new Set(images.flatMap((image) => image.regions))];
  const [regionInventories, bases, accounts] = await Promise.all([
    Promise.all(
      regions.map((region) =>
        observeRegion(
          context,
          region,
          prefix,
          images.filter((image) => image.regions.includes(region)).map((image) => image.name),
          options.retentionRules,
        ),
      ),
    ),
    observeBases(context, images, options.baseOverrides),
    observeAccounts(context, images),
  ]);
  const byRegion = Object.fromEntries(regionInventories.map((inventory) => [inventory.region, inventory]));
  const leases: Record<string, LeaseState> = {};
  // Every lock under the prefix, in every region read: the sweep must know the live runs of images this run did not
  // select too, or it would take their build resources for leftovers.
  const lockPattern = new RegExp(`^${escapeRegExp(prefix)}/([^/]+)/lock$`);
  for (const regionInventory of regionInventories) {
    for (const parameter of regionInventory.parameters) {
      const imageName = lockPattern.exec(parameter.name)?.[1];
      if (imageName && !(imageName in leases)) leases[imageName] = observeLeaseState(parameter.value, context.processInfo);
    }
  }
  for (const image of images) {
    const lockName = lockParameterName(prefix, image.name);
    const parameter = byRegion[image.buildRegion]?.parameters.find((candidate) => candidate.name === lockName);
    leases[image.name] = parameter ? observeLeaseState(parameter.value, context.processInfo) : { kind: 'free' };
  }
  return { observedAt, ssmPrefix: prefix, regions: byRegion, bases, leases, ...(Object.keys(accounts).length > 0 ? { accounts } : {}) };
}

async function observeRegion(context: Context, region: string, prefix: string, imageNames: readonly string[], retentionRules: boolean): Promise<RegionInventory> {
  const ec2 = context.clients.ec2(region);
  // The region's reads go out together, each started a turn after the one before (one-a-turn.ts): the parameters'
  // pages, one after another the longest of them, leave first instead of once all seven requests are signed.
  const inTurn = oneATurn();
  const [parameters, amis, instances, temporary, snapshots, named, recycleBin] = await Promise.all([
    inTurn(() => listParametersUnder(context.clients.ssm(region), prefix)),
    inTurn(() => describeImages(ec2, allGildImages)),
    inTurn(() =>
      describeInstances(ec2, [
        { Name: 'tag-key', Values: ['gild:role'] },
        { Name: 'instance-state-name', Values: liveStates },
      ]),
    ),
    inTurn(() => describeTemporaryResources(ec2)),
    inTurn(() => describeGildSnapshots(ec2)),
    // An AMI Packer created but gild never tagged carries no `gild:image`: only its name (the build step's) tells.
    inTurn(() => describeImages(ec2, ownedImagesNamed(imageNames.map((imageName) => `${imageName}-*`)))),
    retentionRules ? inTurn(() => observeRecycleBin(context, region)) : undefined,
  ]);
  return {
    region,
    parameters,
    amis: amis.map(observedAmiOf),
    instances: instances.map((instance) => ({
      instanceId: instance.instanceId,
      state: instance.state,
      launchedAt: instance.launchedAt?.toISOString(),
      imageId: instance.imageId,
      tags: instance.tags,
    })),
    temporaryResources: temporary.map(observedTemporaryResourceOf),
    snapshots,
    references: {},
    untaggedAmis: named.filter((ami) => ami.tags['gild:image'] === undefined).map(observedAmiOf),
    ...(recycleBin ? { recycleBin } : {}),
  };
}

/**
 * Who uses the AMIs the assembler may delete. Run after a first assembly has
 * named its candidates, so the cost is one scan per region that has any.
 */
export async function observeAllReferences(context: Context, candidates: Readonly<Record<string, readonly string[]>>): Promise<Record<string, Record<string, string[]>>> {
  const references: Record<string, Record<string, string[]>> = {};
  const options = { ssmPrefix: context.settings.ssmPrefix, capabilities: context.target.references };
  await Promise.all(
    Object.entries(candidates).map(async ([region, amiIds]) => {
      if (amiIds.length === 0) return;
      const users = await observeReferences(context.clients, region, [...new Set(amiIds)], options);
      references[region] = Object.fromEntries(Object.entries(users).filter(([, list]) => list.length > 0));
    }),
  );
  return references;
}

/** Adds references to an inventory (a new value; the inventory itself stays as observed). */
export function withReferences(inventory: Inventory, references: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>): Inventory {
  return {
    ...inventory,
    regions: Object.fromEntries(
      Object.entries(inventory.regions).map(([region, regionInventory]) => [region, { ...regionInventory, references: { ...regionInventory.references, ...references[region] } }]),
    ),
  };
}

async function observeBases(context: Context, images: readonly ResolvedImage[], overrides: Readonly<Record<string, string>>): Promise<Record<string, ObservedBase>> {
  const bases: Record<string, ObservedBase> = {};
  // Public base parameters (e.g. /aws/service/ami-amazon-linux-latest/…) are read ten a call per region.
  const ssmNames = new Map<string, string[]>();
  for (const image of images) {
    if (overrides[image.name] || image.base.kind !== 'ssm') continue;
    ssmNames.set(image.buildRegion, [...(ssmNames.get(image.buildRegion) ?? []), image.base.parameter]);
  }
  const ssmValues = new Map<string, Map<string, string>>(
    await Promise.all(
      [...ssmNames].map(
        async ([region, names]) => [region, new Map((await getParameters(context.clients.ssm(region), [...new Set(names)])).map((parameter) => [parameter.name, parameter.value]))] as const,
      ),
    ),
  );
  await Promise.all(
    images.map(async (image) => {
      bases[image.name] = await observeBase(context, image, overrides[image.name], ssmValues.get(image.buildRegion));
    }),
  );
  return bases;
}

async function observeBase(context: Context, image: ResolvedImage, override: string | undefined, ssmValues: Map<string, string> | undefined): Promise<ObservedBase> {
  const { base, buildRegion } = image;
  if (override) return { kind: 'resolved', amiId: override, source: `override:${override}` };
  switch (base.kind) {
    case 'ssm': {
      const value = ssmValues?.get(base.parameter);
      return value
        ? { kind: 'resolved', amiId: value, source: `ssm:${base.parameter}` }
        : { kind: 'unresolved', reason: `base parameter ${base.parameter} does not exist in ${buildRegion}. Check base.ssmParameter in ${image.file}.` };
    }
    case 'filter': {
      const found = await describeImages(context.clients.ec2(buildRegion), {
        owners: base.owners,
        filters: [
          { Name: 'name', Values: [base.name] },
          { Name: 'state', Values: ['available'] },
          { Name: 'architecture', Values: [image.architecture] },
        ],
        includeDeprecated: base.includeDeprecated,
      });
      // NOTE: a filter may match gild's own AMIs; only published ones may be a base, never a candidate or a failure.
      const eligible = found.filter((ami) => ami.tags['gild:image'] === undefined || ami.tags['gild:status'] === 'published');
      const newest = eligible.sort((a, b) => compareCodeUnits(b.createdAt, a.createdAt))[0];
      const skipped = found.length - eligible.length;
      return newest
        ? { kind: 'resolved', amiId: newest.amiId, source: `filter:${base.owners.join(',')}/${base.name}` }
        : {
            kind: 'unresolved',
            reason: `no ${image.architecture} AMI owned by ${base.owners.join(', ')} matches "${base.name}" in ${buildRegion}${skipped ? ` (${skipped} unpublished gild AMI${skipped === 1 ? '' : 's'} matched and ${skipped === 1 ? 'was' : 'were'} left out)` : ''}. Check base.filter in ${image.file}.`,
          };
    }
    case 'ami': {
      const amiId = base.amis[buildRegion] ?? base.amis['*'];
      return amiId ? { kind: 'resolved', amiId, source: `ami:${amiId}` } : { kind: 'unresolved', reason: `base.ami has no AMI for the build region ${buildRegion}. Add one in ${image.file}.` };
    }
    case 'image':
      return { kind: 'image', image: base.image, range: base.range };
  }
}
