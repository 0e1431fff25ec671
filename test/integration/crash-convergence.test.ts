/**
 * Kill a real `gild run` with SIGKILL at each stage boundary, then run again:
 * the world converges (test/support/convergence.ts). The kill points are
 * exact, not timed: the fault proxy holds the one AWS call that marks the
 * point, tells the test, and the test kills gild while that call hangs.
 * Also: two runs started together on one moto publish one set of versions.
 *
 * Every case starts from its image published at 1.0.0 in both regions. One
 * run in the file's set-up publishes them all (each case has an image of its
 * own, so a case's kill and recovery touch that image alone), and every
 * convergence check looks at the whole world: every image, every region.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy, type HoldRule } from '../support/fault-proxy.ts';
import { convergenceViolations } from '../support/convergence.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createTempProject, imageSource, type TempProject } from '../support/project.ts';
import { parametersUnder } from '../support/aws-state.ts';

const settings = `import { defineSettings } from 'gild';
export default defineSettings({ ssmPrefix: '/golden', retention: { keep: 1 }, requiredTags: [], smoke: { instanceTypes: ['t3.micro'], checkTimeoutSeconds: 60, timeoutSeconds: 300 } });
`;
const imageRegions = ['us-east-1', 'us-west-2'] as const;
/** One image per case, named for it. */
const caseImages = ['after-build', 'in-smoke', 'in-publish', 'in-retire', 'racing'] as const;
type CaseImage = (typeof caseImages)[number];
/** An AWS call the fault proxy holds; the test kills gild while it hangs. */
type KillPoint = Omit<HoldRule, 'onHeld' | 'release'>;
const regions: Readonly<Record<string, readonly string[]>> = Object.fromEntries(caseImages.map((image) => [image, imageRegions]));
const imageFile = (image: string) => imageSource({ name: image, extra: "smoke: { checks: [{ name: 'serves', run: 'true' }] }," });

async function versionsOf(endpoint: string, image: CaseImage, region: string): Promise<string[]> {
  const parameters = await parametersUnder(endpoint, region, `/golden/${image}/versions`);
  return Object.keys(parameters)
    .map((name) => name.split('/versions/')[1]!)
    .sort();
}

