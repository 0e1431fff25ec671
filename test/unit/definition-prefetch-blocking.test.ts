/**
 * A definition fetched ahead that blocks the loader's thread (an endless loop, not an await) must be the one named:
 * the settings and the definitions fetched before it arrive anyway, and the ones after it load in a fresh thread.
 * Its own file: the loader's thread is one per process, and prefetching happens only on a thread started for it.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDefinitions, prefetchDefinitions } from '../../src/definition/load-definitions.ts';
import { loadSettings } from '../../src/settings/load-settings.ts';
import { countingDefinition, importOf, prefetchProject } from '../support/prefetch-fixtures.ts';

let cwd: string;

afterAll(async () => {
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

describe('a definition fetched ahead that blocks the thread', () => {
  it('is the one reported, and the settings and every other definition load', async () => {
    const project = await prefetchProject('gild-prefetch-blocking-');
    cwd = project.cwd;
    await mkdir(path.join(cwd, 'pipeline'));
    await writeFile(path.join(cwd, 'pipeline', 'settings.ts'), "export default { ssmPrefix: '/prefetched' };\n");
    await writeFile(path.join(project.images, 'a.ts'), countingDefinition('a', path.join(project.markers, 'a')));
    await writeFile(path.join(project.images, 'b.ts'), 'for (;;) {}\nexport default {};\n');
    await writeFile(path.join(project.images, 'c.ts'), countingDefinition('c', path.join(project.markers, 'c')));

    const aImported = importOf(project.markers, 'a');
    prefetchDefinitions(cwd);
    // The event, not a time: a is imported ahead, so the thread goes on to b and blocks there.
    await aImported;

    expect((await loadSettings(cwd, { timeoutMs: 2_000 })).ssmPrefix).toBe('/prefetched');
    const { definitions, errors } = await loadDefinitions(cwd, 'images', { timeoutMs: 2_000 });
    expect(definitions.map((definition) => [definition.file, definition.exported])).toEqual([
      ['images/a.ts', { name: 'a' }],
      ['images/c.ts', { name: 'c' }],
    ]);
    expect(errors).toEqual([expect.stringMatching(/^images\/b\.ts: did not finish loading within 2 seconds/)]);
    for (const name of ['a', 'c']) expect(await readFile(path.join(project.markers, name), 'utf8')).toBe('imported\n');
  });
});
