/**
 * Sharing in the plan: an image with launch permissions gets one `share` step
 * per region, after its smoke test and before its publish, so a failing image
 * is never visible outside the account; a private image gets one too, which
 * sets the description and grants nobody. A publish
 * that stopped halfway is shared again before it is finished.
 */
import { describe, expect, it } from 'vitest';
import type { LaunchPermissions, ResolvedImage } from '../../src/definition/resolved-image.ts';
import type { ObservedAmi, RegionInventory } from '../../src/observe/inventory.ts';
import { assemblePlan } from '../../src/plan/assemble-plan.ts';
import { formatRunPlan } from '../../src/plan/format-run-plan.ts';
import type { PlanStep, RunPlan } from '../../src/plan/run-plan.ts';
import { ami, inventoryFixture, parameter } from '../support/inventory-fixture.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const now = new Date('2026-11-29T12:00:00.000Z');
const runId = '20261129T120000Z-run000';
const baseAmi = 'ami-base1';
const fingerprint = 'fp-current';
const regions = ['us-east-1', 'us-west-2'];
const accounts: LaunchPermissions = { kind: 'explicit', accounts: ['111122223333', '444455556666'], organizationArns: [], organizationalUnitArns: [] };

const web = (launchPermissions: LaunchPermissions) => resolvedImageFixture({ name: 'web', version: '1.0.0', buildRegion: 'us-east-1', copyRegions: ['us-west-2'], regions, launchPermissions });

function plan(image: ResolvedImage, world: Record<string, Partial<RegionInventory>> = {}): RunPlan {
  return assemblePlan({
    runId,
    now,
    images: [image],
    fingerprints: { web: fingerprint },
    inventory: inventoryFixture({ regions: { 'us-east-1': {}, 'us-west-2': {}, ...world }, bases: { web: { kind: 'resolved', amiId: baseAmi, source: 'ssm:/aws/service/al2023' } } }),
    force: false,
    settings: { sweepAfterMinutes: 120, rebuildAfterDays: undefined },
  });
}

const ids = (planned: RunPlan) => planned.steps.map((step) => step.id);
const step = <K extends PlanStep['kind']>(planned: RunPlan, id: string, kind: K) => {
  const found = planned.steps.find((candidate) => candidate.id === id);
  if (found?.kind !== kind) throw new Error(`the plan has no ${kind} step ${id}: ${ids(planned).join(', ')}`);
  return found as Extract<PlanStep, { kind: K }>;
};

function builtAmi(amiId: string, tags: Record<string, string>): ObservedAmi {
  return ami(amiId, { 'gild:image': 'web', 'gild:fingerprint': fingerprint, 'gild:base-ami': baseAmi, 'gild:built-at': '2026-11-01T00:00:00.000Z', ...tags });
}

