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
import { createSsmClient, getParameters, getParametersByPath, type ParameterValue, type SSMClient } from '../adapters/ssm.ts';
import { describeUnknownRegion, isKnownRegion } from '../definition/aws-regions.ts';
import { imageNamePattern } from '../definition/image-name.ts';
import { catalogue, GildError } from '../errors.ts';
import { imageParameterPath, latestParameterName, statusParameterName, statusPath, versionFromParameterName, versionParameterName } from '../plan/parameter-names.ts';
import { parseVersionStatus, type VersionStatus } from '../plan/version-status.ts';
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
  /** Return a revoked version (marked `revoked: true`) instead of refusing it with EREVOKED. */
  readonly allowRevoked?: boolean | undefined;
}

export interface ResolvedAmi {
  readonly amiId: string;
  /** The parameter the AMI ID was read from. */
  readonly parameterName: string;
  readonly region: string;
  /** The version the AMI is (its `versions/<v>`); undefined only for a pointer naming an AMI no `versions/<v>` names. */
  readonly version: string | undefined;
  /** Revoked by `gild revoke`: returned only with `allowRevoked`. */
  readonly revoked: boolean;
  /** Why, who, when and what to use instead, when revoked. */
  readonly revocation?: { readonly reason: string; readonly at: string; readonly by: string; readonly replacement?: string };
  /** The AMI is deprecated now (its deprecation time has passed). */
  readonly deprecated: boolean;
  /** When it is (or was) deprecated, if gild deprecated it or scheduled it. */
  readonly deprecationTime: string | undefined;
}

const defaultPrefix = '/golden';
const selectorKeys = ['version', 'range', 'channel', 'major'] as const;
const channelNamePattern = /^[A-Za-z0-9_.-]+$/;
const prefixPattern = /^(\/[A-Za-z0-9_.-]+)+$/;
/** An AMI ID as AWS makes them: `ami-` and 8 (older) or 17 lowercase hex digits. */
const amiIdPattern = /^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/**
 * Resolves a published image to its AMI ID in one region, from Parameter Store alone. Throws a GildError: `usage`
 * for a request that cannot be right, `pipeline` when nothing matching is published, when the parameter holds
 * something that is not an AMI ID (EBADPARAMETER), or when the version was revoked (EREVOKED, unless
 * `allowRevoked`).
 */
export async function resolveImage(request: ResolveRequest): Promise<ResolvedAmi> {
  const selector = await checkRequest(request);
  const prefix = request.prefix ?? defaultPrefix;
  const client = request.client ?? createSsmClient(request.region, request.env ?? process.env);
  const path = imageParameterPath(prefix, request.image);
  try {
    if ('version' in selector) {
      // One call: the version's parameter and its status.
      const found = await getParameters(client, [versionParameterName(prefix, request.image, selector.version), statusParameterName(prefix, request.image, selector.version)]);
      const parameter = found.find((candidate) => candidate.name === versionParameterName(prefix, request.image, selector.version));
      if (!parameter) throw catalogue.ENOTPUBLISHED(request.image, versionParameterName(prefix, request.image, selector.version), request.region);
      const status = found.find((candidate) => candidate.name === statusParameterName(prefix, request.image, selector.version));
      return answer(request, parameter, selector.version, parseVersionStatus(status?.value));
    }
    // One listing of the image's path: its pointers, versions and statuses.
    const listed = await getParametersByPath(client, path);
    const versions = new Map<string, ParameterValue>();
    const statuses = new Map<string, VersionStatus>();
    for (const parameter of listed) {
      const version = versionFromParameterName(prefix, request.image, parameter.name);
      if (version !== undefined) versions.set(version, parameter);
      else if (parameter.name.startsWith(statusPath(prefix, request.image))) statuses.set(parameter.name.slice(statusPath(prefix, request.image).length), parseVersionStatus(parameter.value));
    }
    const statusOf = (version: string | undefined) => (version === undefined ? {} : (statuses.get(version) ?? {}));
    if ('range' in selector) {
      const { default: semver } = await import('semver');
      const candidates = [...versions.keys()].filter((version) => request.allowRevoked || statusOf(version).revoked === undefined);
      const version = semver.maxSatisfying(candidates, selector.range);
      if (!version) {
        const revoked = [...versions.keys()].filter((candidate) => statusOf(candidate).revoked !== undefined && semver.satisfies(candidate, selector.range));
        const newestRevoked = semver.rsort(revoked)[0];
        if (newestRevoked) throw revokedError(request, versions.get(newestRevoked)!, newestRevoked, statusOf(newestRevoked).revoked!);
        throw catalogue.ENOMATCHINGVERSION(request.image, selector.range, `${path}/versions`, request.region, semver.sort([...versions.keys()].filter((candidate) => semver.valid(candidate))));
      }
      return answer(request, versions.get(version)!, version, statusOf(version));
    }
    const parameterName = 'channel' in selector ? `${path}/channels/${selector.channel}` : 'major' in selector ? `${path}/v${selector.major}` : latestParameterName(prefix, request.image);
    const parameter = listed.find((candidate) => candidate.name === parameterName);
    if (!parameter) throw catalogue.ENOTPUBLISHED(request.image, parameterName, request.region);
    // The pointer's version is the versions/<v> naming the same AMI in this region.
    const version = [...versions.entries()].find(([, candidate]) => candidate.value === parameter.value)?.[0];
    return answer(request, parameter, version, statusOf(version));
  } finally {
    if (!request.client) client.destroy();
  }
}

