/**
 * The tags gild puts on every AMI and snapshot it makes. `gild:image` is what
 * marks an AMI as gild's own: retirement only ever touches AMIs that carry it.
 * `gild:prefix` says whose (src/plan/prefix-tag.ts): another pipeline in the
 * same account, under another SSM prefix, leaves it alone.
 */
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { prefixTag } from '../plan/prefix-tag.ts';

export interface GildTagInput {
  readonly image: ResolvedImage;
  readonly version: string;
  readonly runId: string;
  readonly baseAmiId: string;
  readonly builtAt: Date;
  readonly gitCommit: string | undefined;
  readonly fingerprint: string;
  /** The pipeline's `ssmPrefix`: where this AMI is published, whose lock guards it. */
  readonly ssmPrefix: string;
}

export function gildTags(input: GildTagInput): Record<string, string> {
  return {
    ...input.image.tags,
    Name: input.image.tags.Name ?? `${input.image.name} ${input.version}`,
    'gild:image': input.image.name,
    'gild:version': input.version,
    'gild:run-id': input.runId,
    'gild:base-ami': input.baseAmiId,
    'gild:built-at': input.builtAt.toISOString(),
    'gild:fingerprint': input.fingerprint,
    'gild:status': 'candidate',
    ...prefixTag(input.ssmPrefix),
    ...(input.gitCommit ? { 'gild:git-commit': input.gitCommit } : {}),
  };
}
