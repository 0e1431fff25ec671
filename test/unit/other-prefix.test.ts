/**
 * Two gild pipelines in one account with different ssmPrefix (staging `/golden-staging`, prod `/golden`, or nested
 * `/golden/staging` below `/golden`) and the same image name. AMIs were found by the `gild:image` tag alone, which
 * did not say which prefix (which lock) they belong to: the prod run planned to deregister the staging pipeline's
 * in-flight, tested AMI (its lock is under another prefix, invisible here). gild now tags what it makes with
 * `gild:prefix`, and a pipeline leaves another pipeline's AMIs and snapshots alone; an AMI without the tag predates
 * it and is planned as before.
 */
import { describe, expect, it } from 'vitest';
import { assemblePlan } from '../../src/plan/assemble-plan.ts';
import type { RunPlan } from '../../src/plan/run-plan.ts';
import { anotherPipelinesAmi, ofAnotherPipeline, prefixTag, prefixTagValue } from '../../src/plan/prefix-tag.ts';
import type { Inventory, ObservedAmi, ObservedInstance, ObservedParameter, ObservedSnapshot } from '../../src/observe/inventory.ts';
import { planSweep } from '../../src/plan/plan-sweep.ts';
import { descendantsOf } from '../../src/plan/plan-descendants.ts';
import { gildTags } from '../../src/stages/gild-tags.ts';
import { ami, instance, inventoryFixture, parameter, temporaryResource } from '../support/inventory-fixture.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const now = new Date('2026-11-29T12:00:00.000Z');
const web = resolvedImageFixture({ name: 'web', version: '1.0.0' });
const tags = (extra: Record<string, string>) => ({ 'gild:image': 'web', 'gild:fingerprint': 'fp-prod', 'gild:base-ami': 'ami-base1', 'gild:built-at': '2026-11-01T00:00:00.000Z', ...extra });
const prodPublished = ami('ami-p100', tags({ 'gild:status': 'published', 'gild:version': '1.0.0', 'gild:run-id': '20261101T000000Z-prd001', 'gild:prefix': '/golden' }));
const prodParameters = [parameter('/golden/web/versions/1.0.0', 'ami-p100'), parameter('/golden/web/v1', 'ami-p100'), parameter('/golden/web/latest', 'ami-p100')];
const stagingLock = (prefix: string) =>
  parameter(`${prefix}/web/lock`, JSON.stringify({ runId: '20261129T115000Z-stg001', host: 'ci-2', pid: 7, takenAt: '2026-11-29T11:50:00.000Z', expiresAt: '2026-11-29T12:20:00.000Z' }));
/** staging's build, smoke test passed minutes ago, being shared / published right now under its own prefix. */
const stagingTested = (extra: Record<string, string>, version = '1.0.5', fingerprint = 'fp-staging') =>
  ami(
    'ami-s105',
    tags({ 'gild:status': 'tested', 'gild:version': version, 'gild:fingerprint': fingerprint, 'gild:run-id': '20261129T115000Z-stg001', 'gild:built-at': '2026-11-29T11:55:00.000Z', ...extra }),
    { createdAt: '2026-11-29T11:55:00.000Z' },
  );

function plan(
  regionInventory: { parameters: ObservedParameter[]; amis: ObservedAmi[]; snapshots?: ObservedSnapshot[]; untaggedAmis?: ObservedAmi[]; instances?: ObservedInstance[] },
  fingerprint = 'fp-prod',
): RunPlan {
  const inventory: Inventory = inventoryFixture({
    regions: { 'us-east-1': regionInventory },
    bases: { web: { kind: 'resolved', amiId: 'ami-base1', source: 'ssm:/aws/service/al2023' } },
    leases: {},
  });
  return assemblePlan({
    runId: '20261129T120000Z-prd002',
    now,
    images: [web],
    fingerprints: { web: fingerprint },
    inventory,
    force: false,
    settings: { sweepAfterMinutes: 120, rebuildAfterDays: undefined },
  });
}

