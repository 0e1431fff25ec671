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
import { getParameter, getParameters } from '../adapters/ssm.ts';
import { stepLabelHeaders } from '../adapters/aws-client-config.ts';
import { runOutsideThePlan } from '../step-scope.ts';
import { postText } from './post-text.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { Logger } from '../logger.ts';

const standInParameters = {
  x86_64: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
  arm64: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64',
} as const;

/**
 * Which images' bases moto can resolve. Read once per run, not once per image: the bases' SSM parameters ten
 * names a call per region, and each distinct filter once.
 */
async function resolvableBases(clients: AwsClients, images: readonly ResolvedImage[]): Promise<Set<string>> {
  const parameterNames = new Map<string, Set<string>>();
  for (const image of images) if (image.base.kind === 'ssm') parameterNames.set(image.buildRegion, (parameterNames.get(image.buildRegion) ?? new Set()).add(image.base.parameter));
  const found = new Set<string>();
  await Promise.all(
    [...parameterNames].map(async ([region, names]) => {
      for (const parameter of await getParameters(clients.ssm(region), [...names])) found.add(`${region} ${parameter.name}`);
    }),
  );
  const filters = memoise(
    (image: ResolvedImage & { base: { kind: 'filter' } }) => `${image.buildRegion} ${image.architecture} ${image.base.owners.join(',')} ${image.base.name}`,
    async (image) => {
      const matches = await describeImages(clients.ec2(image.buildRegion), {
        owners: image.base.owners,
        filters: [
          { Name: 'name', Values: [image.base.name] },
          { Name: 'architecture', Values: [image.architecture] },
        ],
      });
      return matches.length > 0;
    },
  );
  const resolvable = new Set<string>();
  await Promise.all(
    images.map(async (image) => {
      const { base } = image;
      const resolves = base.kind === 'ssm' ? found.has(`${image.buildRegion} ${base.parameter}`) : base.kind === 'filter' ? await filters({ ...image, base }) : true;
      if (resolves) resolvable.add(image.name);
    }),
  );
  return resolvable;
}

/** One call per key, however many images share it. */
function memoise<Input, Output>(keyOf: (input: Input) => string, compute: (input: Input) => Promise<Output>): (input: Input) => Promise<Output> {
  const answers = new Map<string, Promise<Output>>();
  return (input) => {
    const key = keyOf(input);
    let answer = answers.get(key);
    if (!answer) answers.set(key, (answer = compute(input)));
    return answer;
  };
}

/** A stand-in of the same platform and architecture, looked up once per build region, platform and architecture. */
function standInFinder(clients: AwsClients): (image: ResolvedImage) => Promise<{ amiId: string; name: string } | undefined> {
  return memoise(
    (image) => `${image.buildRegion} ${image.platform === 'windows' ? 'windows' : 'linux'} ${image.architecture}`,
    async (image) => {
      const ec2 = clients.ec2(image.buildRegion);
      if (image.platform === 'windows') {
        const [windows] = await describeImages(ec2, {
          filters: [
            { Name: 'platform', Values: ['windows'] },
            { Name: 'architecture', Values: [image.architecture] },
          ],
        });
        return windows ? { amiId: windows.amiId, name: windows.name } : undefined;
      }
      const parameter = await getParameter(clients.ssm(image.buildRegion), standInParameters[image.architecture]);
      return parameter ? { amiId: parameter.value, name: standInParameters[image.architecture] } : undefined;
    },
  );
}

/** Creates an instance profile in moto's IAM (moto does not check signatures). */
async function createInstanceProfile(endpoint: string, name: string): Promise<void> {
  await runOutsideThePlan('emulator-setup', () => sendCreateInstanceProfile(endpoint, name));
}

async function sendCreateInstanceProfile(endpoint: string, name: string): Promise<void> {
  const body = new URLSearchParams({ Action: 'CreateInstanceProfile', InstanceProfileName: name, Version: '2010-05-08' }).toString();
  await postText(endpoint, body, undefined, {
    ...stepLabelHeaders(),
    'Content-Type': 'application/x-www-form-urlencoded',
    Authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=emulator',
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
  const standIn = standInFinder(clients);
  const profiles = new Set(images.flatMap((image) => [image.smoke.instanceProfile, image.buildInfrastructure.instanceProfile].filter((name): name is string => !!name && !name.startsWith('arn:'))));
  // NOTE: what does not depend on which bases moto resolves is asked at the same time, not after: the profiles, and
  // the stand-ins of images built on other gild images (which always need one). This sits before the run's first step.
  const [resolvable] = await Promise.all([
    resolvableBases(
      clients,
      images.filter((image) => image.base.kind !== 'image'),
    ),
    Promise.all(images.filter((image) => image.base.kind === 'image').map((image) => standIn(image))),
    Promise.all([...profiles].map((profile) => createInstanceProfile(endpoint, profile))),
  ]);
  // Images are prepared together, but logged and recorded in definition order.
  const substitutes = await Promise.all(images.map((image) => (image.base.kind === 'image' || !resolvable.has(image.name) ? standIn(image) : undefined)));
  for (const [index, image] of images.entries()) {
    const substitute = substitutes[index];
    if (!substitute) continue;
    if (image.base.kind === 'image') {
      standInSources[image.name] = substitute.amiId;
      continue;
    }
    overrides[image.name] = substitute.amiId;
    const wanted = image.base.kind === 'ssm' ? image.base.parameter : image.base.kind === 'filter' ? `${image.base.owners.join(',')}/${image.base.name}` : image.base.kind;
    logger.info(`emulator: ${image.name}'s base ${wanted} does not exist in moto; standing in ${substitute.amiId} (${substitute.name})`);
  }
  return { baseOverrides: overrides, standInSources };
}
