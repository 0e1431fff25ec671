/**
 * The tags gild puts on every AMI and snapshot it makes. `gild:image` is what
 * marks an AMI as gild's own: retirement only ever touches AMIs that carry it.
 */
import type { ResolvedImage } from '../definition/resolved-image.ts';

export interface GildTagInput {
  readonly image: ResolvedImage;
  readonly version: string;
  readonly runId: string;
  readonly baseAmiId: string;
  readonly builtAt: Date;
  readonly gitCommit: string | undefined;
  readonly fingerprint: string;
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
    ...(input.gitCommit ? { 'gild:git-commit': input.gitCommit } : {}),
  };
}
