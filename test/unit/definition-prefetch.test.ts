/**
 * `gild run` and `gild plan` start importing images/*.ts in the loader's thread before the engine's modules load
 * (prefetchDefinitions); loadDefinitions then takes each file's outcome. Its own file: the loader's thread is one per
 * process, and prefetching happens only on a thread started for it.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDefinitions, prefetchDefinitions } from '../../src/definition/load-definitions.ts';
import { countingDefinition, importOf, prefetchProject } from '../support/prefetch-fixtures.ts';

let cwd: string;

afterAll(async () => {
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

describe('definitions fetched ahead', () => {
  it('are imported before they are asked for, once, and each outcome is the one asked for, a hanging file timing out as before', async () => {
    const project = await prefetchProject('gild-prefetch-');
    cwd = project.cwd;
    await writeFile(path.join(project.images, 'a.ts'), countingDefinition('a', path.join(project.markers, 'a')));
    await writeFile(path.join(project.images, 'b.ts'), countingDefinition('b', path.join(project.markers, 'b')));
    // Sorted after a and b: it never settles, so the ones after it are not fetched ahead but imported when asked.
    await writeFile(path.join(project.images, 'c.ts'), 'await new Promise(() => {});\nexport default {};\n');
    await writeFile(path.join(project.images, 'd.ts'), countingDefinition('d', path.join(project.markers, 'd')));

    const bImported = importOf(project.markers, 'b');
    prefetchDefinitions(cwd);
    // The event, not a time: b is imported ahead, with nobody asking yet.
    await bImported;

    const { definitions, errors } = await loadDefinitions(cwd, 'images', { timeoutMs: 2_000 });
    expect(definitions.map((definition) => [definition.file, definition.exported])).toEqual([
      ['images/a.ts', { name: 'a' }],
      ['images/b.ts', { name: 'b' }],
      ['images/d.ts', { name: 'd' }],
    ]);
    expect(errors).toEqual([expect.stringMatching(/^images\/c\.ts: did not finish loading within 2 seconds/)]);
    for (const name of ['a', 'b', 'd']) expect(await readFile(path.join(project.markers, name), 'utf8')).toBe('imported\n');
  });
});
