/**
 * What the plan asks of a region's inventory for one image: its parameters, its AMIs, its orphaned snapshots, an AMI
 * by ID. Each is a filter over the whole region (every image's parameters and AMIs), so a plan that asks for every
 * image would scan the region once per image: quadratic in the fleet (~50 ms of a 100-image no-op run). Within
 * `withInventoryIndex` (the whole of one assembly, and likewise of `gild status`, `gild verify`'s audit, reads and repair
 * plan, and a saved plan's check) the region is indexed once, on first use, and each answer is a look-up; outside it, the
 * filter runs as written below. Both give the same answer, in the inventory's order
 * (test/unit/inventory-slices.property.test.ts). Pure: the index lives only while the synchronous call it wraps
 * runs, and nothing changes the inventory meanwhile (its arrays are read-only).
 */
import type { Inventory, ObservedAmi, ObservedParameter, ObservedSnapshot, RegionInventory } from '../observe/inventory.ts';
import { imageParameterPath } from './parameter-names.ts';
import { ofAnotherPipeline } from './prefix-tag.ts';

const none: readonly never[] = [];

/**
 * Parameters under `<prefix>/<image>/` (the image's versions, pointers, lock, ledger, holds, statuses), in inventory
 * order. Another image's whose name starts the same (`/golden/web-api/…` for `web`) is not among them.
 */
export function imageParameters(inventory: Inventory, region: string, imageName: string): readonly ObservedParameter[] {
  const regionInventory = inventory.regions[region];
  if (!regionInventory) return none;
  const index = indexFor(inventory, imageName);
  if (index) return index.of(regionInventory).parameters.get(imageName) ?? none;
  const path = `${imageParameterPath(inventory.ssmPrefix, imageName)}/`;
  return regionInventory.parameters.filter((parameter) => parameter.name.startsWith(path));
}

/**
 * AMIs tagged `gild:image=<image>`, in inventory order, except another pipeline's (a `gild:prefix` naming another SSM
 * prefix, src/plan/prefix-tag.ts): never this pipeline's to resume, publish, count, retire or clean up.
 */
export function imageAmis(inventory: Inventory, region: string, imageName: string): readonly ObservedAmi[] {
  const regionInventory = inventory.regions[region];
  if (!regionInventory) return none;
  const index = indexFor(inventory, imageName);
  if (index) return index.of(regionInventory).amis.get(imageName) ?? none;
  return regionInventory.amis.filter((ami) => ami.tags['gild:image'] === imageName && !ofAnotherPipeline(ami.tags, inventory.ssmPrefix));
}

/**
 * Snapshots tagged `gild:image=<image>` (not another pipeline's) that no AMI in the region (of any image, status or
 * pipeline) uses any more, in inventory order.
 */
export function orphanSnapshots(inventory: Inventory, region: string, imageName: string): string[] {
  const regionInventory = inventory.regions[region];
  if (!regionInventory) return [];
  const index = indexFor(inventory, imageName);
  const tagged = index
    ? (index.of(regionInventory).snapshots.get(imageName) ?? none)
    : regionInventory.snapshots.filter((snapshot) => snapshot.tags['gild:image'] === imageName && !ofAnotherPipeline(snapshot.tags, inventory.ssmPrefix));
  if (tagged.length === 0) return [];
  const used = index ? index.of(regionInventory).usedSnapshots() : usedSnapshotIds(regionInventory);
  return tagged.filter((snapshot) => !used.has(snapshot.snapshotId)).map((snapshot) => snapshot.snapshotId);
}

/** The first AMI of the region (any image, any status) with this ID. */
export function amiById(inventory: Inventory, region: string, amiId: string): ObservedAmi | undefined {
  const regionInventory = inventory.regions[region];
  if (!regionInventory) return undefined;
  const index = scopes.get(inventory);
  if (index) return index.of(regionInventory).amiById().get(amiId);
  return regionInventory.amis.find((ami) => ami.amiId === amiId);
}

