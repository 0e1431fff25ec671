/**
 * Fault injection in a child Node process: writes a module for `node --import` that replaces one of `node:fs`'s
 * synchronous functions before the program runs (syncBuiltinESMExports, so that `import { … } from 'node:fs'` sees it
 * too). `body` is the replacement's body, with `original` (the function it replaces), `file` and `rest` (the call's
 * arguments) in scope.
 */
import { writeFile } from 'node:fs/promises';

export async function writeFsFaultPreload(preload: string, method: 'readFileSync' | 'writeFileSync', body: string): Promise<string> {
  await writeFile(
    preload,
    `import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
const original = fs.${method};
fs.${method} = (file, ...rest) => {
${body}
};
syncBuiltinESMExports();
`,
  );
  return preload;
}
