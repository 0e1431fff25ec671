/**
 * Which gild pipeline (which `ssmPrefix`) an AMI belongs to. Two pipelines may share an account and an image name
 * (`/golden-staging/web` and `/golden/web`, or nested `/golden` and `/golden/staging`): `gild:image` alone does not say
 * whose an AMI is, and one pipeline's plan would take the other's in-flight or published AMIs for its own leftovers.
 * gild tags every AMI and snapshot it makes (builds, region copies, copies in other accounts) with `gild:prefix`, and a
 * pipeline leaves alone every AMI and snapshot whose tag names another prefix. One without the tag predates it: it is
 * treated as before (as this pipeline's, if its `gild:image` is one of this pipeline's images).
 */
import { createHash } from 'node:crypto';

export const prefixTagKey = 'gild:prefix';

/** AWS takes tag values of at most 256 characters; an SSM prefix may be longer (settings allow 700). */
const maxTagValueLength = 256;

/**
 * The `gild:prefix` value for a prefix: the prefix itself (its characters, `A-Za-z0-9_.-/`, are all valid in a tag
 * value), or, for one longer than a tag value may be, `sha256:` and the prefix's digest: never a cut that another
 * prefix could share.
 */
export function prefixTagValue(ssmPrefix: string): string {
  if (ssmPrefix.length <= maxTagValueLength) return ssmPrefix;
  return `sha256:${createHash('sha256').update(ssmPrefix).digest('hex')}`;
}

/** The `gild:prefix` tag of what a pipeline with this prefix makes. */
export const prefixTag = (ssmPrefix: string): Record<string, string> => ({ [prefixTagKey]: prefixTagValue(ssmPrefix) });

/** Whether these tags say the resource belongs to another pipeline (a `gild:prefix` naming another prefix). Untagged: no. */
export function ofAnotherPipeline(tags: Readonly<Record<string, string>>, ssmPrefix: string): boolean {
  const tagged = tags[prefixTagKey];
  return tagged !== undefined && tagged !== prefixTagValue(ssmPrefix);
}

/**
 * The run IDs of another pipeline's build and smoke instances in a region: what such a run left (a key pair, a group, an
 * AMI Packer has not tagged yet) carries no prefix of its own, and is that pipeline's.
 */
export function runsOfOtherPipelines(instances: readonly { readonly tags: Readonly<Record<string, string>> }[], ssmPrefix: string): Set<string | undefined> {
  return new Set(instances.filter((instance) => ofAnotherPipeline(instance.tags, ssmPrefix)).map((instance) => instance.tags['gild:run-id']));
}

/** Why a re-check refuses an AMI of another pipeline, or undefined when it is not one. */
export function anotherPipelinesAmi(tags: Readonly<Record<string, string>>, ssmPrefix: string, amiId: string, region: string): string | undefined {
  return ofAnotherPipeline(tags, ssmPrefix)
    ? `${amiId} in ${region} is tagged ${prefixTagKey}=${tags[prefixTagKey]}: it belongs to the gild pipeline under that prefix, not to ${ssmPrefix}`
    : undefined;
}
