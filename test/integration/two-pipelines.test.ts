/**
 * Two gild pipelines in one account, on one moto: prod under `/golden` and staging under another SSM prefix
 * (`/golden-staging`, or `/golden/staging` nested below prod's), both with an image named `web`. Each tags what it
 * makes with its prefix (`gild:prefix`), and one's run leaves the other's AMIs alone: an in-flight tested AMI is not
 * its leftover, and a published one is not a retirement that stopped halfway.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { awsClients, imageState, parametersUnder } from '../support/aws-state.ts';
import { useMotoBehindFaultProxy } from '../support/moto.ts';
import { createTempProject, imageSource, type TempProject } from '../support/project.ts';
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';

const region = 'us-east-1';
const settingsFor = (ssmPrefix: string) => `import { defineSettings } from 'gild';
export default defineSettings({ ssmPrefix: '${ssmPrefix}', requiredTags: [], smoke: { instanceTypes: ['t3.micro'], checkTimeoutSeconds: 60, timeoutSeconds: 300 } });
`;
const web = imageSource({ name: 'web', regions: "{ build: 'us-east-1' }", extra: "smoke: { checks: [{ name: 'serves', run: 'true' }] }," });

describe('two gild pipelines (two SSM prefixes) in one account with the same image name', () => {
  const emulator = useMotoBehindFaultProxy();
  const env = () => ({ ...emulator.proxy.env(emulator.moto.env), GILD_SMOKE_POLL_MS: '100' });
  const projects: TempProject[] = [];
  const project = async (ssmPrefix: string) => {
    const created = await createTempProject({ settings: settingsFor(ssmPrefix), images: { 'web.ts': web } });
    projects.push(created);
    return created;
  };
  afterEach(async () => {
    await Promise.all(projects.splice(0).map((created) => created.remove()));
  });

  async function run(target: TempProject, args: readonly string[] = ['run']) {
    const result = await target.gild(args, env());
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
    return result;
  }

  /** Every AMI tagged gild:image=web, with its gild:prefix tag. */
  async function webAmis(): Promise<{ amiId: string; prefix: string | undefined; status: string | undefined }[]> {
    const { ec2 } = awsClients(emulator.moto.endpoint, region);
    const found = await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag:gild:image', Values: ['web'] }] }));
    return (found.Images ?? []).map((image) => {
      const tags = Object.fromEntries((image.Tags ?? []).map((tag) => [tag.Key!, tag.Value!]));
      return { amiId: image.ImageId!, prefix: tags['gild:prefix'], status: tags['gild:status'] };
    });
  }

  it('prod’s run leaves staging’s in-flight tested AMI alone (/golden-staging), and staging publishes it', { timeout: 300_000 }, async () => {
    const prod = await project('/golden');
    const staging = await project('/golden-staging');
    await run(prod);
    const prodAmi = (await parametersUnder(emulator.moto.endpoint, region, '/golden/web'))['/golden/web/versions/1.0.0']!;
    expect((await imageState(emulator.moto.endpoint, region, prodAmi))?.tags).toMatchObject({ 'gild:prefix': '/golden' });

    // staging's run is held as it publishes: its AMI is tested, named by no parameter yet
    let release!: () => void;
    let held!: () => void;
    const reached = new Promise<void>((resolve) => (held = resolve));
    emulator.proxy.setRules({
      holds: [{ service: 'ssm', action: 'PutParameter', bodyIncludes: '/golden-staging/web/versions/1.0.0', onHeld: () => held(), release: new Promise<void>((resolve) => (release = resolve)) }],
    });
    const stagingRun = staging.spawn(['run'], env());
    await Promise.race([reached, stagingRun.then((result) => Promise.reject(new Error(`staging's run ended before publishing (exit ${result.exitCode}):\n${String(result.stderr)}`)))]);
    const inFlight = (await webAmis()).filter((ami) => ami.prefix === '/golden-staging');
    expect(inFlight).toEqual([{ amiId: expect.stringMatching(/^ami-/), prefix: '/golden-staging', status: 'tested' }]);
    const stagingAmi = inFlight[0]!.amiId;

    const plan = await run(prod, ['plan']);
    expect(plan.stdout).not.toContain(stagingAmi);
    const prodRun = await run(prod);
    expect(`${prodRun.stdout}\n${prodRun.stderr}`).not.toContain(stagingAmi);
    expect(await imageState(emulator.moto.endpoint, region, stagingAmi)).toBeDefined();

    release();
    const finished = await stagingRun;
    expect(finished.exitCode, `${String(finished.stdout)}\n${String(finished.stderr)}`).toBe(0);
    expect((await parametersUnder(emulator.moto.endpoint, region, '/golden-staging/web'))['/golden-staging/web/versions/1.0.0']).toBe(stagingAmi);
    expect((await imageState(emulator.moto.endpoint, region, stagingAmi))?.tags).toMatchObject({ 'gild:prefix': '/golden-staging', 'gild:status': 'published' });
    expect((await parametersUnder(emulator.moto.endpoint, region, '/golden/web'))['/golden/web/versions/1.0.0']).toBe(prodAmi);
  });

  it('a pipeline nested below prod’s prefix (/golden/staging): prod’s run neither retires its published AMI nor counts its version', { timeout: 300_000 }, async () => {
    const prod = await project('/golden');
    const staging = await project('/golden/staging');
    await run(prod);
    await run(staging);
    await run(staging, ['run', '--force']);
    const stagingParameters = await parametersUnder(emulator.moto.endpoint, region, '/golden/staging/web');
    const stagingAmis = [stagingParameters['/golden/staging/web/versions/1.0.0']!, stagingParameters['/golden/staging/web/versions/1.0.1']!];
    expect(stagingAmis.every((amiId) => amiId?.startsWith('ami-'))).toBe(true);

    // prod's plan of a rebuild: staging's AMIs are no retirement of its own, and its next number is its own 1.0.1
    const plan = await run(prod, ['plan', '--force']);
    for (const amiId of stagingAmis) expect(plan.stdout).not.toContain(amiId);
    await run(prod, ['run', '--force']);
    const prodParameters = await parametersUnder(emulator.moto.endpoint, region, '/golden/web');
    expect(
      Object.keys(prodParameters)
        .filter((name) => name.startsWith('/golden/web/versions/'))
        .sort(),
    ).toEqual(['/golden/web/versions/1.0.0', '/golden/web/versions/1.0.1']);
    for (const amiId of stagingAmis) expect((await imageState(emulator.moto.endpoint, region, amiId))?.tags).toMatchObject({ 'gild:prefix': '/golden/staging', 'gild:status': 'published' });
    // and staging's next run, the other way round, leaves prod's alone
    await run(staging);
    for (const amiId of [prodParameters['/golden/web/versions/1.0.0']!, prodParameters['/golden/web/versions/1.0.1']!])
      expect((await imageState(emulator.moto.endpoint, region, amiId))?.tags).toMatchObject({ 'gild:prefix': '/golden', 'gild:status': 'published' });
  });
});
