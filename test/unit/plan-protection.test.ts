/**
 * Deregistration protection, planned purely (`protection: true` in settings): what a pointer names is protected
 * (this run's publish once it wrote the pointers, and AMIs already named), each AMI once; a deregister step of an AMI
 * gild protected removes the protection first, said in its reason. Off by default: no step at all.
 */
import { describe, expect, it } from 'vitest';
import type { ObservedAmi } from '../../src/observe/inventory.ts';
import { assemblePlan, type AssembleInput } from '../../src/plan/assemble-plan.ts';
import { formatRunPlan } from '../../src/plan/format-run-plan.ts';
import { ami, inventoryFixture, parameter } from '../support/inventory-fixture.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const now = new Date('2026-11-29T12:00:00.000Z');
const web = { ...resolvedImageFixture({ name: 'web', version: '1.0.0' }), retention: { keep: 1, minAgeDays: 0, phases: {}, keepRevokedDays: 30 } };
const amiOf = (version: string) => `ami-web-${version.replaceAll('.', '')}`;

function world(versions: Record<string, Record<string, string>>, options: { protection?: boolean; force?: boolean; mode?: 'retire'; keep?: number } = {}): AssembleInput {
  const names = Object.keys(versions);
  const amis: ObservedAmi[] = names.map((version) =>
    ami(amiOf(version), {
      'gild:image': 'web',
      'gild:version': version,
      'gild:status': 'published',
      'gild:fingerprint': 'fp',
      'gild:base-ami': 'ami-base1',
      'gild:built-at': '2026-11-01T00:00:00.000Z',
      ...versions[version],
    }),
  );
  const parameters = [...names.map((version) => parameter(`/golden/web/versions/${version}`, amiOf(version))), parameter('/golden/web/latest', amiOf(names.at(-1)!))];
  return {
    runId: '20261129T120000Z-run000',
    now,
    images: [{ ...web, retention: { ...web.retention, keep: options.keep ?? 1 } }],
    fingerprints: { web: 'fp' },
    inventory: inventoryFixture({ regions: { 'us-east-1': { parameters, amis } }, bases: { web: { kind: 'resolved', amiId: 'ami-base1', source: 'ssm:/aws/service/al2023' } } }),
    force: options.force ?? false,
    settings: { sweepAfterMinutes: 120, rebuildAfterDays: undefined, ...(options.protection ? { protection: true } : {}) },
    ...(options.mode ? { mode: options.mode } : {}),
  };
}

const protects = (input: AssembleInput) => assemblePlan(input).steps.flatMap((step) => (step.kind === 'protect' ? [{ id: step.id, amis: step.amis, after: step.after }] : []));

describe('deregistration protection in the plan', () => {
  it('protects what this run publishes once the publish wrote the pointers, and an AMI a pointer already names, each once', () => {
    expect(protects(world({ '1.0.0': {} }, { protection: true, force: true, keep: 3 }))).toEqual([
      { id: 'protect:web:1.0.1:us-east-1', amis: { from: 'publish:web' }, after: ['publish:web'] },
      { id: 'protect:web:1.0.0:us-east-1', amis: { amis: { 'us-east-1': amiOf('1.0.0') } }, after: ['lock:web'] },
    ]);
    // Not an AMI this plan retires: with keep 1, 1.0.0 goes once 1.0.1 is published, and is left unprotected.
    expect(protects(world({ '1.0.0': {} }, { protection: true, force: true }))).toEqual([{ id: 'protect:web:1.0.1:us-east-1', amis: { from: 'publish:web' }, after: ['publish:web'] }]);
    const plan = assemblePlan(world({ '1.0.0': {} }, { protection: true, force: true }));
    expect(formatRunPlan(plan)).toMatch(/protect 1\.0\.1 in us-east-1: enable deregistration protection on the AMI of publish:web — protection is on in settings and the publish names it on latest/);
  });

  it('plans nothing when protection is off, or when the AMI says it was done (or that the target cannot)', () => {
    expect(protects(world({ '1.0.0': {} }, { force: true }))).toEqual([]);
    expect(protects(world({ '1.0.0': { 'gild:protected': 'true' } }, { protection: true }))).toEqual([]);
    expect(protects(world({ '1.0.0': { 'gild:protected': 'unsupported' } }, { protection: true }))).toEqual([]);
  });

  it('a deregister step of an AMI gild protected removes the protection first, and says so; one the target could not protect is deregistered as it is', () => {
    const retire = assemblePlan(world({ '1.0.0': { 'gild:protected': 'true' }, '1.0.1': { 'gild:protected': 'unsupported' }, '1.0.2': {} }, { protection: true, mode: 'retire' }));
    const deregisters = retire.steps.flatMap((step) => (step.kind === 'retire' && step.phase === 'deregister' ? [step] : []));
    expect(deregisters.map((step) => [step.version, step.unprotect ?? false])).toEqual([
      ['1.0.0', true],
      ['1.0.1', false],
    ]);
    expect(deregisters[0]!.reason).toMatch(/^remove its deregistration protection \(gild enabled it while a pointer named it\), then deregister: /);
    expect(formatRunPlan(retire)).toMatch(/retire \(deregister, protection removed first\) 1\.0\.0 in us-east-1/);
  });
});
