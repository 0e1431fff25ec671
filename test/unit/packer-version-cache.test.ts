/**
 * `packer version` is asked once per Packer binary, not once per run: the answer is kept with the binary's identity
 * and asked again when the binary changes. A fake Packer on a search path of its own counts how often it is run.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPackerVersion } from '../../src/adapters/packer.ts';

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'gild-packer-version-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function fakePacker(dir: string, version: string, runs: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'packer');
  await writeFile(file, `#!/bin/sh\necho run >> ${JSON.stringify(runs)}\necho "Packer v${version}"\n`);
  await chmod(file, 0o755);
}

const runsOf = async (runs: string) => (await readFile(runs, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;

describe('packer version', () => {
  it('runs Packer once for the same binary, again when the binary changes or another one comes first on the path', async () => {
    const [bin, otherBin, runs, cacheFile] = [path.join(scratch, 'bin'), path.join(scratch, 'other-bin'), path.join(scratch, 'runs'), path.join(scratch, 'cache', 'packer-version.json')];
    await fakePacker(bin, '1.6.6', runs);
    const emptyDir = path.join(scratch, 'empty');
    await mkdir(emptyDir);
    const searchPath = [emptyDir, bin].join(path.delimiter);

    expect(await readPackerVersion({ cacheFile, searchPath })).toEqual({ major: 1, minor: 6, patch: 6, raw: 'Packer v1.6.6' });
    expect(await readPackerVersion({ cacheFile, searchPath })).toEqual({ major: 1, minor: 6, patch: 6, raw: 'Packer v1.6.6' });
    expect(await runsOf(runs)).toBe(1);

    // An upgrade in place: another size and time.
    await fakePacker(bin, '1.11.2', runs);
    expect((await readPackerVersion({ cacheFile, searchPath })).raw).toBe('Packer v1.11.2');
    expect(await runsOf(runs)).toBe(2);

    // Another Packer first on the path.
    await fakePacker(otherBin, '1.10.0', runs);
    expect((await readPackerVersion({ cacheFile, searchPath: [otherBin, bin].join(path.delimiter) })).raw).toBe('Packer v1.10.0');
    expect(await runsOf(runs)).toBe(3);
  });

  it('says Packer is missing when none is on the path', async () => {
    await expect(readPackerVersion({ cacheFile: path.join(scratch, 'none.json'), searchPath: path.join(scratch, 'nowhere') })).rejects.toMatchObject({ code: 'ENOPACKER' });
  });
});
