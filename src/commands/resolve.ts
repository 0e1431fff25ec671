/**
 * `gild resolve <image>`: the AMI ID an image resolves to, read from SSM
 * Parameter Store, and `resolveImage`, the same answer for programs.
 *
 * It is the command app teams and deploy scripts call, often once per deploy,
 * so it loads the SSM client and nothing else: no `images/` folder, no
 * definitions, and the pipeline settings only when the prefix is not given
 * (`--prefix` or GILD_SSM_PREFIX skip loading TypeScript altogether).
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { settingsFile } from '../settings/settings-file.ts';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { createSsmClient, getParameter, getParametersByPath } from '../adapters/ssm.ts';
import { describeUnknownRegion, isKnownRegion } from '../definition/aws-regions.ts';
import { imageNamePattern } from '../definition/image-name.ts';
import { catalogue, GildError } from '../errors.ts';
import { imageParameterPath, latestParameterName, versionFromParameterName, versionParameterName } from '../plan/parameter-names.ts';
import type { Io } from './io.ts';

/** Which published AMI `resolveImage` returns: at most one selector; `latest` when none is given. */
type ImageSelector = { readonly version: string } | { readonly range: string } | { readonly channel: string } | { readonly major: number | string } | Record<never, never>;

export interface ResolveRequest {
  readonly image: string;
  readonly region: string;
  /** The SSM prefix images are published under (`ssmPrefix` in the settings); default `/golden`. */
  readonly prefix?: string | undefined;
  /** An SSM client for `region`; one is made (and closed again) from the environment when absent. */
  readonly client?: SSMClient | undefined;
  /** Credentials and endpoint overrides for the client gild makes; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** A published version, e.g. `1.4.2`. */
  readonly version?: string | undefined;
  /** The newest published version satisfying a semver range, e.g. `^2`. */
  readonly range?: string | undefined;
  /** A channel's pointer, `<prefix>/<image>/channels/<name>`. */
  readonly channel?: string | undefined;
  /** A major version's pointer, `<prefix>/<image>/v<major>`. */
  readonly major?: number | string | undefined;
}

export interface ResolvedAmi {
  readonly amiId: string;
  /** The parameter the AMI ID was read from. */
  readonly parameterName: string;
  readonly region: string;
  /** Known when a version or range was asked for. */
  readonly version?: string;
}

const defaultPrefix = '/golden';
const selectorKeys = ['version', 'range', 'channel', 'major'] as const;
const channelNamePattern = /^[A-Za-z0-9_.-]+$/;
const prefixPattern = /^(\/[A-Za-z0-9_.-]+)+$/;

/**
 * Resolves a published image to its AMI ID in one region. Throws a GildError:
 * `usage` for a request that cannot be right, `pipeline` when nothing
 * matching is published.
 */
export async function resolveImage(request: ResolveRequest): Promise<ResolvedAmi> {
  const selector = await checkRequest(request);
  const prefix = request.prefix ?? defaultPrefix;
  const client = request.client ?? createSsmClient(request.region, request.env ?? process.env);
  try {
    if ('range' in selector) return await resolveRange(client, request, prefix, selector.range);
    const parameterName =
      'version' in selector
        ? versionParameterName(prefix, request.image, selector.version)
        : 'channel' in selector
          ? `${imageParameterPath(prefix, request.image)}/channels/${selector.channel}`
          : 'major' in selector
            ? `${imageParameterPath(prefix, request.image)}/v${selector.major}`
            : latestParameterName(prefix, request.image);
    const parameter = await getParameter(client, parameterName);
    if (!parameter) throw catalogue.ENOTPUBLISHED(request.image, parameterName, request.region);
    return { amiId: parameter.value, parameterName, region: request.region, ...('version' in selector ? { version: selector.version } : {}) };
  } finally {
    if (!request.client) client.destroy();
  }
}

