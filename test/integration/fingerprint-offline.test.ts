/**
 * The fingerprint does not depend on the target: the emulator leaves
 * provisioners out of what it renders (its instances have no OS), yet an edit
 * to a provision step, a script or a file in an upload tree must show in a
 * plan against the emulator exactly as it will on the real account. Through
 * the real CLI on moto: publish once, then each edit makes `gild plan` say the
 * image will be rebuilt, and undoing it makes the image unchanged again.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createTempProject, imageSource, type TempProject } from '../support/project.ts';

const provision = `provision: [
    { shell: ['echo first step'] },
    { script: 'scripts/setup.sh' },
    { upload: { source: 'files', destination: '/tmp/files' } },
  ],`;

describe('a plan against the emulator sees edits to what is provisioned', () => {
  let moto: MotoServer;
  let project: TempProject;

  beforeAll(async () => {
    moto = await startMoto();
    // One region: the fingerprint is about what is provisioned, and a copy to a second region only lengthens the run.
    project = await createTempProject({ images: { 'web.ts': imageSource({ name: 'web', extra: provision, regions: "{ build: 'us-east-1' }" }) } });
    await mkdir(path.join(project.dir, 'images/scripts'), { recursive: true });
    await mkdir(path.join(project.dir, 'images/files/nested'), { recursive: true });
    await writeFile(path.join(project.dir, 'images/scripts/setup.sh'), '#!/bin/sh\necho setup\n');
    await writeFile(path.join(project.dir, 'images/files/nested/motd'), 'welcome\n');
    const published = await project.gild(['run'], moto.env);
    expect(published.exitCode, published.stderr).toBe(0);
  });
  afterAll(async () => {
    await project?.remove();
    await moto?.stop();
  });

  const plan = async () => {
    const result = await project.gild(['plan'], moto.env);
    expect(result.exitCode, result.stderr).toBe(0);
    return result.stdout;
  };
  const unchanged = /^= web: unchanged at 1\.0\.0/m;
  const rebuilt = /web: .*what goes into the image changed/;

  /** Applies an edit, expects a rebuild in the plan, undoes the edit and expects the image unchanged again. */
  async function expectRebuildFor(file: string, edit: (text: string) => string): Promise<void> {
    const before = await readFile(file, 'utf8');
    await writeFile(file, edit(before));
    const edited = await plan();
    expect(edited).toMatch(rebuilt);
    expect(edited).not.toMatch(unchanged);
    await writeFile(file, before);
    expect(await plan()).toMatch(unchanged);
  }

  it('says the image is unchanged right after it was published', async () => {
    const planned = await plan();
    expect(planned).toMatch(unchanged);
    expect(planned).not.toMatch(rebuilt);
  });

  it('rebuilds when an inline provision step changes', async () => {
    await expectRebuildFor(path.join(project.dir, 'images/web.ts'), (source) => source.replace("'echo first step'", "'echo first step, edited'"));
  });

  it('rebuilds when a script a step runs changes', async () => {
    await expectRebuildFor(path.join(project.dir, 'images/scripts/setup.sh'), (script) => `${script}echo one more line\n`);
  });

  it('rebuilds when a file inside an uploaded folder changes', async () => {
    await expectRebuildFor(path.join(project.dir, 'images/files/nested/motd'), (text) => `${text}edited\n`);
  });
});
