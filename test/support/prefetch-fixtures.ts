/**
 * For the tests of definitions fetched ahead (test/unit/definition-prefetch*.test.ts, one file each because the
 * loader's thread is one per process): a project folder, definitions that record each import in a marker file, and
 * the event of a definition being imported.
 */
import { once } from 'node:events';
import { watch } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** A temporary project with `images/` and `markers/`. */
export async function prefetchProject(prefix: string): Promise<{ cwd: string; images: string; markers: string }> {
  const cwd = await mkdtemp(path.join(os.tmpdir(), prefix));
  const [images, markers] = [path.join(cwd, 'images'), path.join(cwd, 'markers')];
  await mkdir(images);
  await mkdir(markers);
  return { cwd, images, markers };
}

/** A definition that appends `imported` to `marker` each time it is imported, and exports `{ name }`. */
export const countingDefinition = (name: string, marker: string) =>
  `import { appendFileSync } from 'node:fs';\nappendFileSync(${JSON.stringify(marker)}, 'imported\\n');\nexport default { name: '${name}' };\n`;

/**
 * Resolves when the marker file `name` in `markers` is written: the definition writing it is being imported. Call
 * before whatever imports it, and await after.
 */
export function importOf(markers: string, name: string): Promise<void> {
  const watcher = watch(markers);
  return (async () => {
    try {
      for (;;) {
        const [, file] = (await once(watcher, 'change')) as [string, string];
        if (file === name) return;
      }
    } finally {
      watcher.close();
    }
  })();
}
