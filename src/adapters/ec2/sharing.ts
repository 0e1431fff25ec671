/** Who may launch an AMI or create volumes from its snapshots: read, granted and withdrawn. */
import type { EC2Client } from '@aws-sdk/client-ec2';
import { DescribeImageAttributeCommand, DescribeSnapshotAttributeCommand, ModifyImageAttributeCommand, ModifySnapshotAttributeCommand } from '@aws-sdk/client-ec2';
import { awsCall } from '../aws-call.ts';
import { describeImages } from './images.ts';

/** Who may launch an AMI, or create volumes from a snapshot: accounts, groups (`all` = public), organisations and OUs. */
export interface SharingPermissions {
  readonly accounts: readonly string[];
  readonly groups: readonly string[];
  readonly organizationArns: readonly string[];
  readonly organizationalUnitArns: readonly string[];
}

export type VolumePermissions = Pick<SharingPermissions, 'accounts' | 'groups'>;

export const noSharing: SharingPermissions = { accounts: [], groups: [], organizationArns: [], organizationalUnitArns: [] };
const noVolumeSharing: VolumePermissions = { accounts: [], groups: [] };

export async function describeLaunchPermissions(ec2: EC2Client, amiId: string): Promise<SharingPermissions> {
  return awsCall('describe launch permissions of', amiId, async () => {
    const output = await ec2.send(new DescribeImageAttributeCommand({ ImageId: amiId, Attribute: 'launchPermission' }));
    const permissions = output.LaunchPermissions ?? [];
    return {
      accounts: permissions.flatMap((permission) => (permission.UserId ? [permission.UserId] : [])),
      groups: permissions.flatMap((permission) => (permission.Group ? [permission.Group] : [])),
      organizationArns: permissions.flatMap((permission) => (permission.OrganizationArn ? [permission.OrganizationArn] : [])),
      organizationalUnitArns: permissions.flatMap((permission) => (permission.OrganizationalUnitArn ? [permission.OrganizationalUnitArn] : [])),
    };
  });
}

/** Adding what is already there and removing what is not are both no-ops in EC2, so a retry is harmless. */
export async function modifyLaunchPermissions(ec2: EC2Client, amiId: string, change: { readonly add: SharingPermissions; readonly remove: SharingPermissions }): Promise<void> {
  const entries = (permissions: SharingPermissions) => [
    ...permissions.accounts.map((UserId) => ({ UserId })),
    ...permissions.groups.map((Group) => ({ Group: Group as 'all' })),
    ...permissions.organizationArns.map((OrganizationArn) => ({ OrganizationArn })),
    ...permissions.organizationalUnitArns.map((OrganizationalUnitArn) => ({ OrganizationalUnitArn })),
  ];
  const [add, remove] = [entries(change.add), entries(change.remove)];
  if (add.length + remove.length === 0) return;
  await awsCall('change launch permissions of', amiId, () =>
    ec2.send(new ModifyImageAttributeCommand({ ImageId: amiId, LaunchPermission: { ...(add.length > 0 ? { Add: add } : {}), ...(remove.length > 0 ? { Remove: remove } : {}) } })),
  );
}

export async function describeCreateVolumePermissions(ec2: EC2Client, snapshotId: string): Promise<VolumePermissions> {
  return awsCall('describe create-volume permissions of', snapshotId, async () => {
    const output = await ec2.send(new DescribeSnapshotAttributeCommand({ SnapshotId: snapshotId, Attribute: 'createVolumePermission' }));
    const permissions = output.CreateVolumePermissions ?? [];
    return {
      accounts: permissions.flatMap((permission) => (permission.UserId ? [permission.UserId] : [])),
      groups: permissions.flatMap((permission) => (permission.Group ? [permission.Group] : [])),
    };
  });
}

export async function modifyCreateVolumePermissions(ec2: EC2Client, snapshotId: string, change: { readonly add: VolumePermissions; readonly remove: VolumePermissions }): Promise<void> {
  // NOTE: the OperationType form (which AWS accepts too) because moto ignores the CreateVolumePermission structure.
  for (const [operation, permissions] of [
    ['remove', change.remove],
    ['add', change.add],
  ] as const) {
    if (permissions.accounts.length + permissions.groups.length === 0) continue;
    await awsCall(`${operation === 'add' ? 'grant' : 'revoke'} create-volume permissions of`, snapshotId, () =>
      ec2.send(
        new ModifySnapshotAttributeCommand({
          SnapshotId: snapshotId,
          Attribute: 'createVolumePermission',
          OperationType: operation,
          ...(permissions.accounts.length > 0 ? { UserIds: [...permissions.accounts] } : {}),
          ...(permissions.groups.length > 0 ? { GroupNames: [...permissions.groups] } : {}),
        }),
      ),
    );
  }
}

/** Shares an AMI and its snapshots with one account (what a copy into that account needs while it copies). */
export async function shareWithAccount(ec2: EC2Client, amiId: string, account: string, snapshotIds: readonly string[]): Promise<void> {
  await modifyLaunchPermissions(ec2, amiId, { add: { ...noSharing, accounts: [account] }, remove: noSharing });
  for (const snapshotId of snapshotIds) await modifyCreateVolumePermissions(ec2, snapshotId, { add: { accounts: [account], groups: [] }, remove: noVolumeSharing });
}

/**
 * Withdraws the share of an AMI and its snapshots from an account (the temporary share a copy into it needed).
 * Removing a permission that is not there changes nothing, so this is safe to repeat.
 */
export async function withdrawShareFromAccount(ec2: EC2Client, amiId: string, account: string, snapshotIds?: readonly string[]): Promise<void> {
  const snapshots = snapshotIds ?? (await describeImages(ec2, { imageIds: [amiId] }))[0]?.snapshotIds ?? [];
  await modifyLaunchPermissions(ec2, amiId, { add: noSharing, remove: { ...noSharing, accounts: [account] } });
  for (const snapshotId of snapshots) await modifyCreateVolumePermissions(ec2, snapshotId, { add: noVolumeSharing, remove: { accounts: [account], groups: [] } });
}
