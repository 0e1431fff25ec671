/**
 * One image's version ledger is one SSM parameter, and SSM has no conditional write: two steps of one run writing it
 * at once (`revoke --cascade` revoking two versions of a descendant, a publish beside the finish of a revoke) must not
 * lose each other's change. The plan orders the ledger writers it plans for one image, and the writes themselves take
 * turns in the process and re-read the ledger just before writing.
 */
import { GetParameterCommand, ParameterAlreadyExists, ParameterNotFound, PutParameterCommand } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Inventory, ObservedAmi } from '../../src/observe/inventory.ts';
import { imageState } from '../../src/plan/image-state.ts';
import { planPointerChange } from '../../src/plan/plan-pointer-change.ts';
import { planUnfinishedRevocations } from '../../src/plan/plan-revocation.ts';
import type { PlanStep } from '../../src/plan/run-plan.ts';
import { activeRevocation, parseLedger, recordBuilt, recordRevoked } from '../../src/plan/version-ledger.ts';
import { recordInLedger } from '../../src/stages/record-version.ts';
import { contextOver, mockableClients } from '../support/mocked-aws-context.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const now = new Date('2026-11-29T00:00:00Z');
const base = resolvedImageFixture({ name: 'base', buildRegion: 'us-east-1' });
const app = resolvedImageFixture({ name: 'app', buildRegion: 'us-east-1', base: { kind: 'image', image: 'base', range: undefined } as never });
const parameter = (name: string, value: string) => ({ name, value, version: 1, lastModified: undefined });
const ami = (amiId: string, tags: Record<string, string>): ObservedAmi => ({
  amiId,
  name: amiId,
  state: 'available',
  createdAt: '2026-10-01T00:00:00Z',
  deprecationTime: undefined,
  snapshotIds: [],
  tags: { 'gild:status': 'published', 'gild:published-at': '2026-10-01T00:00:00Z', ...tags },
});

function inventory(parameters: Inventory['regions'][string]['parameters'] = [], amis: ObservedAmi[] = []): Inventory {
  return {
    observedAt: now.toISOString(),
    ssmPrefix: '/golden',
    bases: {},
    leases: {},
    regions: {
      'us-east-1': {
        region: 'us-east-1',
        instances: [],
        temporaryResources: [],
        snapshots: [],
        references: {},
        parameters: [
          parameter('/golden/base/versions/1.0.0', 'ami-b100'),
          parameter('/golden/base/versions/1.0.1', 'ami-b101'),
          parameter('/golden/base/latest', 'ami-b101'),
          parameter('/golden/app/versions/2.0.2', 'ami-a202'),
          parameter('/golden/app/versions/2.0.3', 'ami-a203'),
          parameter('/golden/app/versions/2.0.4', 'ami-a204'),
          parameter('/golden/app/latest', 'ami-a204'),
          ...parameters,
        ],
        amis: [
          ami('ami-b100', { 'gild:image': 'base', 'gild:version': '1.0.0' }),
          ami('ami-b101', { 'gild:image': 'base', 'gild:version': '1.0.1' }),
          ami('ami-a202', { 'gild:image': 'app', 'gild:version': '2.0.2', 'gild:base-ami': 'ami-b100' }),
          ami('ami-a203', { 'gild:image': 'app', 'gild:version': '2.0.3', 'gild:base-ami': 'ami-b101' }),
          ami('ami-a204', { 'gild:image': 'app', 'gild:version': '2.0.4', 'gild:base-ami': 'ami-b101' }),
          ...amis,
        ],
      },
    },
  };
}

/** Whether `id` waits for `target`, directly or through the steps it waits for. */
function waitsFor(steps: readonly PlanStep[], id: string, target: string): boolean {
  const byId = new Map(steps.map((step) => [step.id, step]));
  const seen = new Set<string>();
  const visit = (current: string): boolean => {
    if (seen.has(current)) return false;
    seen.add(current);
    return (byId.get(current)?.after ?? []).some((dependency) => dependency === target || visit(dependency));
  };
  return visit(id);
}

const ledgerWriters = (steps: readonly PlanStep[], image: string) => steps.filter((step) => step.kind === 'revoke' && step.image === image && step.ledger === true).map((step) => step.id);