const touching = (runPlan: RunPlan, id: string) => runPlan.steps.filter((step) => JSON.stringify(step).includes(id)).map((step) => `${step.kind} ${step.id}: ${step.reason}`);

describe('a second gild pipeline (another ssmPrefix) in the same account', () => {
  it('its in-flight tested AMI is not planned for removal by this pipeline', () => {
    const runPlan = plan({
      // the staging pipeline's own parameters and lock live under /golden-staging (not under this prefix)
      parameters: [...prodParameters, stagingLock('/golden-staging')],
      amis: [prodPublished, stagingTested({ 'gild:prefix': '/golden-staging' })],
    });
    expect(touching(runPlan, 'ami-s105')).toEqual([]);
    expect(runPlan.kept.filter((kept) => kept.amiId === 'ami-s105')).toEqual([]);
  });

  it('an AMI without gild:prefix predates the tag: planned as before (cleaned up as an unpublished leftover)', () => {
    const runPlan = plan({ parameters: prodParameters, amis: [prodPublished, stagingTested({})] });
    expect(touching(runPlan, 'ami-s105').filter((line) => line.startsWith('cleanup '))).toEqual([
      'cleanup cleanup:web:us-east-1:ami-s105: built by run 20261129T115000Z-stg001 (gild:status=tested, version 1.0.5) and never published: the next version is 1.0.1 now, so it can never be published',
    ]);
  });

  it('its AMI that is exactly what this pipeline would build now is not resumed: this pipeline builds its own', () => {
    const runPlan = plan({ parameters: prodParameters, amis: [prodPublished, stagingTested({ 'gild:prefix': '/golden-staging' }, '1.0.1', 'fp-new')] }, 'fp-new');
    expect(runPlan.images[0]).toMatchObject({ action: 'build', nextVersion: '1.0.1' });
    expect(touching(runPlan, 'ami-s105')).toEqual([]);
    // the same AMI from this pipeline (tagged with its prefix) is resumed
    const own = plan({ parameters: prodParameters, amis: [prodPublished, stagingTested({ 'gild:prefix': '/golden' }, '1.0.1', 'fp-new')] }, 'fp-new');
    expect(own.images[0]).toMatchObject({ action: 'resume', nextVersion: '1.0.1', fromRunId: '20261129T115000Z-stg001' });
  });

  it('nested below this prefix (/golden/staging): its published AMI is neither retired nor a used version number here', () => {
    const stagingPublished = ami('ami-s107', tags({ 'gild:status': 'published', 'gild:version': '1.0.7', 'gild:run-id': '20261120T000000Z-stg000', 'gild:prefix': '/golden/staging' }));
    const runPlan = plan(
      {
        // /golden reads every parameter under /golden, the nested pipeline's too: they are not /golden/web's
        parameters: [...prodParameters, parameter('/golden/staging/web/versions/1.0.7', 'ami-s107'), parameter('/golden/staging/web/latest', 'ami-s107'), stagingLock('/golden/staging')],
        amis: [prodPublished, stagingPublished],
      },
      'fp-new',
    );
    expect(touching(runPlan, 'ami-s107')).toEqual([]);
    // 1.0.7 is the other pipeline's number: this one's next is 1.0.1, not 1.0.8
    expect(runPlan.images[0]).toMatchObject({ action: 'build', nextVersion: '1.0.1' });
  });

  it('its snapshots whose AMI is gone are its own leftovers, not this pipeline’s', () => {
    const snapshot = (snapshotId: string, prefix: Record<string, string>): ObservedSnapshot => ({ snapshotId, startTime: '2026-11-01T00:00:00.000Z', tags: { 'gild:image': 'web', ...prefix } });
    const runPlan = plan({
      parameters: prodParameters,
      amis: [prodPublished],
      snapshots: [snapshot('snap-staging', { 'gild:prefix': '/golden-staging' }), snapshot('snap-own', { 'gild:prefix': '/golden' }), snapshot('snap-old', {})],
    });
    const cleanup = runPlan.steps.find((step) => step.id === 'cleanup:web:us-east-1:snapshots');
    expect(cleanup).toMatchObject({ snapshotIds: ['snap-own', 'snap-old'] });
  });
});