describe('a run killed at any point converges on the next run', () => {
  let moto: MotoServer;
  let proxy: FaultProxy;
  let project: TempProject;
  // moto answers at once: poll it quickly.
  const env = () => ({ ...proxy.env(moto.env), GILD_SMOKE_POLL_MS: '100' });

  async function runAndCheck(args: readonly string[]): Promise<string> {
    const result = await project.gild(args, env());
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(await convergenceViolations(moto.endpoint, regions)).toEqual([]);
    return result.stdout;
  }

  // The set-up: every case's image published at 1.0.0, converged.
  beforeAll(async () => {
    moto = await startMoto();
    proxy = await startFaultProxy(moto.motoEndpoint);
    project = await createTempProject({ settings, images: Object.fromEntries(caseImages.map((image) => [`${image}.ts`, imageFile(image)])) });
    await runAndCheck(['run']);
    for (const image of caseImages) for (const region of imageRegions) expect(await versionsOf(moto.endpoint, image, region)).toEqual(['1.0.0']);
  }, 300_000);
  beforeEach(() => proxy.reset());
  afterAll(async () => {
    await project?.remove();
    await proxy?.stop();
    await moto?.stop();
  });

  async function killAt(args: readonly string[], holds: readonly KillPoint[]): Promise<void> {
    let held!: () => void;
    const reached = new Promise<void>((resolve) => (held = resolve));
    proxy.setRules({ holds: holds.map((hold) => ({ ...hold, onHeld: () => held() })) });
    const child = project.spawn(args, env());
    const ended = child.then((result) => result);
    await Promise.race([reached, ended.then((result) => Promise.reject(new Error(`gild ended before the kill point (exit ${result.exitCode}):\n${String(result.stdout)}\n${String(result.stderr)}`)))]);
    child.kill('SIGKILL');
    const result = await ended;
    expect(result.signal).toBe('SIGKILL');
    proxy.reset();
  }

  /** The AMI IDs `versions/<version>` of `image` names, one per region. */
  const amisOf = async (image: CaseImage, version: string) =>
    Promise.all(imageRegions.map(async (region) => (await parametersUnder(moto.endpoint, region, `/golden/${image}/versions`))[`/golden/${image}/versions/${version}`]!));

  // Each hold is scoped to its case's image, so that no other image's call (a leftover of another case) is taken for the kill point.
  const cases: { point: string; image: CaseImage; holds: () => Promise<KillPoint[]>; next: readonly string[]; expectPlan: RegExp; versions: string[] }[] = [
    // Packer is done and the AMIs exist (tagged candidate); the smoke instance is being launched (its Name tag,
    // `gild-smoke-<image>-<version>`, src/smoke/launch-instances.ts).
    {
      point: 'after the build',
      image: 'after-build',
      holds: async () => [{ service: 'ec2', action: 'RunInstances', bodyIncludes: 'Value=gild-smoke-after-build-' }],
      next: ['--force'],
      expectPlan: /resume 1\.0\.1 from run/,
      versions: ['1.0.1'],
    },
    // A smoke check is being sent: the smoke instance is running and must be swept. The command's comment names the
    // image (`gild smoke in-smoke serves`, src/smoke/run-smoke-checks.ts).
    {
      point: 'during the smoke test',
      image: 'in-smoke',
      holds: async () => [{ service: 'ssm', action: 'SendCommand', bodyIncludes: ' in-smoke ' }],
      next: ['--force'],
      expectPlan: /sweep us-east-1 instance i-/,
      versions: ['1.0.1'],
    },
    // versions/1.0.1 is written in every region; latest is being moved.
    {
      point: 'between versions/ and latest',
      image: 'in-publish',
      holds: async () => [{ service: 'ssm', action: 'PutParameter', bodyIncludes: '/golden/in-publish/latest' }],
      next: [],
      expectPlan: /finish publishing 1\.0\.1/,
      versions: ['1.0.1'],
    },
    // 1.0.0 is being retired (keep 1): its parameter is gone, the AMI is marked retiring. DeregisterImage names only the
    // AMI: the hold is on in-retire 1.0.0's AMIs (either region's, whichever is retired first), read before the run.
    {
      point: 'during retirement',
      image: 'in-retire',
      holds: async () => (await amisOf('in-retire', '1.0.0')).map((amiId) => ({ service: 'ec2', action: 'DeregisterImage', bodyIncludes: `ImageId=${amiId}` })),
      next: [],
      expectPlan: /retire \(deregister\) 1\.0\.0 in /,
      versions: ['1.0.1'],
    },
  ];

  // NOTE: each case runs gild three times, one of them killed, with real Packer builds: minutes on a busy 2-core machine.
  const caseTimeoutMs = 300_000;
  for (const { point, image, holds, next, expectPlan, versions } of cases) {
    it(`converges after SIGKILL ${point}`, { timeout: caseTimeoutMs }, async () => {
      await killAt(['run', '--force', image], await holds());
      const plan = await project.gild(['plan', ...next, image], env());
      expect(plan.stdout, plan.stderr).toMatch(expectPlan);
      await runAndCheck(['run', ...next, image]);
      for (const region of imageRegions) expect(await versionsOf(moto.endpoint, image, region)).toEqual(versions);
    });
  }

  it('two runs started together publish one set of versions, and the one that yields says why', { timeout: caseTimeoutMs }, async () => {
    const image = 'racing';
    // The run that gets the lock is held at its Packer launch until the other run has observed the world
    // (each run's observation lists key pairs once per region), so the two truly overlap.
    let keyPairListings = 0;
    let bothObserved!: () => void;
    const release = new Promise<void>((resolve) => (bothObserved = resolve));
    proxy.setRules({
      holds: [{ service: 'ec2', action: 'RunInstances', bodyIncludes: 'Value=build', release }],
      onCall: (call) => {
        if (call.action === 'DescribeKeyPairs' && ++keyPairListings === 2 * imageRegions.length) bothObserved();
      },
    });
    const [first, second] = await Promise.all([project.gild(['run', '--force', image], env()), project.gild(['run', '--force', image], env())]);
    proxy.reset();
    for (const result of [first, second]) expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
    const outputs = [first.stdout, second.stdout];
    expect(outputs.filter((output) => /racing 1\.0\.1 published/.test(output))).toHaveLength(1);
    expect(outputs.filter((output) => /racing left alone: .*(another run|holds its lock)/.test(output))).toHaveLength(1);
    for (const region of imageRegions) expect(await versionsOf(moto.endpoint, image, region)).toEqual(['1.0.1']);
    expect(await convergenceViolations(moto.endpoint, regions)).toEqual([]);
  });
});
