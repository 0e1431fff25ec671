/**
 * Who may launch an image's AMIs and create volumes from their snapshots, as
 * the definition says, and the change that gets an AMI or snapshot there from
 * what it grants now. Pure, and shared by the `share` step (which applies it
 * after the smoke test) and `gild verify` (which reports and repairs drift),
 * so that the two can never disagree on what "shared as defined" means.
 */
import type { SharingPermissions } from '../adapters/ec2.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';

export type VolumePermissions = Pick<SharingPermissions, 'accounts' | 'groups'>;

export interface SharingChange<P> {
  readonly add: P;
  readonly remove: P;
}

export const noSharing: SharingPermissions = { accounts: [], groups: [], organizationArns: [], organizationalUnitArns: [] };

export function expectedLaunchPermissions(image: ResolvedImage): SharingPermissions {
  const permissions = image.launchPermissions;
  if (permissions.kind === 'public') return { ...noSharing, groups: ['all'] };
  if (permissions.kind === 'explicit')
    return { accounts: permissions.accounts, groups: [], organizationArns: permissions.organizationArns, organizationalUnitArns: permissions.organizationalUnitArns };
  return noSharing;
}

/** Snapshots take accounts and `all` only (no organisations): an account that may launch the AMI may also read its disks. */
export function expectedVolumePermissions(image: ResolvedImage): VolumePermissions {
  const permissions = image.launchPermissions;
  if (permissions.kind === 'public') return { accounts: [], groups: ['all'] };
  if (permissions.kind === 'explicit') return { accounts: permissions.accounts, groups: [] };
  return { accounts: [], groups: [] };
}

/** What `from` grants that `to` does not. */
function missingFrom(from: SharingPermissions, to: SharingPermissions): SharingPermissions {
  return {
    accounts: from.accounts.filter((account) => !to.accounts.includes(account)),
    groups: from.groups.filter((group) => !to.groups.includes(group)),
    organizationArns: from.organizationArns.filter((arn) => !to.organizationArns.includes(arn)),
    organizationalUnitArns: from.organizationalUnitArns.filter((arn) => !to.organizationalUnitArns.includes(arn)),
  };
}

/** From what an AMI grants now to exactly `expected`: add what is missing, remove what is extra. */
export function launchSharingChange(expected: SharingPermissions, current: SharingPermissions): SharingChange<SharingPermissions> {
  return { add: missingFrom(expected, current), remove: missingFrom(current, expected) };
}

export function volumeSharingChange(expected: VolumePermissions, current: VolumePermissions): SharingChange<VolumePermissions> {
  const change = launchSharingChange({ ...noSharing, ...expected }, { ...noSharing, ...current });
  return { add: { accounts: change.add.accounts, groups: change.add.groups }, remove: { accounts: change.remove.accounts, groups: change.remove.groups } };
}

export function isNoChange(change: SharingChange<Partial<SharingPermissions>>): boolean {
  const size = (permissions: Partial<SharingPermissions>) => Object.values(permissions).reduce((total, list) => total + (list?.length ?? 0), 0);
  return size(change.add) + size(change.remove) === 0;
}

/** `account 1111…, organisation arn:…, everyone (public)`, for people. */
export function describeGrantees(permissions: Partial<SharingPermissions>): string[] {
  return [
    ...(permissions.groups ?? []).map((group) => (group === 'all' ? 'everyone (public)' : `group ${group}`)),
    ...(permissions.accounts ?? []).map((account) => `account ${account}`),
    ...(permissions.organizationArns ?? []).map((arn) => `organisation ${arn}`),
    ...(permissions.organizationalUnitArns ?? []).map((arn) => `OU ${arn}`),
  ];
}
