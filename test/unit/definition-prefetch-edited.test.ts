/**
 * A definition edited after it was fetched ahead (a long-lived process: tests, a watch) is imported again, not
 * answered from what was fetched. Its own file: the loader's thread is one per process.
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDefinitions, prefetchDefinitions } from '../../src/definition/load-definitions.ts';
import { countingDefinition, importOf, prefetchProject } from '../support/prefetch-fixtures.ts';

let cwd: string;

afterAll(async () => {
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

describe('a definition edited after it was fetched ahead', () => {
  it('is loaded as it is now', async () => {
    const project = await prefetchProject('gild-prefetch-edited-');
    cwd = project.cwd;
    const marker = path.join(project.markers, 'web');
    // Same length before and after: the contents, not the size or the time, tell the edit.
    const source = (name: string) => countingDefinition(name, marker);
    await writeFile(path.join(project.images, 'web.ts'), source('before'));

    const imported = importOf(project.markers, 'web');
    prefetchDefinitions(cwd);
    await imported;
    await writeFile(path.join(project.images, 'web.ts'), source('edited'));

    const { definitions, errors } = await loadDefinitions(cwd);
    expect(errors).toEqual([]);
    expect(definitions.map((definition) => definition.exported)).toEqual([{ name: 'edited' }]);
  });
});
