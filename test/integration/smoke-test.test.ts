/**
 * The smoke stage against real moto, with the fault proxy in between to make
 * commands fail, hang, meet an unregistered agent and be throttled, which
 * moto alone never does.
 */
import { DescribeImagesCommand, DescribeSnapshotsCommand } from '@aws-sdk/client-ec2';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeInstances } from '../../src/adapters/ec2.ts';
import { createContext, type Context } from '../../src/context.ts';
import { emulatorProfile } from '../../src/target/emulator-profile.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { createSmokeTest } from '../../src/stages/smoke-test.ts';
import { createSmokeStage } from '../../src/stages/smoke.ts';
import { discardStage } from '../../src/stages/discard.ts';
import type { StepOfKind } from '../../src/plan/run-plan.ts';
import type { ResolvedImage, ResolvedSmoke } from '../../src/definition/resolved-image.ts';
import { stepRunFixture } from '../support/step-run-fixture.ts';
import { useMotoBehindFaultProxy } from '../support/moto.ts';
import { registerBuiltAmi, smokeImage, smokeRun, type CheckInput } from '../support/smoke-fixture.ts';

const region = 'us-east-1';
const runSmokeTest = createSmokeTest({ pollMs: 25, instancePollMs: 25, registration: { attempts: 6, baseDelayMs: 20, maxDelayMs: 100 } });

const emulator = useMotoBehindFaultProxy();
let cwd: string;
let context: Context;

beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'gild-smoke-'));
  context = createContext({ cwd, env: emulator.proxy.env(emulator.moto.env), logger: createMemoryLogger(), settings: pipelineSettingsSchema.parse({}) });
});

afterEach(async () => {
  // In every case: no instance gild tagged is left pending or running.
  const live = await describeInstances(context.clients.ec2(region), [
    { Name: 'tag-key', Values: ['gild:run-id'] },
    { Name: 'instance-state-name', Values: ['pending', 'running'] },
  ]);
  context.clients.destroy();
  await rm(cwd, { recursive: true, force: true });
  expect(live.map((instance) => instance.instanceId)).toEqual([]);
});

async function smokeTest(checks: CheckInput[], settings: Partial<ResolvedSmoke> = {}) {
  const amiId = await registerBuiltAmi(context.clients.ec2(region), context, 'web');
  const run = smokeRun(smokeImage({ checks, smoke: settings }), { logDir: join(cwd, '.gild', 'logs', context.runId), amis: { [region]: amiId } });
  emulator.proxy.calls.length = 0;
  const smoke = await runSmokeTest(context, run);
  return { amiId, run, smoke };
}

/** The smoke step as the runner runs it, then (as the runner does once it failed) its plan's discard step: check, then run. */
async function smokeStepThenDiscard(amiId: string, image: ResolvedImage) {
  const stepRun = stepRunFixture(image, { runDir: join(cwd, 'run'), outputs: { 'build:web': { kind: 'build', output: { amis: { [region]: amiId }, snapshots: {}, baseAmiId: 'ami-1e749f67' } } } });
  const common = { image: 'web', version: '1.0.0', amis: { from: 'build:web' }, reason: 'test', precondition: 'test' };
  emulator.proxy.calls.length = 0;
  const failure = await createSmokeStage(runSmokeTest)
    .run(context, { ...common, id: 'smoke:web', kind: 'smoke', previousVersion: undefined, after: ['build:web'] }, stepRun)
    .then(
      () => undefined,
      (error: unknown) => error,
    );
  await Promise.all(stepRun.settling);
  const discardStep: StepOfKind<'discard'> = { ...common, id: `discard:web:${region}`, kind: 'discard', region, onFailure: image.smoke.onFailure, after: ['smoke:web'] };
  // NOTE: as the runner's context on the emulator is: moto refuses DescribeParameters' DataType filter.
  const onEmulator = { ...context, target: emulatorProfile({ endpoint: emulator.moto.endpoint, why: 'the test started it', standInSources: {}, twins: undefined }) };
  const moved = await discardStage.check!(onEmulator, discardStep, stepRun);
  const output = moved ? undefined : await discardStage.run(onEmulator, discardStep, stepRun);
  return { failure, stepRun, discard: { moved, output } };
}