/**
 * Runs `decide` (synchronous: the plan's assembly) with the inventory indexed for the slices above. Nested calls share
 * the outer index.
 */
export function withInventoryIndex<T>(inventory: Inventory, decide: () => T): T {
  if (scopes.has(inventory)) return decide();
  scopes.set(inventory, new InventoryIndex(inventory.ssmPrefix));
  try {
    return decide();
  } finally {
    scopes.delete(inventory);
  }
}

const scopes = new WeakMap<Inventory, InventoryIndex>();

/**
 * The index, where it can answer for this name. A name with a `/` spans two path segments, which the index (by segment)
 * does not hold; and a name that is not a string at all (a cast from an unchecked base, in tests) is what the filters
 * compare as it is (`undefined` matches the untagged).
 */
function indexFor(inventory: Inventory, imageName: string): InventoryIndex | undefined {
  return typeof imageName === 'string' && !imageName.includes('/') ? scopes.get(inventory) : undefined;
}

function usedSnapshotIds(regionInventory: RegionInventory): Set<string> {
  return new Set(regionInventory.amis.flatMap((ami) => ami.snapshotIds));
}

interface RegionIndex {
  readonly parameters: ReadonlyMap<string, readonly ObservedParameter[]>;
  readonly amis: ReadonlyMap<string, readonly ObservedAmi[]>;
  readonly snapshots: ReadonlyMap<string, readonly ObservedSnapshot[]>;
  usedSnapshots(): ReadonlySet<string>;
  amiById(): ReadonlyMap<string, ObservedAmi>;
}

class InventoryIndex {
  private readonly regions = new Map<RegionInventory, RegionIndex>();

  constructor(private readonly ssmPrefix: string) {}

  of(regionInventory: RegionInventory): RegionIndex {
    let index = this.regions.get(regionInventory);
    if (!index) {
      index = indexRegion(regionInventory, this.ssmPrefix);
      this.regions.set(regionInventory, index);
    }
    return index;
  }
}

function indexRegion(regionInventory: RegionInventory, ssmPrefix: string): RegionIndex {
  // `<prefix>/<image>/…` starts with `<prefix>/<name>/` exactly when its segment after `<prefix>/` is `<name>` (a
  // name without `/`); a parameter with no `/` after that segment is under no image.
  const head = `${ssmPrefix}/`;
  const parameters = new Map<string, ObservedParameter[]>();
  for (const parameter of regionInventory.parameters) {
    if (!parameter.name.startsWith(head)) continue;
    const end = parameter.name.indexOf('/', head.length);
    if (end === -1) continue;
    push(parameters, parameter.name.slice(head.length, end), parameter);
  }
  const amis = new Map<string, ObservedAmi[]>();
  for (const ami of regionInventory.amis) {
    const image = ami.tags['gild:image'];
    if (image !== undefined && !ofAnotherPipeline(ami.tags, ssmPrefix)) push(amis, image, ami);
  }
  const snapshots = new Map<string, ObservedSnapshot[]>();
  for (const snapshot of regionInventory.snapshots) {
    const image = snapshot.tags['gild:image'];
    if (image !== undefined && !ofAnotherPipeline(snapshot.tags, ssmPrefix)) push(snapshots, image, snapshot);
  }
  let used: Set<string> | undefined;
  let byId: Map<string, ObservedAmi> | undefined;
  return {
    parameters,
    amis,
    snapshots,
    usedSnapshots: () => (used ??= usedSnapshotIds(regionInventory)),
    amiById: () => (byId ??= firstById(regionInventory.amis)),
  };
}

/** AMI ID → the first AMI with it, as `find` would answer. */
function firstById(amis: readonly ObservedAmi[]): Map<string, ObservedAmi> {
  const byId = new Map<string, ObservedAmi>();
  for (const ami of amis) if (!byId.has(ami.amiId)) byId.set(ami.amiId, ami);
  return byId;
}

function push<T>(groups: Map<string, T[]>, key: string, item: T): void {
  const group = groups.get(key);
  if (group) group.push(item);
  else groups.set(key, [item]);
}
