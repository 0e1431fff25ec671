/**
 * The convergence property (issue 7), checked against the emulator: whatever
 * instant gild was killed at, after the next run
 * - no instance, key pair or security group of gild's is alive;
 * - every gild AMI is named by a parameter of its image, or kept with a reason on it;
 * - every snapshot gild tagged belongs to an AMI that still exists;
 * - in every region `latest` names the newest version, which has its `versions/<v>`, and all regions agree;
 * - no version number is used twice, and no lock is left.
 * Returns the violations in words; an empty list means converged.
 */
import { DescribeImagesCommand, DescribeInstancesCommand, DescribeKeyPairsCommand, DescribeSecurityGroupsCommand, DescribeSnapshotsCommand } from '@aws-sdk/client-ec2';
import semver from 'semver';
import { awsClients, parametersUnder } from './aws-state.ts';

export async function convergenceViolations(endpoint: string, images: Readonly<Record<string, readonly string[]>>, prefix = '/golden'): Promise<string[]> {
  const violations: string[] = [];
  const regions = [...new Set(Object.values(images).flat())];
  const newestByImage = new Map<string, Set<string>>();
  for (const region of regions) {
    const { ec2 } = awsClients(endpoint, region);
    const instances = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'tag-key', Values: ['gild:role'] },
          { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
        ],
      }),
    );
    for (const instance of (instances.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? []))
      violations.push(`${region}: instance ${instance.InstanceId} (${instance.State?.Name}) is still alive`);
    const keyPairs = await ec2.send(new DescribeKeyPairsCommand({}));
    for (const keyPair of keyPairs.KeyPairs ?? [])
      if (keyPair.KeyName?.startsWith('gild_') || keyPair.KeyName?.startsWith('packer_')) violations.push(`${region}: key pair ${keyPair.KeyName} is left`);
    const groups = await ec2.send(new DescribeSecurityGroupsCommand({}));
    for (const group of groups.SecurityGroups ?? []) {
      if ((group.Tags ?? []).some((tag) => tag.Key === 'gild:run-id') || group.GroupName?.startsWith('packer_'))
        violations.push(`${region}: security group ${group.GroupName} (${group.GroupId}) is left`);
    }
    const amis = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag-key', Values: ['gild:image'] }] }))).Images ?? [];
    const snapshots = (await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'tag-key', Values: ['gild:image'] }] }))).Snapshots ?? [];
    const usedSnapshots = new Set(amis.flatMap((ami) => (ami.BlockDeviceMappings ?? []).map((mapping) => mapping.Ebs?.SnapshotId)));
    for (const snapshot of snapshots) if (!usedSnapshots.has(snapshot.SnapshotId)) violations.push(`${region}: snapshot ${snapshot.SnapshotId} belongs to no AMI`);

    for (const [image, imageRegions] of Object.entries(images)) {
      if (!imageRegions.includes(region)) continue;
      const parameters = await parametersUnder(endpoint, region, `${prefix}/${image}`);
      const named = new Set(Object.values(parameters));
      const versions = Object.entries(parameters)
        .filter(([name]) => name.includes('/versions/'))
        .map(([name, amiId]) => [name.split('/versions/')[1]!, amiId] as const);
      if (parameters[`${prefix}/${image}/lock`] !== undefined) violations.push(`${region}: ${image}'s lock is left: ${parameters[`${prefix}/${image}/lock`]}`);
      const amiValues = versions.map(([, amiId]) => amiId);
      if (new Set(amiValues).size !== amiValues.length) violations.push(`${region}: ${image} publishes one AMI under two versions`);
      const newest = semver.rsort(versions.map(([version]) => version))[0];
      if (newest) {
        newestByImage.set(image, new Set([...(newestByImage.get(image) ?? []), newest]));
        const latest = parameters[`${prefix}/${image}/latest`];
        if (latest !== Object.fromEntries(versions)[newest]) violations.push(`${region}: ${image}'s latest is ${latest ?? '(missing)'}, not versions/${newest}`);
      }
      const publishedPerVersion = new Map<string, number>();
      for (const ami of amis.filter((candidate) => (candidate.Tags ?? []).some((tag) => tag.Key === 'gild:image' && tag.Value === image))) {
        const tags = Object.fromEntries((ami.Tags ?? []).map((tag) => [tag.Key!, tag.Value!]));
        if (!named.has(ami.ImageId!) && !tags['gild:keep-reason'])
          violations.push(`${region}: ${image} AMI ${ami.ImageId} (gild:status=${tags['gild:status']}, version ${tags['gild:version']}) is neither published nor kept with a reason`);
        if (named.has(ami.ImageId!)) publishedPerVersion.set(tags['gild:version']!, (publishedPerVersion.get(tags['gild:version']!) ?? 0) + 1);
      }
      for (const [version, count] of publishedPerVersion) if (count > 1) violations.push(`${region}: ${image} ${version} is used by ${count} published AMIs`);
    }
  }
  for (const [image, newest] of newestByImage) if (newest.size > 1) violations.push(`${image}: regions disagree on the newest version (${[...newest].join(', ')})`);
  return violations;
}