async function amiState(amiId: string) {
  const images = await context.clients
    .ec2(region)
    .send(new DescribeImagesCommand({ ImageIds: [amiId] }))
    .catch(() => ({ Images: [] }));
  const image = images.Images?.[0];
  return image ? { state: image.State, tags: Object.fromEntries((image.Tags ?? []).map((tag) => [tag.Key, tag.Value])) } : undefined;
}

describe('smoke test against moto', () => {
  it('passes when every check passes, terminates the instance and writes the report', async () => {
    const { amiId, run, smoke } = await smokeTest(
      [
        { name: 'nginx answers', run: 'curl -fsS localhost' },
        { name: 'disk', run: ['df -h /'] },
      ],
      { instanceTypes: ['t3.micro', 't3.small'] },
    );

    expect(smoke.result).toBe('passed');
    expect('checks' in smoke ? smoke.checks.map((check) => [check.name, check.instanceType, check.outcome]) : []).toEqual(
      expect.arrayContaining([
        ['nginx answers', 't3.micro', 'passed'],
        ['disk', 't3.micro', 'passed'],
        ['nginx answers', 't3.small', 'passed'],
        ['disk', 't3.small', 'passed'],
      ]),
    );
    expect(run.pendingCleanups.size).toBe(0);
    expect(emulator.proxy.actions('ssm')).not.toContain('DescribeInstanceInformation');
    expect(emulator.proxy.actions('ec2')).toContain('TerminateInstances');

    const smokeInstances = await describeInstances(context.clients.ec2(region), [{ Name: 'tag:gild:role', Values: ['smoke'] }]);
    expect(smokeInstances).toHaveLength(2);
    expect(smokeInstances.map((instance) => instance.state)).toEqual(['terminated', 'terminated']);
    expect(smokeInstances[0]!.tags).toMatchObject({ 'gild:run-id': context.runId, 'gild:image': 'web', 'gild:role': 'smoke', 'gild:prefix': '/golden', Name: 'gild-smoke-web-1.0.0' });

    const report = JSON.parse(await readFile(join(run.logDir, 'web.smoke.json'), 'utf8'));
    expect(report).toMatchObject({ image: 'web', version: '1.0.0', amiId, result: 'passed' });
    expect(report.instances).toHaveLength(2);
    expect(await readFile(run.logFile, 'utf8')).toContain('--- smoke check "nginx answers"');
    expect((await amiState(amiId))?.state).toBe('available');
  });

  it('fails a check whose command fails; the smoke step tags the AMI failed and the planned discard step, checked against live state, deregisters it with its snapshots', async () => {
    emulator.proxy.setRules({ commands: [{ marker: 'systemctl is-active nginx', status: 'Failed', exitCode: 3, stdout: 'inactive', stderr: 'nginx.service: not running' }] });
    const amiId = await registerBuiltAmi(context.clients.ec2(region), context, 'web');
    const ec2 = context.clients.ec2(region);
    const snapshotIds = (await ec2.send(new DescribeImagesCommand({ ImageIds: [amiId] }))).Images![0]!.BlockDeviceMappings!.flatMap((mapping) =>
      mapping.Ebs?.SnapshotId ? [mapping.Ebs.SnapshotId] : [],
    );
    const { failure, stepRun, discard } = await smokeStepThenDiscard(amiId, smokeImage({ checks: [{ name: 'nginx running', run: 'systemctl is-active nginx' }] }));

    expect(failure).toMatchObject({ message: expect.stringContaining('exited with code 3, expected 0') });
    // The smoke step only marked it: the removal is the discard step's, and its check found nothing against it.
    expect(discard.moved).toBe(false);
    expect(discard.output).toMatchObject({ removed: [amiId, ...snapshotIds] });
    expect(await amiState(amiId)).toBeUndefined();
    if (snapshotIds.length) {
      const snapshots = await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
      expect(snapshots.Snapshots?.map((snapshot) => snapshot.SnapshotId)).not.toEqual(expect.arrayContaining(snapshotIds));
    }
    const evidence = await readFile(stepRun.logFile, 'utf8');
    expect(evidence).toContain('nginx.service: not running');
    expect(stepRun.summary.join('\n')).toContain(`deregistered ${amiId}`);
  });

  it('leaves a failed AMI that a parameter names: the discard step finds the world moved', async () => {
    emulator.proxy.setRules({ commands: [{ marker: 'exit 1', status: 'Failed' }] });
    const amiId = await registerBuiltAmi(context.clients.ec2(region), context, 'web');
    // Someone pointed a parameter of the image at it after the plan was made.
    await context.clients.ssm(region).send(new PutParameterCommand({ Name: '/golden/web/pinned', Value: amiId, Type: 'String' }));

    const { discard } = await smokeStepThenDiscard(amiId, smokeImage({ checks: [{ name: 'fails', run: 'exit 1' }] }));

    expect(discard.moved).toBe(`/golden/web/pinned now names ${amiId}`);
    expect(await amiState(amiId)).toMatchObject({ state: 'available', tags: { 'gild:status': 'failed' } });
  });

  it('keeps a failed AMI, tagged failed, when onFailure is keep, until keepFailedDays have passed', async () => {
    emulator.proxy.setRules({ commands: [{ marker: 'exit 1', status: 'Failed' }] });
    const amiId = await registerBuiltAmi(context.clients.ec2(region), context, 'web');
    const before = Date.now();
    const { failure, stepRun, discard } = await smokeStepThenDiscard(amiId, smokeImage({ checks: [{ name: 'fails', run: 'exit 1' }], smoke: { onFailure: 'keep' } }));
    const after = Date.now();

    expect(failure).toMatchObject({ message: expect.stringContaining('smoke test failed') });
    expect(discard).toMatchObject({ moved: false, output: { removed: [] } });
    const ami = await amiState(amiId);
    expect(ami).toMatchObject({
      state: 'available',
      tags: { 'gild:status': 'failed', 'gild:failure': expect.stringContaining('check "fails"'), 'gild:keep-reason': expect.stringContaining('smoke.onFailure is "keep"') },
    });
    // Stamped when kept: the default keep period (7 days) from then.
    const keepUntil = Date.parse(ami!.tags['gild:keep-until']!);
    expect(keepUntil).toBeGreaterThanOrEqual(before + 7 * 86_400_000);
    expect(keepUntil).toBeLessThanOrEqual(after + 7 * 86_400_000);
    expect(emulator.proxy.actions('ec2')).not.toContain('DeregisterImage');
    expect(stepRun.summary.join('\n')).toContain(`kept ${amiId} unpublished, tagged gild:status=failed until ${ami!.tags['gild:keep-until']}`);
  });

  it('fails a check that exits with an unexpected code even when Run Command reports Success', async () => {
    emulator.proxy.setRules({ commands: [{ marker: 'weird', status: 'Success', exitCode: 2 }] });
    const { smoke } = await smokeTest([{ name: 'weird exit', run: 'weird' }]);

    expect(smoke).toMatchObject({ result: 'failed', reason: expect.stringContaining('exited with code 2, expected 0') });
  });

  it('fails a check whose stdout does not match', async () => {
    emulator.proxy.setRules({ commands: [{ marker: 'nginx -v', status: 'Success', stdout: 'nginx version: 1.18' }] });
    const { smoke } = await smokeTest([{ name: 'nginx version', run: 'nginx -v', stdoutMatches: ['nginx/1\\.2\\d'] }]);

    expect(smoke).toMatchObject({ result: 'failed', reason: expect.stringContaining('stdout does not match /nginx/1\\.2\\d/') });
  });

  it("times out a check that never finishes, by gild's own per-check deadline", async () => {
    emulator.proxy.setRules({ commands: [{ marker: 'sleep infinity', status: 'InProgress' }] });
    const started = Date.now();
    const { amiId, smoke } = await smokeTest([{ name: 'hangs', run: 'sleep infinity', timeoutSeconds: 1 }]);

    expect(Date.now() - started).toBeLessThan(10_000);
    expect(smoke).toMatchObject({ result: 'timed-out', reason: expect.stringContaining('within its 1s timeout') });
    expect(emulator.proxy.actions('ssm')).toContain('CancelCommand');
    // The test itself changes no AMI: the smoke step marks it, the plan's discard step removes it.
    const ami = await amiState(amiId);
    expect(ami?.state).toBe('available');
    expect(ami?.tags['gild:status']).toBeUndefined();
  });

  it('stops at the overall timeout even when per-check timeouts are longer', async () => {
    emulator.proxy.setRules({ commands: [{ marker: 'sleep infinity', status: 'InProgress' }] });
    const { smoke } = await smokeTest(
      [
        { name: 'hangs', run: 'sleep infinity' },
        { name: 'never runs', run: 'true' },
      ],
      { checkTimeoutSeconds: 60, timeoutSeconds: 1 },
    );

    expect(smoke).toMatchObject({ result: 'timed-out' });
    // The definition's checks; gild's new-machine checks ran first, and are not-verified here (see smoke-new-machine.test.ts).
    const checks = ('checks' in smoke ? smoke.checks : []).filter((check) => !check.name.startsWith('new machine:'));
    expect(checks.map((check) => [check.name, check.outcome])).toEqual([
      ['hangs', 'timed-out'],
      ['never runs', 'timed-out'],
    ]);
    expect(checks[0]!.reason).toContain('overall smoke timeout');
  });

  it('waits for the SSM agent: InvalidInstanceId a few times, then passes', async () => {
    emulator.proxy.setRules({ invalidInstanceIdTimes: 3 });
    const { smoke } = await smokeTest([{ name: 'ok', run: 'true' }]);

    expect(smoke.result).toBe('passed');
    expect(emulator.proxy.calls.filter((call) => call.fault === 'invalid-instance-id')).toHaveLength(3);
  });

  it('fails with a clear reason when the SSM agent never registers', async () => {
    emulator.proxy.setRules({ invalidInstanceIdTimes: 1000 });
    const { smoke } = await smokeTest([{ name: 'ok', run: 'true' }]);

    expect(smoke).toMatchObject({ result: 'failed', reason: expect.stringContaining('did not register after 6 SendCommand attempts') });
  });

  it('still passes when 30% of EC2 and SSM calls are throttled', async () => {
    const amiId = await registerBuiltAmi(context.clients.ec2(region), context, 'web');
    emulator.proxy.setRules({ throttle: { ec2: { first: 1, share: 0.3, maxConsecutive: 1 }, ssm: { first: 1, share: 0.3, maxConsecutive: 1 } }, seed: 7 });
    const run = smokeRun(smokeImage({ checks: [{ name: 'a', run: 'true' }] }), { logDir: join(cwd, 'logs'), amis: { [region]: amiId } });

    const smoke = await runSmokeTest(context, run);

    expect(smoke.result).toBe('passed');
    const throttled = emulator.proxy.calls.filter((call) => call.fault === 'throttled');
    expect(new Set(throttled.map((call) => call.service))).toEqual(new Set(['ec2', 'ssm']));
  });

  it('still passes when EC2 and SSM answer transient 500s', async () => {
    const amiId = await registerBuiltAmi(context.clients.ec2(region), context, 'web');
    emulator.proxy.setRules({ serverErrors: { ec2: { first: 1, share: 0.2 }, ssm: { first: 1, share: 0.2 } }, seed: 3 });
    const run = smokeRun(smokeImage({ checks: [{ name: 'a', run: 'true' }] }), { logDir: join(cwd, 'logs'), amis: { [region]: amiId } });

    expect((await runSmokeTest(context, run)).result).toBe('passed');
    expect(new Set(emulator.proxy.calls.filter((call) => call.fault === 'server-error').map((call) => call.service))).toEqual(new Set(['ec2', 'ssm']));
  });

  it('collects the package manifest and diffs it against the previous version', async () => {
    const { writeManifest } = await import('../../src/smoke/package-manifest.ts');
    await writeManifest(context.workDir, 'web', '1.0.0', 'nginx 1.18\nopenssl 3.0.1\ncurl 7.0\n');
    emulator.proxy.setRules({ commands: [{ marker: 'dpkg-query', status: 'Success', stdout: 'nginx 1.24\nopenssl 3.0.1\njq 1.7\n' }] });
    const amiId = await registerBuiltAmi(context.clients.ec2(region), context, 'web');
    const run = smokeRun(smokeImage({ checks: [], smoke: { packageManifest: true } }), { logDir: join(cwd, 'logs'), amis: { [region]: amiId }, currentVersion: '1.0.0', nextVersion: '1.1.0' });

    const smoke = await runSmokeTest(context, run);

    // No check of its own ran and the built-in ones had no record of the build to compare with: nothing was verified,
    // which is said, never passed; the manifest is still evidence of what the image is made of, and kept.
    expect(smoke).toMatchObject({ result: 'skipped', reason: expect.stringMatching(/^nothing was verified: 3 not verified/) });
    expect(await readFile(join(run.logDir, 'web.packages.txt'), 'utf8')).toBe('nginx 1.24\nopenssl 3.0.1\njq 1.7\n');
    expect(await readFile(join(context.workDir, 'manifests', 'web', '1.1.0.txt'), 'utf8')).toBe('nginx 1.24\nopenssl 3.0.1\njq 1.7\n');
    expect(run.summary).toEqual(['packages since 1.0.0: 1 added, 1 removed, 1 changed', '  + jq 1.7', '  - curl 7.0', '  ~ nginx 1.18 → 1.24']);
  });

  it('lists the package manifest while the checks run, not after them', async () => {
    // The check's command is answered only once the manifest's has been sent: one after the other would never finish.
    let manifestSent!: () => void;
    const manifestArrived = new Promise<void>((resolve) => (manifestSent = resolve));
    emulator.proxy.setRules({
      commands: [{ marker: 'dpkg-query', status: 'Success', stdout: 'nginx 1.24\n' }],
      holds: [{ service: 'ssm', action: 'SendCommand', bodyIncludes: 'df -h /', release: manifestArrived }],
      onCall: (call, body) => {
        if (call.action === 'SendCommand' && body.includes('dpkg-query')) manifestSent();
      },
    });

    const { run, smoke } = await smokeTest([{ name: 'disk', run: 'df -h /' }], { packageManifest: true });

    expect(smoke.result).toBe('passed');
    expect(await readFile(join(run.logDir, 'web.packages.txt'), 'utf8')).toBe('nginx 1.24\n');
  });

  it('returns its result while the termination is unanswered when it may settle it later, and writes the report once it is answered', async () => {
    const amiId = await registerBuiltAmi(context.clients.ec2(region), context, 'web');
    let answerTermination!: () => void;
    emulator.proxy.setRules({ holds: [{ service: 'ec2', action: 'TerminateInstances', release: new Promise<void>((resolve) => (answerTermination = resolve)) }] });
    const settling: Promise<unknown>[] = [];
    const run = {
      ...smokeRun(smokeImage({ checks: [{ name: 'disk', run: 'df -h /' }] }), { logDir: join(cwd, 'logs'), amis: { [region]: amiId } }),
      settleLater: (_description: string, work: Promise<unknown>) => void settling.push(work),
    };

    const smoke = await runSmokeTest(context, run);

    expect(smoke.result).toBe('passed');
    // Until AWS accepts the termination, an interrupt would still terminate the instance.
    expect([...run.pendingCleanups.values()].map((entry) => entry.description)).toEqual([expect.stringMatching(/^terminate smoke instance i-/)]);
    await expect(readFile(join(run.logDir, 'web.smoke.json'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });

    answerTermination();
    await Promise.all(settling);
    expect(run.pendingCleanups.size).toBe(0);
    const report = JSON.parse(await readFile(join(run.logDir, 'web.smoke.json'), 'utf8'));
    expect(report).toMatchObject({ result: 'passed', instances: [{ instanceType: 't3.micro', terminated: true }] });
  });
});