describe('the plan orders the ledger writers of one image', () => {
  it('revoke --cascade: the two revokes of the descendant write its ledger one after the other', () => {
    const planned = planPointerChange({
      runId: 'r',
      now,
      image: base,
      images: [base, app],
      inventory: inventory(),
      channels: {},
      by: 'ops@h',
      change: { kind: 'revoke', version: '1.0.1', reason: 'CVE', disable: false, cascade: true },
    });
    if ('refused' in planned) throw new Error(planned.refused);
    const writers = ledgerWriters(planned.plan.steps, 'app');
    expect(writers).toEqual(['revoke:app:2.0.3:us-east-1', 'revoke:app:2.0.4:us-east-1']);
    expect(waitsFor(planned.plan.steps, writers[1]!, writers[0]!)).toBe(true);
  });

  it('two unfinished revokes of one image, finished together, write its ledger one after the other', () => {
    // Both killed after their tags and status, before the ledger write (a gild from before the ledger came first).
    const revoked = { 'gild:status': 'revoked', 'gild:revoked-reason': 'CVE', 'gild:revoked-at': now.toISOString(), 'gild:revoked-by': 'ops@h' };
    const world = inventory([
      parameter('/golden/app/status/2.0.2', JSON.stringify({ revoked: { reason: 'CVE', at: now.toISOString(), by: 'ops@h' } })),
      parameter('/golden/app/status/2.0.3', JSON.stringify({ revoked: { reason: 'CVE', at: now.toISOString(), by: 'ops@h' } })),
    ]);
    const region = world.regions['us-east-1']!;
    const tagged: Inventory = {
      ...world,
      regions: {
        'us-east-1': { ...region, amis: region.amis.map((candidate) => (['ami-a202', 'ami-a203'].includes(candidate.amiId) ? { ...candidate, tags: { ...candidate.tags, ...revoked } } : candidate)) },
      },
    };
    const { steps } = planUnfinishedRevocations({ image: app, state: imageState(tagged, 'app', ['us-east-1']), prefix: '/golden', now, channels: {}, inventory: tagged });
    const writers = ledgerWriters(steps, 'app');
    expect(writers).toEqual(['revoke:app:2.0.2:us-east-1', 'revoke:app:2.0.3:us-east-1']);
    expect(waitsFor(steps, writers[1]!, writers[0]!)).toBe(true);
  });
});

describe('ledger writes of one process', () => {
  it('started together, keep every change (each waits its turn and re-reads what the one before wrote)', async () => {
    const clients = mockableClients();
    const store = new Map<string, { value: string; version: number }>([['/golden/app/ledger', { value: JSON.stringify({ schema: 1, built: { '2.0': '2.0.4' }, revoked: {} }), version: 1 }]]);
    const ssm = mockClient(clients.ssm);
    // Every call answers a turn later, as a round trip does: started together, the writes interleave call by call.
    ssm.on(GetParameterCommand).callsFake(async (input: { Name: string }) => {
      await nextTurn();
      const found = store.get(input.Name);
      if (!found) throw new ParameterNotFound({ message: 'not found', $metadata: {} });
      return { Parameter: { Name: input.Name, Value: found.value, Version: found.version, Type: 'String' } };
    });
    ssm.on(PutParameterCommand).callsFake(async (input: { Name: string; Value: string; Overwrite?: boolean }) => {
      await nextTurn();
      const found = store.get(input.Name);
      if (found && !input.Overwrite) throw new ParameterAlreadyExists({ message: 'exists', $metadata: {} });
      store.set(input.Name, { value: input.Value, version: (found?.version ?? 0) + 1 });
      return { Version: (found?.version ?? 0) + 1 };
    });
    const context = contextOver(clients);
    expect(context.settings.ssmPrefix).toBe('/golden');
    const image = { name: 'app', buildRegion: 'us-east-1' };
    const revocation = { reason: 'its base base 1.0.1 was revoked', at: now.toISOString(), by: 'ops@host' };
    // What the runner does with two ledger writers the plan left unordered: a publish and two revokes, all at once.
    await Promise.all([
      recordInLedger(context, image, (ledger) => recordRevoked(ledger, '2.0.3', revocation)),
      recordInLedger(context, image, (ledger) => recordRevoked(ledger, '2.0.4', revocation)),
      recordInLedger(context, image, (ledger) => recordBuilt(ledger, '2.1.0')),
    ]);
    const ledger = parseLedger(store.get('/golden/app/ledger')!.value);
    expect(Object.keys(ledger.revoked).sort()).toEqual(['2.0.3', '2.0.4']);
    expect(activeRevocation(ledger, '2.0.3')).toEqual(revocation);
    expect(ledger.built).toEqual({ '2.0': '2.0.4', '2.1': '2.1.0' });
    expect(store.get('/golden/app/ledger')!.version).toBe(4);
  });

  it('a failed write does not stop the next one from taking its turn', async () => {
    const clients = mockableClients();
    const store = new Map<string, string>([['/golden/app/ledger', JSON.stringify({ schema: 1, built: {}, revoked: {} })]]);
    const ssm = mockClient(clients.ssm);
    ssm.on(GetParameterCommand).callsFake(async (input: { Name: string }) => ({ Parameter: { Name: input.Name, Value: store.get(input.Name), Version: 1, Type: 'String' } }));
    ssm.on(PutParameterCommand).callsFake(async (input: { Name: string; Value: string }) => {
      store.set(input.Name, input.Value);
      return { Version: 2 };
    });
    const context = contextOver(clients);
    const image = { name: 'app', buildRegion: 'us-east-1' };
    const failing = recordInLedger(context, image, () => {
      throw new Error('the change could not be made');
    });
    const next = recordInLedger(context, image, (ledger) => recordBuilt(ledger, '2.1.0'));
    await expect(failing).rejects.toThrow('the change could not be made');
    await next;
    expect(parseLedger(store.get('/golden/app/ledger')).built).toEqual({ '2.1': '2.1.0' });
  });
});
