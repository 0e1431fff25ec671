/**
 * Rendered folders against the real Packer (1.6.6 in CI, from apt), and real
 * builds against a private moto server.
 */
import { execa } from 'execa';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { packerBuild, packerFmtCheck, packerValidate, packerVersion, type PackerVersionInfo } from '../../src/adapters/packer.ts';
import type { ResolvedImage } from '../../src/definition/resolved-image.ts';
import { hclString } from '../../src/render/hcl.ts';
import { renderImage } from '../../src/render/render-template.ts';
import { emulatorProfile } from '../../src/target/emulator-profile.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { renderInputFixture, resolvedImageFixture } from '../support/resolved-image-fixture.ts';

let workDir: string;
let packer: PackerVersionInfo;
beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'gild-render-packer-'));
  packer = await packerVersion();
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

async function definitionFiles(): Promise<{ script: string; upload: string }> {
  const dir = path.join(workDir, 'images');
  await mkdir(dir, { recursive: true });
  const script = path.join(dir, 'harden.sh');
  const upload = path.join(dir, 'motd');
  await writeFile(script, '#!/bin/sh\necho hardened\n');
  await writeFile(upload, 'Welcome\n');
  return { script, upload };
}

function fullyFeaturedImages(files: { script: string; upload: string }): Record<string, ResolvedImage> {
  const awkward = 'say "hi" \\ ${HOME} %{x} */ café\nnext line';
  return {
    linux: resolvedImageFixture({
      name: 'linux',
      description: awkward,
      tags: { note: awkward, café: 'accented', 東京: 'wide', '👩‍🚀 crew': 'emoji' },
      provision: [
        { kind: 'shell', inline: [awkward, 'sudo dnf -y update'], env: { STAGE: awkward }, expectDisconnect: true, pauseBefore: '5s' },
        { kind: 'script', path: files.script, env: {}, expectDisconnect: false, pauseBefore: undefined },
        { kind: 'upload', source: files.upload, destination: '/tmp/motd', pauseBefore: undefined },
        { kind: 'restart', timeout: undefined, pauseBefore: undefined },
      ],
      launchBlockDevices: [{ deviceName: '/dev/xvda', sizeGiB: 20, type: 'gp3', deleteOnTermination: true }],
      buildInfrastructure: { sessionManager: true, subnetFilter: { 'tag:Role': 'build' }, securityGroupIds: ['sg-12345678'] },
      deprecateAfterDays: 90,
      partial: 'spot-instances',
      packerSource: { shutdown_behavior: 'terminate' },
    }),
    arm64: resolvedImageFixture({
      name: 'arm64',
      architecture: 'arm64',
      instanceType: 't4g.micro',
      amiBlockDevices: [{ deviceName: '/dev/xvdb', sizeGiB: 50, type: 'gp3', iops: 6000, throughput: 250, deleteOnTermination: true }],
    }),
    windows: resolvedImageFixture({
      name: 'windows',
      platform: 'windows',
      instanceType: 't3.large',
      provision: [
        { kind: 'powershell', inline: ['Install-WindowsFeature Web-Server', 'Write-Output "${env:COMPUTERNAME}"'], env: { SITE: 'default' }, pauseBefore: undefined },
        { kind: 'restart', timeout: '15m', pauseBefore: undefined },
      ],
      buildInfrastructure: { sshUsername: 'Administrator', instanceProfile: 'packer-build', temporaryInstanceProfile: false },
    }),
    encrypted: resolvedImageFixture({
      name: 'encrypted',
      copyRegions: ['us-west-2', 'eu-west-1'],
      encryption: { kmsKeyId: 'alias/gild', regionKmsKeyIds: { 'eu-west-1': 'alias/gild-eu' } },
      amiBlockDevices: [{ deviceName: '/dev/xvdb', sizeGiB: 10, type: 'io2', iops: 4000, encrypted: true, kmsKeyId: 'alias/gild', deleteOnTermination: true }],
    }),
    shared: resolvedImageFixture({
      name: 'shared',
      copyRegions: ['us-west-2'],
      launchPermissions: { kind: 'explicit', accounts: ['111122223333', '444455556666'], organizationArns: [], organizationalUnitArns: [] },
    }),
    public: resolvedImageFixture({ name: 'public', launchPermissions: { kind: 'public', reason: 'community image' } }),
  };
}

