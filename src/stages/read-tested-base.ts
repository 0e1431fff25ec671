/**
 * A base image's smoke-test result as AWS shows it. With gild's region copies a dependant builds from its base's
 * tested build-region AMI, before the base publishes (src/plan/plan-region-copies.ts). When the base is built by
 * another CI job of the same plan, this job has no output of the base's build: it reads the AMIs tagged as the base
 * image and version in the region instead. The smoke step tags the AMI it tested `gild:status=tested` (then
 * `published`), or `failed`; read by the job waiting for that smoke test (src/apply/wait-for-publication.ts) and by
 * the dependant's build, just before it builds (src/stages/build.ts), so the AMI built on is the one AWS shows now.
 */
import { describeImages, type ImageSummary } from '../adapters/ec2.ts';
import type { Context } from '../context.ts';

export type TestedBase =
  /** An available AMI of the version whose smoke step is done (passed, or had nothing to check): build on it. */
  | { readonly state: 'tested'; readonly amiId: string }
  /** The version failed its smoke test, or was revoked or is being retired: never build on it. */
  | { readonly state: 'refused'; readonly reason: string }
  /** Nothing says yet: no AMI of the version, or one not yet tested. */
  | { readonly state: 'not-yet' };

export interface TestedBaseQuery {
  readonly image: string;
  readonly version: string;
  readonly region: string;
  /** The plan's run: of several tested AMIs of the version (never expected), the one this run's job made wins. */
  readonly runId: string;
}

/**
 * `gild:status` values after the smoke step: passed (`tested`, `published` since), or skipped with nothing to check
 * (`untested`, publishable: a dependant in the same run builds on it too, since its smoke step is done).
 */
const testedStatuses = new Set(['tested', 'untested', 'published']);
/** `gild:status` values that say a version must not be built on, whatever else its AMIs say. */
const withdrawnStatuses = new Set(['revoked', 'retiring']);

/** Pure: what the AMIs tagged as the base's image and version say about its smoke test. */
export function testedBaseOf(amis: readonly ImageSummary[], query: TestedBaseQuery): TestedBase {
  const what = `base image "${query.image}" ${query.version}`;
  const versions = amis.filter((ami) => ami.tags['gild:image'] === query.image && ami.tags['gild:version'] === query.version);
  // NOTE: a version withdrawn anywhere is withdrawn: one revoked AMI outweighs another still tagged tested.
  const withdrawn = versions.find((ami) => withdrawnStatuses.has(ami.tags['gild:status'] ?? ''));
  if (withdrawn) {
    const why = withdrawn.tags['gild:revoked-reason'];
    return { state: 'refused', reason: `${what}: its AMI ${withdrawn.amiId} in ${query.region} is tagged gild:status=${withdrawn.tags['gild:status']}${why ? ` (${why})` : ''}` };
  }
  const tested = versions
    .filter((ami) => ami.state === 'available' && testedStatuses.has(ami.tags['gild:status'] ?? ''))
    .sort((a, b) => Number(b.tags['gild:run-id'] === query.runId) - Number(a.tags['gild:run-id'] === query.runId) || b.createdAt.localeCompare(a.createdAt));
  if (tested[0]) return { state: 'tested', amiId: tested[0].amiId };
  const failed = versions.find((ami) => ami.tags['gild:status'] === 'failed');
  if (failed) {
    const why = failed.tags['gild:failure'];
    return { state: 'refused', reason: `${what} failed its smoke test: its AMI ${failed.amiId} in ${query.region} is tagged gild:status=failed${why ? ` (${why})` : ''}` };
  }
  return { state: 'not-yet' };
}

/** One DescribeImages of gild's AMIs of the version in the region (the account's own, in every state). */
export async function readTestedBase(context: Pick<Context, 'clients'>, query: TestedBaseQuery): Promise<TestedBase> {
  const amis = await describeImages(context.clients.ec2(query.region), {
    owners: ['self'],
    filters: [
      { Name: 'tag:gild:image', Values: [query.image] },
      { Name: 'tag:gild:version', Values: [query.version] },
    ],
    includeDeprecated: true,
    includeDisabled: true,
  });
  return testedBaseOf(amis, query);
}
