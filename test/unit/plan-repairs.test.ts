/**
 * `gild verify --repair` is an assembler: the audit's findings of one
 * observation become plan steps of the kinds every plan uses, under each
 * image's lock, with a reason naming the drift. Pure, so proven on fixtures;
 * applying them is the runner's, proven in test/integration/verify.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { planRepairs } from '../../src/plan/plan-repairs.ts';
import { parseRunPlan } from '../../src/plan/run-plan-schema.ts';
import { auditImages, type ObservedSharing } from '../../src/report/audit-images.ts';
import { ami, inventoryFixture, parameter } from '../support/inventory-fixture.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const none = { accounts: [], groups: [], organizationArns: [], organizationalUnitArns: [] };
const web = resolvedImageFixture({ name: 'web', regions: ['us-east-1'] });
const webAmi = ami('ami-0aaa', { 'gild:image': 'web', 'gild:version': '1.0.0', 'gild:status': 'published' });
const apiAmi = ami('ami-0bbb', { 'gild:image': 'api', 'gild:version': '1.0.0', 'gild:status': 'published' });

/** web 1.0.0's versions/ names api's AMI, and web's AMI is shared with an account the definition does not list. */
const inventory = inventoryFixture({
  regions: { 'us-east-1': { parameters: [parameter('/golden/web/versions/1.0.0', 'ami-0bbb'), parameter('/golden/web/latest', 'ami-0aaa')], amis: [webAmi, apiAmi] } },
});
const sharing: Record<string, ObservedSharing> = {
  'us-east-1': { launch: { 'ami-0aaa': { ...none, accounts: ['444455556666'] } }, volumes: { 'snap-0aaa': { accounts: [], groups: ['all'] } }, otherAmis: {} },
};

describe('planRepairs', () => {
  const findings = auditImages({ inventory, images: [web], sharing }).findings;
  const plan = planRepairs({ runId: '20261129T120000Z-verify', now: new Date('2026-11-29T12:00:00.000Z'), inventory, images: [web], findings });

  it('plans each repair as a step of a kind every plan uses, between the image lock and its release', () => {
    expect(
      findings
        .filter((finding) => finding.repair)
        .map((finding) => finding.repair!.kind)
        .sort(),
    ).toEqual(['launch-permissions', 'put-parameter', 'volume-permissions']);
    expect(plan.steps.map((step) => step.id)).toEqual(['lock:web', 'repoint:web:versions/1.0.0:us-east-1', 'share:web:us-east-1:ami-0aaa', 'release:web']);
    expect(plan.steps.slice(1, 3).every((step) => step.after.includes('lock:web'))).toBe(true);
    expect(plan.steps[3]!.after).toEqual(['lock:web', 'repoint:web:versions/1.0.0:us-east-1', 'share:web:us-east-1:ami-0aaa']);
    expect(plan.images).toEqual([expect.objectContaining({ image: 'web', action: 'change' })]);
  });

  it('moves the pointer back only from what was observed, to the AMI of its version, with the drift as its reason', () => {
    expect(plan.steps[1]).toMatchObject({
      kind: 'repoint',
      version: '1.0.0',
      moves: [{ region: 'us-east-1', name: '/golden/web/versions/1.0.0', amiId: 'ami-0aaa', previous: 'ami-0bbb' }],
      reason: expect.stringMatching(/^gild verify found \/golden\/web\/versions\/1\.0\.0 in us-east-1: names ami-0bbb, an AMI of api 1\.0\.0/),
    });
  });

  it('shares the AMI and its snapshots once, exactly as the definition says, for both of its findings', () => {
    expect(plan.steps[2]).toMatchObject({
      kind: 'share',
      version: '1.0.0',
      region: 'us-east-1',
      amis: { amis: { 'us-east-1': 'ami-0aaa' } },
      launchPermissions: none,
      volumePermissions: { accounts: [], groups: [] },
    });
  });

  it('is a plan the saved-plan schema accepts, and plans nothing for an image without repairs', () => {
    expect(parseRunPlan(JSON.parse(JSON.stringify(plan))).problems).toEqual([]);
    const clean = planRepairs({ runId: '20261129T120000Z-verify', now: new Date('2026-11-29T12:00:00.000Z'), inventory, images: [web], findings: [] });
    expect(clean.steps).toEqual([]);
    expect(clean.images).toEqual([]);
  });

  it('leaves a repair it cannot place (an AMI the observation does not know) to the audit after the repair', () => {
    const unknown = findings
      .map((finding) => (finding.repair?.kind === 'launch-permissions' ? { ...finding, repair: { ...finding.repair, amiId: 'ami-0ccc' } } : finding))
      .filter((finding) => finding.repair?.kind !== 'volume-permissions');
    const planned = planRepairs({ runId: '20261129T120000Z-verify', now: new Date('2026-11-29T12:00:00.000Z'), inventory, images: [web], findings: unknown });
    expect(planned.steps.map((step) => step.kind)).toEqual(['lock', 'repoint', 'release']);
  });
});