describe('assemblePlan: sharing', () => {
  it('shares in every region after the smoke test and before publishing, with exactly the accounts listed', () => {
    const planned = plan(web(accounts));

    expect(ids(planned)).toEqual([
      'lock:web',
      'build:web',
      'packer-exit:web',
      'smoke:web',
      'discard:web:us-east-1',
      'discard:web:us-west-2',
      'share:web:us-east-1',
      'share:web:us-west-2',
      'publish:web',
      'release:web',
    ]);
    expect(step(planned, 'share:web:us-west-2', 'share')).toEqual({
      id: 'share:web:us-west-2',
      kind: 'share',
      image: 'web',
      version: '1.0.0',
      region: 'us-west-2',
      amis: { from: 'build:web' },
      launchPermissions: { accounts: ['111122223333', '444455556666'], groups: [], organizationArns: [], organizationalUnitArns: [] },
      volumePermissions: { accounts: ['111122223333', '444455556666'], groups: [] },
      description: 'Web server base image',
      after: ['smoke:web', 'packer-exit:web'],
      reason: 'after the smoke test, set the description and share with account 111122223333, account 444455556666; any other grant on the AMI or its snapshots is removed',
      precondition: 'the AMI in us-west-2 is still tagged gild:image=web and gild:version=1.0.0, and available',
    });
    expect(step(planned, 'publish:web', 'publish').after).toEqual(['smoke:web', 'share:web:us-east-1', 'share:web:us-west-2', 'packer-exit:web']);
    expect(step(planned, 'release:web', 'release').after).toContain('share:web:us-west-2');
    expect(
      formatRunPlan(planned)
        .split('\n')
        .filter((line) => line.trimStart().startsWith('share')),
    ).toEqual([
      '    share 1.0.0 in us-east-1 — after the smoke test, set the description and share with account 111122223333, account 444455556666; any other grant on the AMI or its snapshots is removed',
      '    share 1.0.0 in us-west-2 — after the smoke test, set the description and share with account 111122223333, account 444455556666; any other grant on the AMI or its snapshots is removed',
    ]);
  });

  it('plans a share step for a private image too: it sets the description (Packer would before tagging) and grants nobody', () => {
    const planned = plan(web({ kind: 'implicit' }));

    expect(step(planned, 'share:web:us-east-1', 'share')).toMatchObject({
      launchPermissions: { accounts: [], groups: [], organizationArns: [], organizationalUnitArns: [] },
      volumePermissions: { accounts: [], groups: [] },
      description: 'Web server base image',
      reason: 'after the smoke test, set the description and the image stays private: any grant on the AMI or its snapshots is removed',
    });
    expect(step(planned, 'publish:web', 'publish').after).toEqual(['smoke:web', 'share:web:us-east-1', 'share:web:us-west-2', 'packer-exit:web']);
  });

  it('shares with organisations and OUs, whose snapshots take no organisations', () => {
    const org = 'arn:aws:organizations::123456789012:organization/o-abcdefghij';
    const ou = 'arn:aws:organizations::123456789012:ou/o-abcdefghij/ou-ab12-cdefgh34';
    const share = step(plan(web({ kind: 'explicit', accounts: [], organizationArns: [org], organizationalUnitArns: [ou] })), 'share:web:us-east-1', 'share');

    expect(share.launchPermissions).toEqual({ accounts: [], groups: [], organizationArns: [org], organizationalUnitArns: [ou] });
    expect(share.volumePermissions).toEqual({ accounts: [], groups: [] });
    expect(share.reason).toBe(`after the smoke test, set the description and share with organisation ${org}, OU ${ou}; any other grant on the AMI or its snapshots is removed`);
  });

  it('makes a public image public only as its definition says, and gives the reason', () => {
    const share = step(plan(web({ kind: 'public', reason: 'Published for customers of our open-source agent.' })), 'share:web:us-east-1', 'share');

    expect(share.launchPermissions.groups).toEqual(['all']);
    expect(share.volumePermissions).toEqual({ accounts: [], groups: ['all'] });
    expect(share.reason).toBe(
      'after the smoke test, set the description and share with everyone (public: Published for customers of our open-source agent.); any other grant on the AMI or its snapshots is removed',
    );
  });

  it('shares a resumed build again, from the resume step, before publishing it', () => {
    const candidate = (amiId: string) => builtAmi(amiId, { 'gild:status': 'tested', 'gild:version': '1.0.0', 'gild:run-id': '20261129T100000Z-crash0' });
    const planned = plan(web(accounts), { 'us-east-1': { amis: [candidate('ami-east')] }, 'us-west-2': { amis: [candidate('ami-west')] } });

    expect(planned.images[0]).toMatchObject({ action: 'resume', fromRunId: '20261129T100000Z-crash0' });
    expect(ids(planned)).toEqual(['lock:web', 'resume:web', 'smoke:web', 'discard:web:us-east-1', 'discard:web:us-west-2', 'share:web:us-east-1', 'share:web:us-west-2', 'publish:web', 'release:web']);
    expect(step(planned, 'share:web:us-east-1', 'share').amis).toEqual({ from: 'resume:web' });
  });

  it('shares again before finishing a publish that stopped halfway, with the AMIs it publishes', () => {
    const half = (amiId: string) => builtAmi(amiId, { 'gild:status': 'tested', 'gild:version': '1.0.0', 'gild:run-id': '20261129T100000Z-crash0' });
    const planned = plan(web(accounts), {
      'us-east-1': { parameters: [parameter('/golden/web/versions/1.0.0', 'ami-east')], amis: [half('ami-east')] },
      'us-west-2': { amis: [half('ami-west')] },
    });

    expect(planned.images[0]).toMatchObject({ action: 'finish', version: '1.0.0' });
    expect(ids(planned)).toEqual(['lock:web', 'share:web:us-east-1', 'share:web:us-west-2', 'publish:web', 'release:web']);
    expect(step(planned, 'share:web:us-west-2', 'share')).toMatchObject({ amis: { amis: { 'us-east-1': 'ami-east', 'us-west-2': 'ami-west' } }, after: ['lock:web'], version: '1.0.0' });
    expect(step(planned, 'publish:web', 'publish').after).toEqual(['lock:web', 'share:web:us-east-1', 'share:web:us-west-2']);
  });
});
