/**
 * What a publish may do, whatever plan it came from: write only the names the prefix, the image and the pointer rules
 * give its version, and name only AMIs tagged with this image, this version and a passed smoke test.
 */
import type { ImageSummary } from '../adapters/ec2.ts';
import semver from 'semver';
import { latestParameterName, majorParameterName, versionParameterName } from '../plan/parameter-names.ts';
import type { ParameterWrite } from '../plan/run-plan.ts';

/** Why these writes are not a publish of `version` of `image` under `prefix` (one line each), or none. */
export function whyWritesNotAllowed(prefix: string, image: string, version: string, writes: readonly ParameterWrite[], amis: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  const parsed = semver.valid(version) ? semver.parse(version) : null;
  if (!parsed) return [`"${version}" is not a version gild publishes`];
  const expected: Record<ParameterWrite['pointer'], string | undefined> = {
    version: versionParameterName(prefix, image, version),
    latest: latestParameterName(prefix, image),
    major: majorParameterName(prefix, image, parsed.major),
    // NOTE: a channel moves only when told (`gild promote`), never on publish.
    channel: undefined,
  };
  const seen = new Set<string>();
  for (const write of writes) {
    const name = expected[write.pointer];
    if (name === undefined) problems.push(`${write.name} in ${write.region}: a publish never moves a ${write.pointer} pointer`);
    else if (write.name !== name) problems.push(`${write.name} in ${write.region}: the ${write.pointer} parameter of ${image} ${version} is ${name}`);
    if (amis[write.region] === undefined) problems.push(`${write.name} in ${write.region}: no AMI of ${image} ${version} is published in ${write.region}`);
    const key = `${write.region} ${write.name}`;
    if (seen.has(key)) problems.push(`${write.name} in ${write.region}: written twice`);
    seen.add(key);
  }
  return problems;
}

/** Why an AMI may not be published as `version` of `image`: its own tags say otherwise. */
export function whyAmiNotPublishable(ami: ImageSummary, region: string, image: string, version: string): string | undefined {
  const tags = ami.tags;
  const id = `${ami.amiId} in ${region}`;
  if (tags['gild:image'] !== image) return `${id} is tagged gild:image=${tags['gild:image'] ?? '(none)'}, not ${image}`;
  if (tags['gild:version'] !== version) return `${id} is tagged gild:version=${tags['gild:version'] ?? '(none)'}, not ${version}`;
  if (!tags['gild:fingerprint']) return `${id} has no gild:fingerprint: gild did not build it`;
  // `tested` is a passed smoke test of what that AMI is; `untested`, a smoke test that ran no check (said, never
  // claimed passed); `published`, a publish this one completes.
  if (!['tested', 'untested', 'published'].includes(tags['gild:status'] ?? ''))
    return `${id} is tagged gild:status=${tags['gild:status'] ?? '(none)'}: only an AMI whose smoke test passed (or ran no check) is published`;
  return undefined;
}