/** The parameter's value, checked, with what a consumer must know; refused when revoked unless asked for. */
function answer(request: ResolveRequest, parameter: ParameterValue, version: string | undefined, status: VersionStatus): ResolvedAmi {
  if (parameter.dataType !== 'aws:ec2:image') throw catalogue.EBADPARAMETER(parameter.name, request.region, `its data type is ${parameter.dataType ?? '(not given)'}, not aws:ec2:image`);
  if (!amiIdPattern.test(parameter.value))
    throw catalogue.EBADPARAMETER(parameter.name, request.region, `it holds ${JSON.stringify(parameter.value.slice(0, 80))}, which is not an AMI ID (ami- and 8 or 17 hex digits)`);
  if (status.revoked && !request.allowRevoked) throw revokedError(request, parameter, version, status.revoked);
  const deprecationTime = status.deprecationTime ?? (status.revoked ? status.revoked.at : undefined);
  const deprecatedAt = deprecationTime === undefined ? Number.NaN : Date.parse(deprecationTime);
  return {
    amiId: parameter.value,
    parameterName: parameter.name,
    region: request.region,
    version,
    revoked: status.revoked !== undefined,
    ...(status.revoked ? { revocation: status.revoked } : {}),
    deprecated: !Number.isNaN(deprecatedAt) && deprecatedAt <= Date.now(),
    deprecationTime,
  };
}

function revokedError(request: ResolveRequest, parameter: ParameterValue, version: string | undefined, revoked: NonNullable<VersionStatus['revoked']>) {
  return catalogue.EREVOKED({ image: request.image, version: version ?? '?', region: request.region, parameterName: parameter.name, amiId: parameter.value, ...revoked });
}

const typeName = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value);

