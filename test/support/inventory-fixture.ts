/**
 * Inventories for the planner's tests: an empty world plus only what a test is
 * about, in the shapes `observeInventory` returns.
 */
import type { Inventory, LeaseState, ObservedAmi, ObservedBase, ObservedInstance, ObservedParameter, ObservedTemporaryResource, RegionInventory } from '../../src/observe/inventory.ts';

export const ssmPrefix = '/golden';

export function emptyRegion(region: string, overrides: Partial<RegionInventory> = {}): RegionInventory {
  return { region, parameters: [], amis: [], instances: [], temporaryResources: [], snapshots: [], references: {}, ...overrides };
}

export function inventoryFixture(
  overrides: {
    observedAt?: string;
    regions?: Record<string, Partial<RegionInventory>>;
    bases?: Record<string, ObservedBase>;
    leases?: Record<string, LeaseState>;
  } = {},
): Inventory {
  const regions = overrides.regions ?? { 'us-east-1': {} };
  return {
    observedAt: overrides.observedAt ?? '2026-11-29T12:00:00.000Z',
    ssmPrefix,
    regions: Object.fromEntries(Object.entries(regions).map(([region, regionInventory]) => [region, emptyRegion(region, regionInventory)])),
    bases: overrides.bases ?? {},
    leases: overrides.leases ?? {},
  };
}

/**
 * An empty world for a base built from Amazon Linux in us-east-1 and `copyRegions`, and an app built on it: the
 * two-level plan the region copies' wiring is checked on.
 */
export function baseAndAppInventory(copyRegions: readonly string[]): Inventory {
  return inventoryFixture({
    regions: Object.fromEntries(['us-east-1', ...copyRegions].map((region) => [region, {}])),
    bases: { base: { kind: 'resolved', amiId: 'ami-al2023', source: 'ssm:/aws/service/al2023' }, app: { kind: 'image', image: 'base', range: undefined } },
    leases: {},
  });
}

export function parameter(name: string, value: string): ObservedParameter {
  return { name, value, version: 1, lastModified: undefined };
}

export function ami(amiId: string, tags: Record<string, string>, overrides: Partial<ObservedAmi> = {}): ObservedAmi {
  return {
    amiId,
    name: `${tags['gild:image'] ?? 'ami'}-${amiId}`,
    state: 'available',
    createdAt: '2026-11-01T00:00:00.000Z',
    deprecationTime: undefined,
    snapshotIds: [`snap-${amiId.slice(4)}`],
    tags,
    ...overrides,
  };
}

export function instance(instanceId: string, launchedAt: string, tags: Record<string, string>, state = 'running'): ObservedInstance {
  return { instanceId, state, launchedAt, imageId: 'ami-1e749f67', tags };
}

export function temporaryResource(kind: ObservedTemporaryResource['kind'], id: string, name: string, runId: string | undefined, createdAt?: string): ObservedTemporaryResource {
  return { kind, id, name, runId, image: 'web', createdAt };
}