describe('a second gild pipeline’s build before Packer tagged its AMI, and its instances', () => {
  const untagged = (tags: Record<string, string> = {}) => ami('ami-s106', tags, { name: 'web-1.0.6-20261129T115000Z-stg001', snapshotIds: ['snap-s106'] });
  const buildInstance = (prefix: Record<string, string>) =>
    instance('i-stgbuild', '2026-11-29T09:00:00.000Z', { 'gild:role': 'build', 'gild:image': 'web', 'gild:run-id': '20261129T115000Z-stg001', ...prefix }, 'stopped');
  const cleanups = (runPlan: RunPlan) => runPlan.steps.filter((step) => step.kind === 'cleanup').map((step) => step.id);

  it('an untagged AMI carrying another pipeline’s run tags (modern Packer) is not this pipeline’s leftover', () => {
    expect(cleanups(plan({ parameters: prodParameters, amis: [prodPublished], untaggedAmis: [untagged({ 'gild:role': 'build', 'gild:prefix': '/golden-staging' })] }))).toEqual([]);
  });

  it('an untagged AMI whose run’s build instance is another pipeline’s (Packer 1.6.6 tags the AMI before it ends the instance) is not either', () => {
    expect(cleanups(plan({ parameters: prodParameters, amis: [prodPublished], untaggedAmis: [untagged()], instances: [buildInstance({ 'gild:prefix': '/golden-staging' })] }))).toEqual([]);
    // this pipeline's, or one that says nothing of its prefix, is cleaned up as before
    for (const prefix of [{ 'gild:prefix': '/golden' }, {}] as Record<string, string>[])
      expect(cleanups(plan({ parameters: prodParameters, amis: [prodPublished], untaggedAmis: [untagged()], instances: [buildInstance(prefix)] }))).toEqual(['cleanup:web:us-east-1:ami-s106']);
  });

  it('its build and smoke instances are not swept, however long its build takes: its lock is out of sight', () => {
    const inventory = inventoryFixture({
      regions: {
        'us-east-1': {
          instances: [
            buildInstance({ 'gild:prefix': '/golden-staging' }),
            instance('i-stgsmoke', '2026-11-29T09:00:00.000Z', { 'gild:role': 'smoke', 'gild:run-id': '20261129T115000Z-stg001', 'gild:prefix': '/golden/staging' }),
            instance('i-own', '2026-11-29T09:00:00.000Z', { 'gild:role': 'build', 'gild:run-id': '20261129T090000Z-prd000', 'gild:prefix': '/golden' }),
            instance('i-older', '2026-11-29T09:00:00.000Z', { 'gild:role': 'smoke', 'gild:run-id': '20261129T090000Z-prd001' }),
          ],
        },
      },
    });
    expect(planSweep({ inventory, runId: '20261129T120000Z-prd002', now, sweepAfterMinutes: 120 }).map((step) => step.resource.id)).toEqual(['i-own', 'i-older']);
  });

  it('nor the key pair and security group of a run whose build instance is another pipeline’s', () => {
    const inventory = inventoryFixture({
      regions: {
        'us-east-1': {
          instances: [buildInstance({ 'gild:prefix': '/golden-staging' })],
          temporaryResources: [
            temporaryResource('key-pair', 'key-stg', 'gild_20261129T115000Z-stg001_web', '20261129T115000Z-stg001', '2026-11-29T09:00:00.000Z'),
            temporaryResource('security-group', 'sg-stg', 'gild-20261129T115000Z-stg001-web', '20261129T115000Z-stg001', '2026-11-29T09:00:00.000Z'),
            temporaryResource('key-pair', 'key-old', 'gild_20261129T090000Z-prd001_web', '20261129T090000Z-prd001', '2026-11-29T09:00:00.000Z'),
          ],
        },
      },
    });
    expect(planSweep({ inventory, runId: '20261129T120000Z-prd002', now, sweepAfterMinutes: 120 }).map((step) => step.resource.id)).toEqual(['key-old']);
  });
});

