import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/plan/fingerprint.ts';
import type { ImageObservation } from '../../src/plan/observe.ts';
import { planImage, type PlanImageInput } from '../../src/plan/plan-image.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const image = resolvedImageFixture({ name: 'web', version: '1.2.0', buildRegion: 'us-east-1', copyRegions: ['eu-west-1'], regions: ['us-east-1', 'eu-west-1'] });
const files = { 'templates/amazon-ebs.pkr.hcl.hbs': 'source {}' };
const digest = fingerprint({ image, projectRoot: '/project', files });
const now = new Date('2026-11-28T03:00:00Z');

function observation(overrides: Partial<ImageObservation> = {}): ImageObservation {
  return {
    published: { versions: [{ version: '1.2.4', amis: { 'us-east-1': 'ami-old1', 'eu-west-1': 'ami-old2' } }], latest: { 'us-east-1': 'ami-old1', 'eu-west-1': 'ami-old2' } },
    latestTags: { 'gild:base-ami': 'ami-base', 'gild:fingerprint': digest, 'gild:built-at': '2026-11-27T03:00:00Z' },
    base: { kind: 'resolved', amiId: 'ami-base', source: 'ssm:/aws/service/x' },
    files,
    ...overrides,
  };
}

function plan(overrides: Partial<PlanImageInput> = {}) {
  return planImage({ image, observation: observation(), ssmPrefix: '/golden', projectRoot: '/project', force: false, now, rebuildAfterDays: undefined, rebuiltDependencies: new Set(), ...overrides });
}

describe('planImage', () => {
  it('skips an image whose definition, templates and base AMI are unchanged', () => {
    expect(plan()).toEqual({ image: 'web', action: 'skip', currentVersion: '1.2.4', reason: 'unchanged since 1.2.4 (same definition, templates and base AMI); use --force to rebuild' });
  });

  it('builds the next patch with --force, writing versions/<v> everywhere before latest', () => {
    expect(plan({ force: true })).toMatchObject({
      action: 'build',
      reason: 'rebuild forced with --force',
      nextVersion: '1.2.5',
      parameters: [
        { region: 'us-east-1', name: '/golden/web/versions/1.2.5' },
        { region: 'eu-west-1', name: '/golden/web/versions/1.2.5' },
        { region: 'us-east-1', name: '/golden/web/latest' },
        { region: 'eu-west-1', name: '/golden/web/latest' },
      ],
    });
  });

  it('bumps the patch when only the base AMI changed', () => {
    expect(plan({ observation: observation({ base: { kind: 'resolved', amiId: 'ami-patched', source: 'ssm:/aws/service/x' } }) })).toMatchObject({
      action: 'build',
      reason: 'the base AMI changed from ami-base to ami-patched',
      nextVersion: '1.2.5',
    });
  });

  it('rebuilds when the definition, templates or files changed', () => {
    expect(plan({ observation: observation({ files: { 'templates/amazon-ebs.pkr.hcl.hbs': 'source { changed }' } }) })).toMatchObject({ action: 'build', reason: 'the definition, its templates or its files changed' });
  });

  it('repairs a latest that does not point to the newest version in some region', () => {
    const published = { versions: observation().published.versions, latest: { 'us-east-1': 'ami-old1', 'eu-west-1': 'ami-older' } };
    expect(plan({ observation: observation({ published }) })).toMatchObject({ action: 'build', reason: 'latest in eu-west-1 does not point to the newest version 1.2.4' });
  });

  it('rebuilds once the newest version is older than rebuildAfterDays', () => {
    expect(plan({ rebuildAfterDays: 1 })).toMatchObject({ action: 'build', reason: 'version 1.2.4 is 1 days old (rebuildAfterDays is 1)' });
    expect(plan({ rebuildAfterDays: 2 })).toMatchObject({ action: 'skip' });
  });

  it('rebuilds an image whose base image is rebuilt in the same run', () => {
    const dependant = resolvedImageFixture({ ...image, base: { kind: 'image', image: 'base', range: '^1' }, dependsOn: ['base'] });
    const result = plan({
      image: dependant,
      observation: observation({ base: { kind: 'dependency', image: 'base', source: 'image:base@^1' }, latestTags: { ...observation().latestTags, 'gild:fingerprint': fingerprint({ image: dependant, projectRoot: '/project', files }) } }),
      rebuiltDependencies: new Set(['base']),
    });
    expect(result).toMatchObject({ action: 'build', reason: 'its base image "base" is rebuilt in this run', base: { kind: 'after-dependency', image: 'base' } });
  });

  it('uses the definition version for the first build', () => {
    expect(plan({ observation: observation({ published: { versions: [], latest: {} }, latestTags: undefined }) })).toMatchObject({ action: 'build', reason: 'first build: no version is published yet', nextVersion: '1.2.0' });
  });

  it('reports a definition older than what is published as a definition error', () => {
    const older = resolvedImageFixture({ ...image, version: '1.1.0' });
    expect(plan({ image: older })).toEqual({ image: 'web', action: 'error', kind: 'definition', reason: 'images/web.ts: version: version 1.1.0 is older than the published 1.2.4. Set version to 1.2.0 or higher (gild bumps the patch itself).' });
  });

  it('reports a base that cannot be resolved as a pipeline error', () => {
    expect(plan({ observation: observation({ base: { kind: 'unresolved', reason: 'no such parameter' } }) })).toEqual({ image: 'web', action: 'error', kind: 'pipeline', reason: 'no such parameter' });
  });
});
