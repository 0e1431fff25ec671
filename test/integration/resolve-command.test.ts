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
  for (const [name, value] of Object.entries(parameters)) await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String' }));
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
  '/golden/web/channels/stable': 'ami-0000000000000000s',
  '/golden/web/v2': 'ami-0000000000000000b',
};

describe('gild resolve', () => {
  it.each([
    [[], 'ami-0000000000000000a'],
    [['--version', '2.9.4'], 'ami-00000000000000294'],
    [['--range', '^2'], 'ami-00000000000002101'],
    [['--range', '~2.9'], 'ami-00000000000000294'],
    [['--range', '>=1 <2'], 'ami-00000000000000190'],
    [['--channel', 'stable'], 'ami-0000000000000000s'],
    [['--major', '2'], 'ami-0000000000000000b'],
  ])('resolves web %j to the AMI that selector names, with no images/ folder', async (selector, amiId) => {
    await publish(webVersions);
    const result = await gild(['resolve', 'web', ...selector]);
    expect(result).toEqual({ exitCode: 0, stdout: `${amiId}\n`, stderr: '' });
  });

  it('reads the region from --region before AWS_REGION', async () => {
    const west = new SSMClient({ region: 'eu-west-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await west.send(new PutParameterCommand({ Name: '/golden/web/latest', Value: 'ami-0000000000000000e', Type: 'String' }));
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
    });
    // The caller's client is still open afterwards.
    expect(await resolveImage({ image: 'web', region: 'us-east-1', client: ssm })).toMatchObject({ amiId: 'ami-0000000000000000a' });
  });

  it('makes its own client from the environment it is given', async () => {
    await publish({ '/acme/web/v2': 'ami-0000000000000000b' });
    expect(await resolveImage({ image: 'web', region: 'us-east-1', prefix: '/acme', major: 2, env: moto.env })).toMatchObject({ amiId: 'ami-0000000000000000b', parameterName: '/acme/web/v2' });
  });
});
