/**
 * Makes the emulator able to run the organisation's images unchanged:
 * - moto ships the Amazon Linux public parameters but not, for example, the
 *   Windows or Ubuntu ones, and refuses to create names under /aws/. A base
 *   that moto cannot resolve gets a stand-in AMI of the same platform and
 *   architecture, passed as a base override and said in the log.
 * - RunInstances with an instance profile needs the profile to exist in moto's IAM.
 */
import type { AwsClients } from '../adapters/aws-clients.ts';
import { describeImages } from '../adapters/ec2.ts';
import { getParameter } from '../adapters/ssm.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { Logger } from '../logger.ts';

const standInParameters = {
  x86_64: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
  arm64: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64',
} as const;

async function baseResolves(clients: AwsClients, image: ResolvedImage): Promise<boolean> {
  const { base, buildRegion } = image;
  if (base.kind === 'ssm') return (await getParameter(clients.ssm(buildRegion), base.parameter)) !== undefined;
  if (base.kind === 'filter') {
    const found = await describeImages(clients.ec2(buildRegion), { owners: base.owners, filters: [{ Name: 'name', Values: [base.name] }, { Name: 'architecture', Values: [image.architecture] }] });
    return found.length > 0;
  }
  return true;
}

async function standIn(clients: AwsClients, image: ResolvedImage): Promise<{ amiId: string; name: string } | undefined> {
  const ec2 = clients.ec2(image.buildRegion);
  if (image.platform === 'windows') {
    const [windows] = await describeImages(ec2, { filters: [{ Name: 'platform', Values: ['windows'] }, { Name: 'architecture', Values: [image.architecture] }] });
    return windows ? { amiId: windows.amiId, name: windows.name } : undefined;
  }
  const parameter = await getParameter(clients.ssm(image.buildRegion), standInParameters[image.architecture]);
  return parameter ? { amiId: parameter.value, name: standInParameters[image.architecture] } : undefined;
}

/** Creates an instance profile in moto's IAM (moto does not check signatures). */
async function createInstanceProfile(endpoint: string, name: string): Promise<void> {
  await fetch(endpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=emulator',
    },
    body: new URLSearchParams({ Action: 'CreateInstanceProfile', InstanceProfileName: name, Version: '2010-05-08' }),
  });
}

export interface EmulatorPreparation {
  /** Stand-ins for bases moto cannot resolve at all. */
  readonly baseOverrides: Record<string, string>;
  /** Stand-in Packer sources for images built on other gild images. */
  readonly standInSources: Record<string, string>;
}

export async function prepareEmulator(endpoint: string, clients: AwsClients, images: readonly ResolvedImage[], logger: Logger): Promise<EmulatorPreparation> {
  const overrides: Record<string, string> = {};
  const standInSources: Record<string, string> = {};
  for (const image of images) {
    if (image.base.kind === 'image') {
      const substitute = await standIn(clients, image);
      if (substitute) standInSources[image.name] = substitute.amiId;
      continue;
    }
    if (await baseResolves(clients, image)) continue;
    const substitute = await standIn(clients, image);
    if (!substitute) continue;
    overrides[image.name] = substitute.amiId;
    const wanted = image.base.kind === 'ssm' ? image.base.parameter : image.base.kind === 'filter' ? `${image.base.owners.join(',')}/${image.base.name}` : image.base.kind;
    logger.info(`emulator: ${image.name}'s base ${wanted} does not exist in moto; standing in ${substitute.amiId} (${substitute.name})`);
  }
  const profiles = new Set(images.flatMap((image) => [image.smoke.instanceProfile, image.buildInfrastructure.instanceProfile].filter((name): name is string => !!name && !name.startsWith('arn:'))));
  for (const profile of profiles) await createInstanceProfile(endpoint, profile);
  return { baseOverrides: overrides, standInSources };
}
