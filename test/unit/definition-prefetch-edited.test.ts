/**
 * A definition edited after it was fetched ahead (a long-lived process: tests, a watch) is imported again, not
 * answered from what was fetched. Its own file: the loader's thread is one per process.
 */
import { once } from 'node:events';
import { watch } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDefinitions, prefetchDefinitions } from '../../src/definition/load-definitions.ts';

let cwd: string;

afterAll(async () => {
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

describe('a definition edited after it was fetched ahead', () => {
  it('is loaded as it is now', async () => {
    cwd = await mkdtemp(path.join(os.tmpdir(), 'gild-prefetch-edited-'));
    const markers = path.join(cwd, 'markers');
    await mkdir(markers);
    await mkdir(path.join(cwd, 'images'));
    const source = (name: string) => `import { appendFileSync } from 'node:fs';\nappendFileSync(${JSON.stringify(path.join(markers, 'web'))}, 'imported\\n');\nexport default { name: '${name}' };\n`;
    await writeFile(path.join(cwd, 'images', 'web.ts'), source('before'));

    const watcher = watch(markers);
    const imported = once(watcher, 'change');
    prefetchDefinitions(cwd);
    await imported;
    watcher.close();
    await writeFile(path.join(cwd, 'images', 'web.ts'), source('after the edit'));

    const { definitions, errors } = await loadDefinitions(cwd);
    expect(errors).toEqual([]);
    expect(definitions.map((definition) => definition.exported)).toEqual([{ name: 'after the edit' }]);
  });
});
