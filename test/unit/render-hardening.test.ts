import { parse } from '@cdktf/hcl2json';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimOutputFolder } from '../../src/render/claim-output-folder.ts';
import { amiNameProblem, shellWord, uncarriableTextProblem } from '../../src/render/escape.ts';
import { renderImage } from '../../src/render/render-template.ts';
import { validateOne } from '../fixtures/definitions/validate-one.ts';
import { renderInputFixture, resolvedImageFixture } from '../support/resolved-image-fixture.ts';

let workDir: string;
beforeEach(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'gild-render-hardening-'));
});
afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

async function renderedSource(overrides: Parameters<typeof resolvedImageFixture>[0], extra: Record<string, unknown> = {}) {
  const rendered = await renderImage(resolvedImageFixture(overrides), { ...renderInputFixture(path.join(workDir, 'out')), ...extra });
  const parsed = (await parse('image.pkr.hcl', await readFile(rendered.files[0] as string, 'utf8'))) as any;
  return { source: parsed.source['amazon-ebs'].web[0], parsed, dir: rendered.dir };
}

describe('the output folder', () => {
  it('refuses a folder that holds files gild did not write, and removes nothing from it', async () => {
    const notes = path.join(workDir, 'notes');
    await mkdir(notes);
    await writeFile(path.join(notes, 'keep'), 'mine');
    await expect(claimOutputFolder(notes, ['image.pkr.hcl'])).rejects.toMatchObject({ code: 'EUSAGE', message: expect.stringContaining(`${notes} is not empty and was not made by gild`) });
    expect(await readdir(notes)).toEqual(['keep']);
  });

  it('removes only the files its marker lists, never a path outside the folder', async () => {
    const out = path.join(workDir, 'out');
    await claimOutputFolder(out, ['image.pkr.hcl']);
    await writeFile(path.join(out, 'image.pkr.hcl'), 'old');
    await writeFile(path.join(workDir, 'outside'), 'mine');
    await writeFile(path.join(out, '.gild-render'), JSON.stringify({ files: ['image.pkr.hcl', '../outside', '/etc/passwd'] }));
    await claimOutputFolder(out, ['image.pkr.hcl']);
    expect(await readdir(out)).toEqual(['.gild-render']);
    expect(await readFile(path.join(workDir, 'outside'), 'utf8')).toBe('mine');
  });
});

describe('rendering', () => {
  it('names the temporary key pair and uses the security group the engine made', async () => {
    const { source } = await renderedSource({}, { keyPairName: 'gild_run-1_web', securityGroupId: 'sg-0123456789abcdef0' });
    expect(source.temporary_key_pair_name).toBe('gild_run-1_web');
    expect(source.security_group_id).toBe('sg-0123456789abcdef0');
  });

  it('encrypts every volume of an encrypted image with the build region key unless a volume names its own', async () => {
    const { source } = await renderedSource({
      copyRegions: ['eu-west-1'],
      encryption: { kmsKeyId: 'alias/gild', regionKmsKeyIds: { 'eu-west-1': 'alias/gild-eu' } },
      launchBlockDevices: [{ deviceName: '/dev/xvda', sizeGiB: 20, type: 'gp3', deleteOnTermination: true }],
      amiBlockDevices: [
        { deviceName: '/dev/xvdb', sizeGiB: 10, type: 'gp3', deleteOnTermination: true },
        { deviceName: '/dev/xvdc', sizeGiB: 10, type: 'gp3', deleteOnTermination: true, kmsKeyId: 'alias/data' },
      ],
    });
    expect(source.launch_block_device_mappings.map((device: any) => [device.encrypted, device.kms_key_id])).toEqual([[true, 'alias/gild']]);
    expect(source.ami_block_device_mappings.map((device: any) => [device.encrypted, device.kms_key_id])).toEqual([
      [true, 'alias/gild'],
      [true, 'alias/data'],
    ]);
    expect(source.region_kms_key_ids).toEqual({ 'eu-west-1': 'alias/gild-eu' });
  });

  it('writes inline commands that hold "{{" to a script file, byte for byte, instead of inline', async () => {
    const command = `docker inspect --format '{{.State.Running}}' web`;
    const { parsed, dir } = await renderedSource({ provision: [{ kind: 'shell', inline: ['set -x', command], env: {}, expectDisconnect: false, pauseBefore: undefined }] });
    const shell = parsed.build[0].provisioner.shell[0];
    expect(shell.inline).toBeUndefined();
    expect(shell.script).toBe(path.join(dir, 'provision-0.sh'));
    expect(await readFile(shell.script, 'utf8')).toBe(`#!/bin/sh -e\nset -x\n${command}\n`);
  });
});

describe('escaping helpers', () => {
  it('checks AMI names as AWS does, without changing them', () => {
    expect(amiNameProblem("web (1.0.0) [x] 'q' @a_b/c.d")).toBeUndefined();
    expect(amiNameProblem('ab')).toMatch(/2 characters long/);
    expect(amiNameProblem('web:1.0')).toMatch(/contains ":"/);
  });

  it('refuses lone surrogates and quotes shell words', () => {
    expect(uncarriableTextProblem('ok 🚀')).toBeUndefined();
    expect(uncarriableTextProblem('bad \ud800 here')).toMatch(/lone UTF-16 surrogate \(\\ud800\) at position 4/);
    expect(shellWord("it's")).toBe(`'it'\\''s'`);
  });
});

describe('packerSource tag settings', () => {
  it('apply the tag rules to tag, run_tag, snapshot_tag and *_tags blocks', () => {
    const { errors } = validateOne({
      packerSource: {
        run_tag: [{ key: 'gild:role', value: 'other' }],
        snapshot_tag: { key: 'aws:x', value: 'y' },
        spot_tags: { team: 'x'.repeat(300) },
        fleet_tags: { 'gild:image': 'other' },
      },
    });
    expect(errors).toEqual([
      expect.stringMatching(/^images\/web\.ts: packerSource\.run_tag\[0\]: the tag key "gild:role" is set by gild itself/),
      expect.stringMatching(/^images\/web\.ts: packerSource\.snapshot_tag: the tag key "aws:x" starts with "aws:"/),
      expect.stringMatching(/^images\/web\.ts: packerSource\.spot_tags\.team: tag values are at most 256 characters; this one has 300/),
      expect.stringMatching(/^images\/web\.ts: packerSource\.fleet_tags\.gild:image: the tag key "gild:image" is set by gild itself/),
    ]);
  });
});
