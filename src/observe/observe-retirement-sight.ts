/**
 * What retirement can see of an AMI beyond who launches it, asked only for the AMIs a plan would remove: whom it is
 * shared with (their use is invisible to this account, so the plan says so, and `retention.keepShared` may hold it),
 * and which other AMIs of this account its snapshots back (such a snapshot is left: deleting it would fail, or break
 * the other AMI).
 */
import { describeImagesUsingSnapshots, describeLaunchPermissions, type SharingPermissions } from '../adapters/ec2.ts';
import type { Context } from '../context.ts';
import type { Inventory, RegionInventory } from './inventory.ts';

export type RetirementSight = Pick<RegionInventory, 'sharing' | 'snapshotUsers'>;

export async function observeRetirementSight(context: Context, inventory: Inventory, candidates: Readonly<Record<string, readonly string[]>>): Promise<Record<string, RetirementSight>> {
  const sight: Record<string, RetirementSight> = {};
  await Promise.all(
    Object.entries(candidates).map(async ([region, amiIds]) => {
      if (amiIds.length === 0) return;
      const ec2 = context.clients.ec2(region);
      const unique = [...new Set(amiIds)];
      const snapshotsOf = new Map((inventory.regions[region]?.amis ?? []).map((ami) => [ami.amiId, ami.snapshotIds]));
      const candidateSnapshots = new Set(unique.flatMap((amiId) => snapshotsOf.get(amiId) ?? []));
      const [permissions, users] = await Promise.all([
        Promise.all(unique.map(async (amiId) => [amiId, await describeLaunchPermissions(ec2, amiId)] as const)),
        // NOTE: any AMI this account owns, gild's or not: a team may have registered one from gild's snapshot.
        describeImagesUsingSnapshots(ec2, [...candidateSnapshots], { snapshotFilter: context.target.snapshotImageFilter }),
      ]);
      const sharing: Record<string, string[]> = {};
      for (const [amiId, granted] of permissions) {
        const grantees = describeGrantees(granted);
        if (grantees.length > 0) sharing[amiId] = grantees;
      }
      const snapshotUsers: Record<string, string[]> = {};
      for (const ami of users) for (const snapshotId of ami.snapshotIds) if (candidateSnapshots.has(snapshotId)) (snapshotUsers[snapshotId] ??= []).push(ami.amiId);
      sight[region] = { sharing, snapshotUsers };
    }),
  );
  return sight;
}

/** Adds what retirement saw to an inventory (a new value; the inventory itself stays as observed). */
export function withRetirementSight(inventory: Inventory, sight: Readonly<Record<string, RetirementSight>>): Inventory {
  return {
    ...inventory,
    regions: Object.fromEntries(
      Object.entries(inventory.regions).map(([region, regionInventory]) => [
        region,
        { ...regionInventory, sharing: { ...regionInventory.sharing, ...sight[region]?.sharing }, snapshotUsers: { ...regionInventory.snapshotUsers, ...sight[region]?.snapshotUsers } },
      ]),
    ),
  };
}

function describeGrantees(granted: SharingPermissions): string[] {
  return [
    ...granted.accounts.map((account) => `account ${account}`),
    ...granted.groups.map((group) => (group === 'all' ? 'everyone (public)' : `group ${group}`)),
    ...granted.organizationArns.map((arn) => `organization ${arn}`),
    ...granted.organizationalUnitArns.map((arn) => `organizational unit ${arn}`),
  ];
}
