/**
 * Kill a real `gild run` with SIGKILL at each stage boundary, then run again:
 * the world converges (test/support/convergence.ts). The kill points are
 * exact, not timed: the fault proxy holds the one AWS call that marks the
 * point, tells the test, and the test kills gild while that call hangs.
 * Also: two runs started together on one moto publish one set of versions.
 */
import { describe, expect, it } from 'vitest';
import type { HoldRule } from '../support/fault-proxy.ts';
import { convergenceViolations } from '../support/convergence.ts';
import { useMotoBehindFaultProxy } from '../support/moto.ts';
import { createTempProject, imageSource, type TempProject } from '../support/project.ts';
import { parametersUnder } from '../support/aws-state.ts';

const settings = `import { defineSettings } from 'gild';
export default defineSettings({ ssmPrefix: '/golden', retention: { keep: 1 }, requiredTags: [], smoke: { instanceTypes: ['t3.micro'], checkTimeoutSeconds: 60, timeoutSeconds: 300 } });
`;
const regions = { web: ['us-east-1', 'us-west-2'] } as const;
const webImage = imageSource({ name: 'web', extra: "smoke: { checks: [{ name: 'serves', run: 'true' }] }," });

async function versionsOf(endpoint: string, region: string): Promise<string[]> {
  const parameters = await parametersUnder(endpoint, region, '/golden/web/versions');
  return Object.keys(parameters)
    .map((name) => name.split('/versions/')[1]!)
    .sort();
}

describe('a run killed at any point converges on the next run', () => {
  const emulator = useMotoBehindFaultProxy();
  // moto answers at once: poll it quickly.
  const env = () => ({ ...emulator.proxy.env(emulator.moto.env), GILD_SMOKE_POLL_MS: '100' });

  async function killAt(project: TempProject, args: readonly string[], hold: Omit<HoldRule, 'onHeld' | 'release'>): Promise<void> {
    let held!: () => void;
    const reached = new Promise<void>((resolve) => (held = resolve));
    emulator.proxy.setRules({ holds: [{ ...hold, onHeld: () => held() }] });
    const child = project.spawn(args, env());
    const ended = child.then((result) => result);
    await Promise.race([reached, ended.then((result) => Promise.reject(new Error(`gild ended before the kill point (exit ${result.exitCode}):\n${String(result.stdout)}\n${String(result.stderr)}`)))]);
    child.kill('SIGKILL');
    const result = await ended;
    expect(result.signal).toBe('SIGKILL');
    emulator.proxy.reset();
  }

  async function runAndCheck(project: TempProject, args: readonly string[]): Promise<string> {
    const result = await project.gild(args, env());
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(await convergenceViolations(emulator.moto.endpoint, regions)).toEqual([]);
    return result.stdout;
  }

  const cases: { point: string; hold: Omit<HoldRule, 'onHeld' | 'release'>; next: readonly string[]; expectPlan: RegExp; versions: string[] }[] = [
    // Packer is done and the AMIs exist (tagged candidate); the smoke instance is being launched.
    { point: 'after the build', hold: { service: 'ec2', action: 'RunInstances', bodyIncludes: 'Value=smoke' }, next: ['run', '--force'], expectPlan: /resume 1\.0\.1 from run/, versions: ['1.0.1'] },
    // A smoke check is being sent: the smoke instance is running and must be swept.
    { point: 'during the smoke test', hold: { service: 'ssm', action: 'SendCommand' }, next: ['run', '--force'], expectPlan: /sweep us-east-1 instance i-/, versions: ['1.0.1'] },
    // versions/1.0.1 is written in every region; latest is being moved.
    {
      point: 'between versions/ and latest',
      hold: { service: 'ssm', action: 'PutParameter', bodyIncludes: '/golden/web/latest' },
      next: ['run'],
      expectPlan: /finish publishing 1\.0\.1/,
      versions: ['1.0.1'],
    },
    // 1.0.0 is being retired (keep 1): its parameter is gone, the AMI is marked retiring.
    { point: 'during retirement', hold: { service: 'ec2', action: 'DeregisterImage' }, next: ['run'], expectPlan: /retire \(deregister\) 1\.0\.0 in /, versions: ['1.0.1'] },
  ];

  // NOTE: each case runs gild four times with real Packer builds: minutes on a busy 2-core machine.
  const caseTimeoutMs = 300_000;
  for (const { point, hold, next, expectPlan, versions } of cases) {
    it(`converges after SIGKILL ${point}`, { timeout: caseTimeoutMs }, async () => {
      const project = await createTempProject({ settings, images: { 'web.ts': webImage } });
      try {
        await runAndCheck(project, ['run']);
        await killAt(project, ['run', '--force'], hold);
        const plan = await project.gild(['plan', ...next.slice(1)], env());
        expect(plan.stdout, plan.stderr).toMatch(expectPlan);
        await runAndCheck(project, next);
        for (const region of regions.web) expect(await versionsOf(emulator.moto.endpoint, region)).toEqual(versions);
      } finally {
        await project.remove();
      }
    });
  }

  it('two runs started together publish one set of versions, and the one that yields says why', { timeout: caseTimeoutMs }, async () => {
    const project = await createTempProject({ settings, images: { 'web.ts': webImage } });
    try {
      await runAndCheck(project, ['run']);
      // The run that gets the lock is held at its Packer launch until the other run has observed the world
      // (each run's observation lists key pairs once per region), so the two truly overlap.
      let keyPairListings = 0;
      let bothObserved!: () => void;
      const release = new Promise<void>((resolve) => (bothObserved = resolve));
      emulator.proxy.setRules({
        holds: [{ service: 'ec2', action: 'RunInstances', bodyIncludes: 'Value=build', release }],
        onCall: (call) => {
          if (call.action === 'DescribeKeyPairs' && ++keyPairListings === 2 * regions.web.length) bothObserved();
        },
      });
      const [first, second] = await Promise.all([project.gild(['run', '--force'], env()), project.gild(['run', '--force'], env())]);
      emulator.proxy.reset();
      for (const result of [first, second]) expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
      const outputs = [first.stdout, second.stdout];
      expect(outputs.filter((output) => /web 1\.0\.1 published/.test(output))).toHaveLength(1);
      expect(outputs.filter((output) => /web left alone: .*(another run|holds its lock)/.test(output))).toHaveLength(1);
      for (const region of regions.web) expect(await versionsOf(emulator.moto.endpoint, region)).toEqual(['1.0.1']);
      expect(await convergenceViolations(emulator.moto.endpoint, regions)).toEqual([]);
    } finally {
      await project.remove();
    }
  });
});
