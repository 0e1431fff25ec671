/**
 * A revoke killed right after its ledger write (SIGKILL on a real `gild revoke`, at the exact AWS call after it) is
 * finished by the next nightly run as it was asked: `--disable` included, although no AMI said so yet. And a second
 * revoke of a version restored in between, whose copy region was tagged before the ledger was written, is finished
 * as a revoke, never taken for the restore and undone. The kill
 * point is exact, not timed: the fault proxy holds the call, tells the test, and the test kills gild while it hangs.
 *
 * moto has no DisableImage or EnableImageDeprecation (the emulator target says so in the log): what is proven here is
 * that the finishing step is planned and applied with `disable`, which it stamps as gild:disabled-at on the AMI.
 */
import { CreateTagsCommand } from '@aws-sdk/client-ec2';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { awsClients, imageState, parametersUnder } from '../support/aws-state.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createTempProject, imageSource, type TempProject } from '../support/project.ts';

const settings = `import { defineSettings } from 'gild';
export default defineSettings({ ssmPrefix: '/golden', requiredTags: [], smoke: { instanceTypes: ['t3.micro'], checkTimeoutSeconds: 60, timeoutSeconds: 300 } });
`;
const regions = ['us-east-1', 'us-west-2'] as const;

describe('a revoke killed right after its ledger write', () => {
  let moto: MotoServer;
  let proxy: FaultProxy;
  let project: TempProject;
  const env = () => ({ ...proxy.env(moto.env), GILD_SMOKE_POLL_MS: '100' });
  const gild = async (args: readonly string[]) => {
    const result = await project.gild(args, env());
    expect(result.exitCode, `gild ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
    return result;
  };
  const published = async (image: string, version: string) =>
    Object.fromEntries(
      await Promise.all(regions.map(async (region) => [region, (await parametersUnder(moto.endpoint, region, `/golden/${image}`))[`/golden/${image}/versions/${version}`]!] as const)),
    );
  const ledger = async (image: string) =>
    JSON.parse((await parametersUnder(moto.endpoint, 'us-east-1', `/golden/${image}`))[`/golden/${image}/ledger`] ?? '{}') as { revoked?: Record<string, Record<string, unknown>> };

  /** Runs gild until the proxy holds the first SSM PutParameter of `status/<version>` (the build region's, right after the ledger write), and kills it there. */
  async function killAtStatusWrite(args: readonly string[], version: string): Promise<void> {
    let held!: () => void;
    const reached = new Promise<void>((resolve) => (held = resolve));
    proxy.setRules({ holds: [{ service: 'ssm', action: 'PutParameter', bodyIncludes: `/status/${version}`, onHeld: () => held() }] });
    const child = project.spawn(args, env());
    const ended = child.then((result) => result);
    await Promise.race([reached, ended.then((result) => Promise.reject(new Error(`gild ended before the kill point (exit ${result.exitCode}):\n${String(result.stdout)}\n${String(result.stderr)}`)))]);
    child.kill('SIGKILL');
    expect((await ended).signal).toBe('SIGKILL');
    proxy.reset();
  }

  beforeAll(async () => {
    moto = await startMoto();
    proxy = await startFaultProxy(moto.motoEndpoint);
    project = await createTempProject({ settings, images: { 'disabled.ts': imageSource({ name: 'disabled' }), 'again.ts': imageSource({ name: 'again' }) } });
    await gild(['run']);
    await gild(['run', '--force']);
  }, 300_000);
  beforeEach(() => proxy.reset());
  afterAll(async () => {
    await project?.remove();
    await proxy?.stop();
    await moto?.stop();
  });

  it('with --disable: the next run finishes it disabled in every region, as the ledger says was asked', async () => {
    const amis = await published('disabled', '1.0.1');
    await killAtStatusWrite(['revoke', 'disabled', '1.0.1', '--reason', 'CVE-2026-7', '--disable'], '1.0.1');
    // Killed after the ledger write, before any AMI was tagged: the ledger is the only place the disable is asked.
    expect((await ledger('disabled')).revoked?.['1.0.1']).toMatchObject({ reason: 'CVE-2026-7', disable: true });
    for (const region of regions) expect((await imageState(moto.endpoint, region, amis[region]!))?.tags['gild:revoked-disable']).toBeUndefined();

    await gild(['run', 'disabled']);
    for (const region of regions) {
      const tags = (await imageState(moto.endpoint, region, amis[region]!))?.tags;
      expect(tags, region).toMatchObject({ 'gild:status': 'revoked', 'gild:revoked-disable': 'true' });
      expect(tags?.['gild:disabled-at'], region).toBeDefined();
    }
  }, 300_000);

  it('a second revoke of a restored version, its copy region recorded before its ledger (a plan from an older gild): the next run finishes the revoke, never the old restore', async () => {
    const amis = await published('again', '1.0.1');
    await gild(['revoke', 'again', '1.0.1', '--reason', 'first']);
    await gild(['restore', 'again', '1.0.1', '--reason', 'false alarm']);
    // What the copy region's record step of the second revoke leaves when the build region's (the ledger) is killed
    // first: its status parameter and tags, stamped after the restore; the ledger still says restored.
    const at = new Date().toISOString();
    const west = awsClients(moto.endpoint, 'us-west-2');
    await west.ssm.send(
      new PutParameterCommand({ Name: '/golden/again/status/1.0.1', Type: 'String', DataType: 'text', Value: JSON.stringify({ revoked: { reason: 'CVE for real', at, by: 'ops@host' } }) }),
    );
    await west.ec2.send(
      new CreateTagsCommand({
        Resources: [amis['us-west-2']!],
        Tags: Object.entries({ 'gild:status': 'revoked', 'gild:revoked-reason': 'CVE for real', 'gild:revoked-at': at, 'gild:revoked-by': 'ops@host' }).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    expect((await ledger('again')).revoked?.['1.0.1']?.['restored']).toBeDefined();

    const nightly = await gild(['run', 'again']);
    expect(nightly.stdout + nightly.stderr).not.toMatch(/finish the restore/);
    expect((await ledger('again')).revoked?.['1.0.1']).toMatchObject({ reason: 'CVE for real' });
    expect((await ledger('again')).revoked?.['1.0.1']?.['restored']).toBeUndefined();
    for (const region of regions) {
      expect((await imageState(moto.endpoint, region, amis[region]!))?.tags, region).toMatchObject({ 'gild:status': 'revoked', 'gild:revoked-reason': 'CVE for real' });
      const parameters = await parametersUnder(moto.endpoint, region, '/golden/again');
      expect(parameters['/golden/again/latest'], region).toBe(parameters['/golden/again/versions/1.0.0']);
      expect(parameters['/golden/again/status/1.0.1'], region).toContain('CVE for real');
    }
  }, 300_000);
});