describe('a revoke’s descendants', () => {
  it('are this pipeline’s versions built on the revoked one, never another pipeline’s AMIs of the same image and number', () => {
    const built = (amiId: string, image: string, version: string, base: string, prefix: string) =>
      ami(amiId, { 'gild:image': image, 'gild:version': version, 'gild:status': 'published', 'gild:base-ami': base, 'gild:prefix': prefix });
    const inventory = inventoryFixture({
      regions: {
        'us-east-1': {
          amis: [
            built('ami-base-p', 'base', '1.0.1', 'ami-al2023', '/golden'),
            built('ami-base-s', 'base', '1.0.1', 'ami-al2023', '/golden-staging'),
            built('ami-app-p', 'app', '2.0.3', 'ami-base-p', '/golden'),
            // staging's app 2.0.3, on staging's base 1.0.1 (and one on prod's base): not prod's to mark or revoke
            built('ami-app-s', 'app', '2.0.3', 'ami-base-s', '/golden-staging'),
            built('ami-api-s', 'api', '1.0.0', 'ami-base-p', '/golden-staging'),
          ],
        },
      },
    });
    expect(descendantsOf(inventory, 'base', '1.0.1')).toEqual([{ image: 'app', version: '2.0.3', amis: { 'us-east-1': 'ami-app-p' }, via: 'base 1.0.1', marked: {} }]);
  });
});

describe('the gild:prefix tag', () => {
  it('is among the tags of every build (Packer puts them on the AMI and its snapshots in every region)', () => {
    const input = { image: web, version: '1.0.1', runId: 'run-1', baseAmiId: 'ami-base1', builtAt: now, gitCommit: undefined, fingerprint: 'fp-prod' };
    expect(gildTags({ ...input, ssmPrefix: '/golden-staging' })).toMatchObject({ 'gild:image': 'web', 'gild:prefix': '/golden-staging', 'gild:status': 'candidate' });
  });

  it('is the prefix itself, a valid tag value, up to AWS’s 256 characters', () => {
    expect(prefixTag('/golden')).toEqual({ 'gild:prefix': '/golden' });
    const longest = `/${'a'.repeat(255)}`;
    expect(prefixTagValue(longest)).toBe(longest);
  });

  it('is the prefix’s sha256 for a longer prefix (settings allow 700 characters): never a cut two prefixes could share', () => {
    const long = `/${'a'.repeat(300)}`;
    const value = prefixTagValue(long);
    expect(value).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(prefixTagValue(`${long}b`)).not.toBe(value);
    expect(ofAnotherPipeline({ 'gild:prefix': value }, long)).toBe(false);
    expect(ofAnotherPipeline({ 'gild:prefix': value }, `${long}b`)).toBe(true);
  });

  it('says another pipeline’s only when it names another prefix: an untagged AMI predates the tag', () => {
    expect(ofAnotherPipeline({ 'gild:image': 'web' }, '/golden')).toBe(false);
    expect(ofAnotherPipeline({ 'gild:prefix': '/golden' }, '/golden')).toBe(false);
    expect(ofAnotherPipeline({ 'gild:prefix': '/golden/staging' }, '/golden')).toBe(true);
    expect(ofAnotherPipeline({ 'gild:prefix': '/golden' }, '/golden/staging')).toBe(true);
    expect(anotherPipelinesAmi({ 'gild:prefix': '/golden-staging' }, '/golden', 'ami-1', 'us-east-1')).toBe(
      'ami-1 in us-east-1 is tagged gild:prefix=/golden-staging: it belongs to the gild pipeline under that prefix, not to /golden',
    );
  });
});
