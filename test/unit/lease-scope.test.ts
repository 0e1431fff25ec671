/**
 * The lease is a scope the runner holds around an image's steps: the lock
 * step enters it, the release step leaves it, and what no step left is given
 * back when the runner ends. Proven with the real lock rows and an in-memory
 * Parameter Store behind the SDK client (aws-sdk-client-mock, at the adapter
 * seam); the image's other steps are fakes that look at the store.
 */
import { DeleteParameterCommand, GetParameterCommand, ParameterAlreadyExists, ParameterNotFound, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyRun } from '../../src/apply/run-trip.ts';
import { withColumns, type StageTable, type StepStage } from '../../src/apply/step-stage.ts';
import { stepTable } from '../../src/apply/step-table.ts';
import { createContext, type Context } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import { formatLease } from '../../src/observe/parse-lease.ts';
import { planSchemaVersion, type PlanStep, type PlanStepKind, type RunPlan } from '../../src/plan/run-plan.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { lockStage, releaseStage, unlockStage } from '../../src/stages/lock.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const lockName = '/golden/web/lock';

function parameterStore(store: Map<string, string>): SSMClient {
  const ssm = new SSMClient({ region: 'us-east-1' });
  const mock = mockClient(ssm);
  mock.on(GetParameterCommand).callsFake(({ Name }: { Name: string }) => {
    const value = store.get(Name);
    if (value === undefined) throw new ParameterNotFound({ message: Name, $metadata: {} });
    return { Parameter: { Name, Value: value, Version: 1 } };
  });
  mock.on(PutParameterCommand).callsFake(({ Name, Value, Overwrite }: { Name: string; Value: string; Overwrite?: boolean }) => {
    if (store.has(Name) && !Overwrite) throw new ParameterAlreadyExists({ message: Name, $metadata: {} });
    store.set(Name, Value);
    return { Version: 1 };
  });
  mock.on(DeleteParameterCommand).callsFake(({ Name }: { Name: string }) => {
    if (!store.delete(Name)) throw new ParameterNotFound({ message: Name, $metadata: {} });
    return {};
  });
  return ssm;
}

/** The real lock rows; every other kind a fake that records whether the lock parameter was there when it ran. */
function stages(seen: string[], store: Map<string, string>): StageTable {
  const fake = (kind: PlanStepKind): StepStage<PlanStepKind> => ({
    kind,
    title: (step) => step.id,
    async run(_context, step) {
      seen.push(`${step.id} ${store.has(lockName) ? 'inside the lease' : 'outside the lease'}`);
      return { removed: [] } as never;
    },
  });
  const fakes = Object.fromEntries((Object.keys(stepTable) as PlanStepKind[]).map((kind) => [kind, fake(kind)]));
  return withColumns({ ...fakes, lock: lockStage, unlock: unlockStage, release: releaseStage } as never);
}

const step = (id: string, after: readonly string[] = []) => {
  const [kind, image] = id.split(':') as [PlanStepKind, string];
  return { id, kind, image, region: 'us-east-1', parameterName: lockName, after, reason: `planned ${id}`, precondition: 'test' } as unknown as PlanStep;
};

const planOf = (steps: PlanStep[]): RunPlan => ({
  schema: planSchemaVersion,
  runId: '20261129T120000Z-scope0',
  createdAt: '2026-11-29T12:00:00.000Z',
  ssmPrefix: '/golden',
  options: { force: false, images: ['web'] },
  observed: { at: '2026-11-29T12:00:00.000Z', digests: {} },
  images: [{ image: 'web', action: 'change', reason: 'retire', currentVersion: '1.0.0' }],
  steps,
  kept: [],
});

let cwd: string;
let store: Map<string, string>;
let context: Context;
beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'gild-scope-'));
  store = new Map();
  const ssm = parameterStore(store);
  const clients = {
    ec2: () => {
      throw new Error('no EC2 in this test');
    },
    ssm: () => ssm,
    destroy: () => {},
  } as unknown as Context['clients'];
  context = createContext({
    cwd,
    env: {},
    logger: createMemoryLogger(),
    settings: pipelineSettingsSchema.parse({}),
    clients,
    runId: '20261129T120000Z-scope0',
    now: () => new Date('2026-11-29T12:00:00.000Z'),
  });
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const images = [resolvedImageFixture({ name: 'web' })];

describe('the lease scope the runner holds', () => {
  it('is entered by the lock step, held while the image works, and left by the release step', async () => {
    const seen: string[] = [];
    const { applied } = await applyRun(context, planOf([step('lock:web'), step('retire:web', ['lock:web']), step('release:web', ['lock:web', 'retire:web'])]), images, {
      stages: stages(seen, store),
      signal: new AbortController().signal,
    });

    expect(seen).toEqual(['retire:web inside the lease']);
    expect(applied.results.get('release:web')).toMatchObject({ status: 'done', output: { released: true } });
    expect(store.has(lockName)).toBe(false);
  });

  it('answers a second lock step of the image with the lease it already holds', async () => {
    const { applied } = await applyRun(context, planOf([step('lock:web'), step('lock:web:again', ['lock:web']), step('release:web', ['lock:web', 'lock:web:again'])]), images, {
      stages: stages([], store),
      signal: new AbortController().signal,
    });
    const first = applied.results.get('lock:web');
    const second = applied.results.get('lock:web:again');
    expect(first?.status === 'done' && second?.status === 'done' && second.output).toEqual(first?.status === 'done' && first.output);
  });

  it('gives back, as the runner ends, a lease no step gave back', async () => {
    const seen: string[] = [];
    const { applied } = await applyRun(context, planOf([step('lock:web'), step('retire:web', ['lock:web'])]), images, { stages: stages(seen, store), signal: new AbortController().signal });

    expect(seen).toEqual(['retire:web inside the lease']);
    expect(store.has(lockName)).toBe(false);
    expect(await readFile(applied.logFiles.get('web')!, 'utf8')).toContain('no step gave the lock back; the run gives it back as it ends');
  });

  it('leaves the image to the run whose lease it finds, and that lease in place', async () => {
    const theirs = formatLease({ runId: 'run-other', host: 'ci-2', pid: 7, takenAt: '2026-11-29T11:59:00.000Z', expiresAt: '2026-11-29T12:09:00.000Z' });
    store.set(lockName, theirs);
    const seen: string[] = [];
    const { applied, outcomes } = await applyRun(context, planOf([step('lock:web'), step('retire:web', ['lock:web']), step('release:web', ['lock:web', 'retire:web'])]), images, {
      stages: stages(seen, store),
      signal: new AbortController().signal,
    });

    expect(seen).toEqual([]);
    expect(applied.results.get('release:web')).toEqual({ status: 'skipped', reason: 'the lock was never taken' });
    expect(outcomes[0]).toMatchObject({ result: 'yielded', reason: expect.stringContaining('another run took the lock of web first') });
    expect(store.get(lockName)).toBe(theirs);
  });
});
