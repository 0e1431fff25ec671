/**
 * Worker thread for import-isolated.ts: imports one TypeScript file at a
 * time with jiti and answers with its default export as plain data (see
 * read-plain-data.ts), so that a file that never finishes loading can be
 * stopped by terminating this thread, without stopping gild.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { createJiti } from 'jiti';

// NOTE: moduleCache off so that a long-lived process (tests, watch) sees edits; cheap, since
// definitions import only definition-runtime.ts from gild.
// Beside the TypeScript sources the helpers are .ts; in the compiled engine (dist/) they are .js.
const extension = existsSync(fileURLToPath(new URL('./read-plain-data.ts', import.meta.url))) ? '.ts' : '.js';
const jiti = createJiti(import.meta.url, {
  moduleCache: false,
  interopDefault: false,
  ...(workerData?.cacheDir ? { fsCache: workerData.cacheDir } : {}),
  // NOTE: definitions only need gild's identity functions at load time; see definition-runtime.ts.
  alias: { gild: fileURLToPath(new URL(`./definition-runtime${extension}`, import.meta.url)) },
});
const { readPlainData } = await jiti.import(`./read-plain-data${extension}`);

const firstLine = (error) =>
  (error instanceof Error ? error.message : String(error))
    .split('\n')
    .find((line) => line.trim() !== '')
    ?.trim()
    .replace(/\.$/, '') ?? 'unknown error';

parentPort.on('message', async ({ absolutePath }) => {
  let answer;
  try {
    const module = await jiti.import(absolutePath);
    if (module === null || typeof module !== 'object' || !('default' in module) || module.default === undefined) answer = { kind: 'no-default' };
    else answer = { kind: 'loaded', ...readPlainData(module.default) };
  } catch (error) {
    answer = { kind: 'threw', message: firstLine(error) };
  }
  try {
    parentPort.postMessage(answer);
  } catch (error) {
    parentPort.postMessage({ kind: 'threw', message: `its default export cannot be read: ${firstLine(error)}` });
  }
});
parentPort.postMessage({ kind: 'ready' });