/** Every problem with the request at once, as one usage error; or the one selector. Anything may come in from JavaScript. */
async function checkRequest(request: unknown): Promise<ImageSelector> {
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw catalogue.EUSAGE(`resolveImage: expected a request such as { image: 'web', region: 'eu-west-1' }, got ${typeName(request)}.`);
  }
  const given = request as Record<string, unknown>;
  const problems: string[] = [];
  const optionalText = ['prefix', 'version', 'range', 'channel'] as const;
  for (const key of ['image', 'region'] as const)
    if (typeof given[key] !== 'string') problems.push(`${key} must be a string such as ${key === 'image' ? '"web"' : '"eu-west-1"'}, not ${typeName(given[key])}.`);
  for (const key of optionalText) if (given[key] !== undefined && typeof given[key] !== 'string') problems.push(`${key} must be a string, not ${typeName(given[key])}.`);
  if (given.major !== undefined && typeof given.major !== 'string' && typeof given.major !== 'number') problems.push(`major must be a number such as 2, not ${typeName(given.major)}.`);
  if (given.allowRevoked !== undefined && typeof given.allowRevoked !== 'boolean') problems.push(`allowRevoked must be true or false, not ${typeName(given.allowRevoked)}.`);
  if (given.env !== undefined && (given.env === null || typeof given.env !== 'object')) problems.push(`env must be an object of environment variables, not ${typeName(given.env)}.`);
  if (given.client !== undefined && (given.client === null || typeof (given.client as { send?: unknown }).send !== 'function'))
    problems.push(`client must be an SSMClient, not ${typeName(given.client)}.`);
  if (problems.length === 0) {
    const typed = given as unknown as ResolveRequest;
    if (!imageNamePattern.test(typed.image)) problems.push(`image "${typed.image}" is not an image name: names are kebab-case, e.g. "web-base".`);
    if (!isKnownRegion(typed.region)) problems.push(`region "${typed.region}" ${describeUnknownRegion(typed.region)}`);
    if (typed.prefix !== undefined && !prefixPattern.test(typed.prefix)) problems.push(`prefix "${typed.prefix}" is not an SSM path such as "/golden" (no trailing slash).`);
    const selectors = selectorKeys.filter((key) => typed[key] !== undefined);
    if (selectors.length > 1) problems.push(`${selectors.map((key) => `--${key}`).join(', ')}: choose one of --version, --range, --channel or --major, not several.`);
    if (typed.version !== undefined && !/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(typed.version))
      problems.push(`version "${typed.version}" is not a version such as 1.4.2. Use --range "${typed.version}" for a range.`);
    if (typed.range !== undefined && !(await import('semver')).default.validRange(typed.range)) problems.push(`range "${typed.range}" is not a semver range such as ^2, ~1.4 or >=1.2.0 <2.`);
    if (typed.channel !== undefined && !channelNamePattern.test(typed.channel)) problems.push(`channel "${typed.channel}" is not a channel name: letters, digits, ".", "_" and "-".`);
    if (typed.major !== undefined && !/^\d+$/.test(String(typed.major))) problems.push(`major "${typed.major}" is not a major version number such as 2.`);
    if (problems.length === 0) {
      const key = selectors[0];
      return key ? ({ [key]: typed[key] } as ImageSelector) : {};
    }
  }
  if (problems.length === 1) throw catalogue.EUSAGE(`resolve: ${problems[0]}`);
  throw new GildError('EUSAGE', 'usage', `resolve: ${problems.length} problems with the arguments. Fix them and try again.`, problems);
}

export interface ResolveOptions {
  readonly image: string;
  readonly region?: string | undefined;
  readonly prefix?: string | undefined;
  readonly version?: string | undefined;
  readonly range?: string | undefined;
  readonly channel?: string | undefined;
  readonly major?: string | undefined;
  readonly allowRevoked?: boolean | undefined;
  readonly json?: boolean | undefined;
}

export async function resolve(options: ResolveOptions, io: Io): Promise<number> {
  const region = options.region ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION;
  if (!region) throw catalogue.EUSAGE('resolve: no region. Pass --region <region> (e.g. --region eu-west-1) or set AWS_REGION.');
  const prefix = options.prefix ?? io.env.GILD_SSM_PREFIX ?? (await prefixFromSettings(io.cwd));
  const { json, ...request } = options;
  const resolved = await resolveImage({ ...request, region, prefix, env: io.env });
  if (resolved.revoked)
    io.stderr(
      `warning: ${options.image} ${resolved.version ?? ''} (${resolved.amiId}, ${resolved.parameterName}) is revoked: ${resolved.revocation?.reason ?? '?'}; returned because of --allow-revoked\n`,
    );
  io.stdout(json ? `${JSON.stringify(resolved, null, 2)}\n` : `${resolved.amiId}\n`);
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