describe('rendered folders with the installed Packer', () => {
  it.each(['linux', 'arm64', 'windows', 'encrypted', 'shared', 'public'])('renders a %s image that packer validate accepts and packer fmt leaves unchanged', async (kind) => {
    const image = fullyFeaturedImages(await definitionFiles())[kind] as ResolvedImage;
    const input = renderInputFixture(path.join(workDir, 'build', kind));
    // The planner hands renderImage the definition's tags merged with gild's own.
    const rendered = await renderImage(image, { ...input, tags: { ...input.tags, ...image.tags }, packer });
    expect(await packerFmtCheck(rendered.dir)).toEqual({ ok: true });
    // Packer >= 1.7 would need `packer init` and network access for the plugin; CI runs 1.6.6.
    if (packer.minor < 7 && packer.major === 1) expect(await packerValidate(rendered.dir)).toEqual({ ok: true });
  });

  it.each(['say "hi"', 'C:\\temp\\', 'two\nlines\tand a tab', '${HOME} %{ if x } $${y}', '*/ /* # //', 'café 東京 🚀', 'bell\u0007'])('hands Packer the exact string %j', async (value) => {
    const dir = path.join(workDir, 'console', String(value.codePointAt(0)));
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'value.pkr.hcl'), `locals {\n  value = ${hclString(value)}\n}\nsource "null" "x" {\n  communicator = "none"\n}\nbuild {\n  sources = ["source.null.x"]\n}\n`);
    const { stdout } = await execa('packer', ['console', '.'], { cwd: dir, input: 'local.value\n', stripFinalNewline: false });
    expect(stdout).toBe(`${value}\n`);
  });
});

describe('packerBuild against moto', () => {
  let moto: MotoServer;
  beforeAll(async () => {
    moto = await startMoto();
  });
  beforeEach(async () => {
    await moto.reset();
  });
  afterAll(async () => {
    await moto?.stop();
  });

  const environment = () => ({ ...process.env, ...moto.env });

  it('returns the AMI of every region, copies included, and logs all of the output', async () => {
    const image = resolvedImageFixture({
      name: 'web',
      copyRegions: ['us-west-2'],
      launchPermissions: { kind: 'explicit', accounts: ['111122223333'], organizationArns: [], organizationalUnitArns: [] },
      provision: [{ kind: 'shell', inline: ['echo never runs in the emulator'], env: {}, expectDisconnect: false, pauseBefore: undefined }],
    });
    const rendered = await renderImage(image, { ...renderInputFixture(path.join(workDir, 'moto', 'web')), packer, target: emulatorProfile({ endpoint: moto.endpoint }).packer });
    const logFile = path.join(workDir, 'logs', 'run-1', 'web.log');

    const result = await packerBuild({ dir: rendered.dir, logFile, env: environment() });

    expect(result).toEqual({ ok: true, amis: { 'us-east-1': expect.stringMatching(/^ami-/), 'us-west-2': expect.stringMatching(/^ami-/) } });
    const log = await readFile(logFile, 'utf8');
    expect(log).toContain('$ packer build -machine-readable -color=false .');
    expect(log).toContain(',artifact,0,id,');
  });

  it('returns a failed build as a value whose reason names the last Packer error', async () => {
    const image = resolvedImageFixture({ name: 'broken' });
    const rendered = await renderImage(image, {
      ...renderInputFixture(path.join(workDir, 'moto', 'broken')),
      baseAmiId: 'ami-0000000000000dead',
      packer,
      target: emulatorProfile({ endpoint: moto.endpoint }).packer,
    });
    const logFile = path.join(workDir, 'logs', 'run-2', 'broken.log');

    const result = await packerBuild({ dir: rendered.dir, logFile, env: environment() });

    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/^Error querying AMI: InvalidAMIID.NotFound: The image id '\[ami-0000000000000dead\]' does not exist/);
    expect(await readFile(logFile, 'utf8')).toContain('ui,error');
  });

  it('stops Packer when the run is aborted and says the build was interrupted', async () => {
    const image = resolvedImageFixture({ name: 'aborted' });
    const rendered = await renderImage(image, { ...renderInputFixture(path.join(workDir, 'moto', 'aborted')), packer, target: emulatorProfile({ endpoint: moto.endpoint }).packer });
    const controller = new AbortController();
    controller.abort();

    const result = await packerBuild({ dir: rendered.dir, logFile: path.join(workDir, 'logs', 'run-3', 'aborted.log'), env: environment(), signal: controller.signal });

    expect(result).toEqual({ ok: false, reason: 'the build was interrupted' });
  });
});
