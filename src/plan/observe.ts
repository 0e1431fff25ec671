/**
 * Reads what AWS holds now, for the planner: published versions per region,
 * where `latest` points, the base AMI each image would build from, and the
 * tags of the newest AMI. Read-only.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import semver from 'semver';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { describeGildImages, describeImageUsers, describeImages } from '../adapters/ec2.ts';
import { getParameter, getParametersByPath } from '../adapters/ssm.ts';
import { awsErrorName } from '../adapters/aws-call.ts';
import { imageParameterPath, latestParameterName, versionFromParameterName } from './parameter-names.ts';
import type { PublishedVersion } from './types.ts';

export interface PublishedState {
  readonly versions: readonly PublishedVersion[];
  readonly latest: Readonly<Record<string, string | undefined>>;
}

export type BaseObservation =
  | { readonly kind: 'resolved'; readonly amiId: string; readonly source: string }
  | { readonly kind: 'dependency'; readonly image: string; readonly source: string }
  | { readonly kind: 'unresolved'; readonly reason: string };

export interface ImageObservation {
  readonly published: PublishedState;
  /** Tags of the AMI `latest` points to in the build region. */
  readonly latestTags: Readonly<Record<string, string>> | undefined;
  readonly base: BaseObservation;
  /** Template and referenced file contents, for the fingerprint. */
  readonly files: Readonly<Record<string, string>>;
}

/** Published versions of one image, read in every region it publishes to. */
export async function observePublished(context: Context, imageName: string, regions: readonly string[]): Promise<PublishedState> {
  const prefix = context.settings.ssmPrefix;
  const byVersion = new Map<string, Record<string, string>>();
  const latest: Record<string, string | undefined> = {};
  await Promise.all(
    regions.map(async (region) => {
      const parameters = await getParametersByPath(context.clients.ssm(region), imageParameterPath(prefix, imageName));
      for (const parameter of parameters) {
        if (parameter.name === latestParameterName(prefix, imageName)) latest[region] = parameter.value;
        const version = versionFromParameterName(prefix, imageName, parameter.name);
        if (version && semver.valid(version)) byVersion.set(version, { ...byVersion.get(version), [region]: parameter.value });
      }
    }),
  );
  const versions = [...byVersion.entries()].map(([version, amis]) => ({ version, amis })).sort((a, b) => semver.rcompare(a.version, b.version));
  return { versions, latest };
}

/**
 * The base AMI as published now. An image built on another gild image that
 * this run rebuilds is switched to "after dependency" by the planner.
 */
async function resolveBase(context: Context, image: ResolvedImage): Promise<BaseObservation> {
  const { base, buildRegion } = image;
  const override = context.options.baseOverrides[image.name];
  if (override) return { kind: 'resolved', amiId: override, source: `override:${override}` };
  switch (base.kind) {
    case 'ssm': {
      const parameter = await getParameter(context.clients.ssm(buildRegion), base.parameter);
      return parameter
        ? { kind: 'resolved', amiId: parameter.value, source: `ssm:${base.parameter}` }
        : { kind: 'unresolved', reason: `base parameter ${base.parameter} does not exist in ${buildRegion}. Check base.ssmParameter in ${image.file}.` };
    }
    case 'filter': {
      const images = await describeImages(context.clients.ec2(buildRegion), {
        owners: base.owners,
        filters: [
          { Name: 'name', Values: [base.name] },
          { Name: 'state', Values: ['available'] },
          { Name: 'architecture', Values: [image.architecture] },
        ],
        includeDeprecated: base.includeDeprecated,
      });
      const newest = images.sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
      return newest
        ? { kind: 'resolved', amiId: newest.amiId, source: `filter:${base.owners.join(',')}/${base.name}` }
        : { kind: 'unresolved', reason: `no ${image.architecture} AMI owned by ${base.owners.join(', ')} matches "${base.name}" in ${buildRegion}. Check base.filter in ${image.file}.` };
    }
    case 'ami': {
      const amiId = base.amis[buildRegion] ?? base.amis['*'];
      return amiId
        ? { kind: 'resolved', amiId, source: `ami:${amiId}` }
        : { kind: 'unresolved', reason: `base.ami has no AMI for the build region ${buildRegion}. Add one in ${image.file}.` };
    }
    case 'image': {
      const source = `image:${base.image}${base.range ? `@${base.range}` : ''}`;
      return resolvePublishedImage(context, base.image, base.range, buildRegion, source);
    }
  }
}