/** The newest published version that satisfies the range: one listing of `<prefix>/<image>/versions`. */
async function resolveRange(client: SSMClient, request: ResolveRequest, prefix: string, range: string): Promise<ResolvedAmi> {
  const { default: semver } = await import('semver');
  const versionsPath = `${imageParameterPath(prefix, request.image)}/versions`;
  const parameters = await getParametersByPath(client, versionsPath);
  const byVersion = new Map(parameters.flatMap((parameter) => {
    const version = versionFromParameterName(prefix, request.image, parameter.name);
    return version ? [[version, parameter] as const] : [];
  }));
  const version = semver.maxSatisfying([...byVersion.keys()], range);
  if (!version) throw catalogue.ENOMATCHINGVERSION(request.image, range, versionsPath, request.region, semver.sort([...byVersion.keys()]));
  const parameter = byVersion.get(version)!;
  return { amiId: parameter.value, parameterName: parameter.name, region: request.region, version };
}

/** Every problem with the request at once, as one usage error; or the one selector. */
async function checkRequest(request: ResolveRequest): Promise<ImageSelector> {
  const problems: string[] = [];
  if (!imageNamePattern.test(request.image)) problems.push(`image "${request.image}" is not an image name: names are kebab-case, e.g. "web-base".`);
  if (!isKnownRegion(request.region)) problems.push(`region "${request.region}" ${describeUnknownRegion(request.region)}`);
  if (request.prefix !== undefined && !prefixPattern.test(request.prefix)) problems.push(`prefix "${request.prefix}" is not an SSM path such as "/golden" (no trailing slash).`);
  const given = selectorKeys.filter((key) => request[key] !== undefined);
  if (given.length > 1) problems.push(`${given.map((key) => `--${key}`).join(', ')}: choose one of --version, --range, --channel or --major, not several.`);
  if (request.version !== undefined && !/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(request.version)) problems.push(`version "${request.version}" is not a version such as 1.4.2. Use --range "${request.version}" for a range.`);
  if (request.range !== undefined && !(await import('semver')).default.validRange(request.range)) problems.push(`range "${request.range}" is not a semver range such as ^2, ~1.4 or >=1.2.0 <2.`);
  if (request.channel !== undefined && !channelNamePattern.test(request.channel)) problems.push(`channel "${request.channel}" is not a channel name: letters, digits, ".", "_" and "-".`);
  if (request.major !== undefined && !/^\d+$/.test(String(request.major))) problems.push(`major "${request.major}" is not a major version number such as 2.`);
  if (problems.length === 1) throw catalogue.EUSAGE(`resolve: ${problems[0]}`);
  if (problems.length > 1) throw new GildError('EUSAGE', 'usage', `resolve: ${problems.length} problems with the arguments. Fix them and try again.`, problems);
  const key = given[0];
  return key ? ({ [key]: request[key] } as ImageSelector) : {};
}

export interface ResolveOptions {
  readonly image: string;
  readonly region?: string | undefined;
  readonly prefix?: string | undefined;
  readonly version?: string | undefined;
  readonly range?: string | undefined;
  readonly channel?: string | undefined;
  readonly major?: string | undefined;
}

export async function resolve(options: ResolveOptions, io: Io): Promise<number> {
  const region = options.region ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION;
  if (!region) throw catalogue.EUSAGE('resolve: no region. Pass --region <region> (e.g. --region eu-west-1) or set AWS_REGION.');
  const prefix = options.prefix ?? io.env.GILD_SSM_PREFIX ?? (await prefixFromSettings(io.cwd));
  const resolved = await resolveImage({ ...options, region, prefix, env: io.env });
  io.stdout(`${resolved.amiId}\n`);
  return 0;
}

/**
 * The prefix from `pipeline/settings.ts` when the project has one. Loading it
 * means loading TypeScript, so it is imported only here.
 */
async function prefixFromSettings(cwd: string): Promise<string | undefined> {
  try {
    await access(path.join(cwd, settingsFile));
  } catch {
    return undefined;
  }
  const { loadSettings } = await import('../settings/load-settings.ts');
  return (await loadSettings(cwd)).ssmPrefix;
}
