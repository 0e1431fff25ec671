/**
 * Every hostile case in cases.ts, through the real CLI (`node src/bin/gild.js`)
 * in a temporary copy of a project: the exit code, the words of the message,
 * and never a stack trace.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTempProject } from '../support/project.ts';
import { hostileCases, webImage } from './cases.ts';

/** The defaults: no required tags, so each case is about its one problem. */
const plainSettings = 'export default {};\n';

describe('hostile input to the CLI', () => {
  it.concurrent.each(hostileCases.map((hostileCase) => [`item ${hostileCase.item}: ${hostileCase.name}`, hostileCase] as const))('%s', async (_title, hostileCase) => {
    const project = await createTempProject({ images: { 'web.ts': hostileCase.source ?? webImage(hostileCase.fields) }, settings: hostileCase.settings ?? plainSettings });
    try {
      await hostileCase.setup?.(project.dir);
      const result = await project.gild(hostileCase.args, {});
      const output = `${result.stdout}${result.stderr}`;
      expect({ exitCode: result.exitCode, output }).toMatchObject({ exitCode: hostileCase.exitCode });
      for (const words of hostileCase.words) expect(output).toContain(words);
      expect(output).not.toMatch(/internal error|\n\s+at .+:\d+:\d+\)?\n/);
      await hostileCase.after?.(project.dir);
    } finally {
      await project.remove();
    }
  });

  it('leaves the files of a refused --out folder where they were', async () => {
    const project = await createTempProject({ images: { 'web.ts': webImage() }, settings: plainSettings });
    try {
      await hostileCases[0]!.setup!(project.dir);
      expect((await project.gild(['render', 'web', '--out', 'notes'], {})).exitCode).toBe(2);
      expect(await readFile(path.join(project.dir, 'notes', 'keep'), 'utf8')).toBe('mine');
      expect((await project.gild(['render', 'web', '--out', 'build/web'], {})).exitCode).toBe(0);
      expect((await project.gild(['render', 'web', '--out', 'build/web'], {})).exitCode).toBe(0);
    } finally {
      await project.remove();
    }
  });
});