/** The AMI of another gild image's newest published version that satisfies a range. */
export async function resolvePublishedImage(context: Context, imageName: string, range: string | undefined, region: string, source: string): Promise<BaseObservation> {
  const published = await observePublished(context, imageName, [region]);
  const match = published.versions.find((candidate) => !range || semver.satisfies(candidate.version, range));
  const amiId = match?.amis[region];
  if (!match || !amiId) {
    return {
      kind: 'unresolved',
      reason: `base image "${imageName}" has no published version${range ? ` matching ${range}` : ''} in ${region}. Run \`gild run ${imageName}\` first.`,
    };
  }
  return { kind: 'resolved', amiId, source: `${source} → ${match.version}` };
}

async function readTree(root: string, folder: string, into: Record<string, string>): Promise<void> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) await readTree(root, full, into);
    else if (entry.isFile()) into[path.relative(root, full)] = await readFile(full, 'utf8');
  }
}

/** Templates plus every script and upload the image references. */
export async function readImageFiles(context: Context, image: ResolvedImage): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  await readTree(context.cwd, path.join(context.cwd, 'templates'), files);
  for (const step of image.provision) {
    const file = step.kind === 'script' ? step.path : step.kind === 'upload' ? step.source : undefined;
    if (file) await readTree(context.cwd, file, files).catch(() => undefined);
    if (file && !(path.relative(context.cwd, file) in files)) {
      try {
        files[path.relative(context.cwd, file)] = await readFile(file, 'utf8');
      } catch {
        // A folder upload was read above; a missing file is a definition error reported by validation.
      }
    }
  }
  return files;
}

export async function observeImage(context: Context, image: ResolvedImage): Promise<ImageObservation> {
  const [published, base, files] = await Promise.all([
    observePublished(context, image.name, image.regions),
    resolveBase(context, image),
    readImageFiles(context, image),
  ]);
  const latestAmi = published.latest[image.buildRegion];
  const latestTags = latestAmi ? (await describeLatestImage(context, image.buildRegion, latestAmi))?.tags : undefined;
  return { published, latestTags, base, files };
}

/** The AMI `latest` points to, or undefined when it no longer exists; any other failure is raised. */
async function describeLatestImage(context: Context, region: string, amiId: string) {
  try {
    return (await describeImages(context.clients.ec2(region), { imageIds: [amiId] }))[0];
  } catch (error) {
    if (awsErrorName((error as Error).cause) === 'InvalidAMIID.NotFound' || awsErrorName((error as Error).cause) === 'InvalidAMIID.Unavailable') return undefined;
    throw error;
  }
}

/** AMIs gild tagged for an image per region (amiId → snapshots), and why each candidate is still in use. */
export async function observeRetirementFacts(context: Context, imageName: string, candidates: Readonly<Record<string, readonly string[]>>) {
  const ownedAmis: Record<string, Record<string, readonly string[]>> = {};
  const usage: Record<string, string[]> = {};
  await Promise.all(
    Object.entries(candidates).map(async ([region, amiIds]) => {
      if (amiIds.length === 0) return;
      const ec2 = context.clients.ec2(region);
      const [owned, users] = await Promise.all([describeGildImages(ec2, imageName), describeImageUsers(ec2, amiIds)]);
      ownedAmis[region] = Object.fromEntries(owned.map((ami) => [ami.amiId, ami.snapshotIds]));
      for (const [amiId, amiUsers] of users) if (amiUsers.length > 0) usage[amiId] = amiUsers;
    }),
  );
  return { ownedAmis, usage };
}
