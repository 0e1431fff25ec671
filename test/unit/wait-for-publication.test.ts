/**
 * A job's wait for a base another job builds, at the adapter seam: done once
 * every `versions/<v>` parameter the base's publish writes exists; failed once
 * the base's lock, seen held by this plan's run, is let go with the version
 * unpublished; skipped at the deadline when the base's job never shows up.
 * The clock is the context's: each look advances it, so no test waits.
 */
import { GetParameterCommand, GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { waitForPublication } from '../../src/apply/wait-for-publication.ts';
import type { Context } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import type { PlanStep, RunPlan } from '../../src/plan/run-plan.ts';

const publish = {
  id: 'publish:base',
  kind: 'publish',
  image: 'base',
  version: '1.0.0',
  after: [],
  writes: [
    { region: 'us-east-1', name: '/golden/base/versions/1.0.0', pointer: 'version', previous: undefined },
    { region: 'us-west-2', name: '/golden/base/versions/1.0.0', pointer: 'version', previous: undefined },
    { region: 'us-east-1', name: '/golden/base/latest', pointer: 'latest', previous: undefined },
  ],
} as unknown as PlanStep;
const lock = { id: 'lock:base', kind: 'lock', image: 'base', region: 'us-east-1', parameterName: '/golden/base/lock', after: [] } as unknown as PlanStep;
const plan = { runId: 'run-1', steps: [lock, publish] } as unknown as RunPlan;
const lease = (runId: string) => JSON.stringify({ runId, host: 'runner', pid: 42, takenAt: '2026-12-07T00:00:00.000Z', expiresAt: '2026-12-07T00:15:00.000Z' });

/** One SSM client per region, a clock a minute on at every reading, and what the logger said. */
function world() {
  const clients = new Map(['us-east-1', 'us-west-2'].map((region) => [region, new SSMClient({ region, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } })]));
  const mocks = new Map([...clients].map(([region, client]) => [region, mockClient(client)]));
  let minutes = 0;
  const said: string[] = [];
  const context = { clients: { ssm: (region: string) => clients.get(region)! }, now: () => new Date(Date.UTC(2026, 11, 7, 0, minutes++)) } as unknown as Context;
  const options = { deadlineMs: 10 * 60_000, firstPollMs: 1, maxPollMs: 1, logger: createLogger((_level, line) => void said.push(line)) };
  return { mocks, context, options, said };
}

const notFound = Object.assign(new Error('not found'), { name: 'ParameterNotFound' });

describe('waitForPublication', () => {
  it('is done once the version exists in every region it is published to, however late', async () => {
    const { mocks, context, options, said } = world();
    mocks.get('us-east-1')!.on(GetParameterCommand).rejects(notFound);
    mocks.get('us-east-1')!.on(GetParametersCommand).resolves({ Parameters: [{ Name: '/golden/base/versions/1.0.0', Value: 'ami-1', Version: 1 }] });
    mocks.get('us-west-2')!.on(GetParametersCommand).resolvesOnce({ Parameters: [] }).resolvesOnce({ Parameters: [] }).resolves({ Parameters: [{ Name: '/golden/base/versions/1.0.0', Value: 'ami-2', Version: 1 }] });
    const result = await waitForPublication(context, plan, options)(publish, new AbortController().signal);
    expect(result.status).toBe('done');
    expect(mocks.get('us-west-2')!.commandCalls(GetParametersCommand)).toHaveLength(3);
    expect(said).toEqual(['waiting up to 10 min for "base" 1.0.0, which another job builds, to be published', '"base" 1.0.0 is published']);
  });

  it('fails once the lock it saw held by this run is let go without the version', async () => {
    const { mocks, context, options } = world();
    mocks.get('us-east-1')!.on(GetParameterCommand).rejectsOnce(notFound).resolvesOnce({ Parameter: { Value: lease('run-1'), Version: 1 } }).rejects(notFound);
    for (const mock of mocks.values()) mock.on(GetParametersCommand).resolves({ Parameters: [] });
    expect(await waitForPublication(context, plan, options)(publish, new AbortController().signal)).toMatchObject({ status: 'failed', reason: 'the job building "base" released its lock without publishing 1.0.0' });
  });

  it("keeps waiting while another run holds the lock, and gives up at the deadline", async () => {
    const { mocks, context, options } = world();
    mocks.get('us-east-1')!.on(GetParameterCommand).resolvesOnce({ Parameter: { Value: lease('another-run'), Version: 1 } }).rejects(notFound);
    for (const mock of mocks.values()) mock.on(GetParametersCommand).resolves({ Parameters: [] });
    expect(await waitForPublication(context, plan, options)(publish, new AbortController().signal)).toEqual({ status: 'skipped', reason: '"base" 1.0.0 was not published within 10 min (--wait-for-bases)' });
  });

  it('stops waiting when the run is interrupted', async () => {
    const { mocks, context, options } = world();
    mocks.get('us-east-1')!.on(GetParameterCommand).rejects(notFound);
    for (const mock of mocks.values()) mock.on(GetParametersCommand).resolves({ Parameters: [] });
    const interrupted = new AbortController();
    interrupted.abort();
    expect(await waitForPublication(context, plan, { ...options, deadlineMs: 60 * 60_000 })(publish, interrupted.signal)).toEqual({ status: 'skipped', reason: 'interrupted while waiting for it' });
  });
});
