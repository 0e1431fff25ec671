/**
 * Worker thread for import-isolated.ts: imports one TypeScript file at a
 * time with jiti (those named in workerData.prefetch from the start) and answers with its default export as plain data (see
 * read-plain-data.ts), so that a file that never finishes loading can be
 * stopped by terminating this thread, without stopping gild.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { contentKeyedTransform } from './content-keyed-transform.js';

// NOTE: required, not imported: jiti's ES entry imports its CommonJS build, and Node then lexes that 190 kB file for
// its named exports before the thread can start (~45 ms of CPU in every command that loads definitions); jiti's
// require entry is the same createJiti over the same build.
const require = createRequire(import.meta.url);
const { createJiti } = require('jiti');

/**
 * jiti's own transform (babel, loaded on first use), for what the cache cannot answer. NOTE: through a jiti of its
 * own with no cache, since createJiti does not hand out its default transform; every option comes with the call.
 */
let uncached;
const jitiTransform = (options) => ({ code: (uncached ??= createJiti(import.meta.url, { fsCache: false, moduleCache: false })).transform(options) });

// NOTE: moduleCache off so that a long-lived process (tests, watch) sees edits; cheap, since
// definitions import only definition-runtime.ts from gild.
// Beside the TypeScript sources the helpers are .ts; in the compiled engine (dist/) they are .js.
const extension = existsSync(fileURLToPath(new URL('./read-plain-data.ts', import.meta.url))) ? '.ts' : '.js';
const options = {
  moduleCache: false,
  interopDefault: false,
  // NOTE: jiti's fsCache names its entries by the file's path, so a definition at another path (another checkout, a CI
  // job's or a test's fresh folder) was transformed again; the content-keyed cache replaces it (one cache, not two).
  fsCache: false,
  ...(workerData?.cacheDir ? { transform: contentKeyedTransform({ cacheDir: workerData.cacheDir, version: `jiti ${require('jiti/package.json').version}`, transform: jitiTransform }) } : {}),
};
const helpers = createJiti(import.meta.url, options);
const { readPlainData } = await helpers.import(`./read-plain-data${extension}`);
// NOTE: definitions only need gild's identity functions at load time; see definition-runtime.ts. They are loaded once,
// as jiti loads a module, and given to every definition as the module `gild` (a virtual module): resolving and loading
// them again for each definition (an alias, with moduleCache off) was half of a definition's load, ~0.25 ms each.
// What an import of 'gild' gives (named, namespace or default) is what the alias gave.
// Frozen, with its functions: shared by every definition, it must not carry one file's change into the next.
const runtime = await helpers.import(`./definition-runtime${extension}`);
for (const value of Object.values(runtime)) if (typeof value === 'function') Object.freeze(value);
const jiti = createJiti(import.meta.url, { ...options, virtualModules: { gild: Object.freeze({ ...runtime }) } });

const firstLine = (error) =>
  (error instanceof Error ? error.message : String(error))
    .split('\n')
    .find((line) => line.trim() !== '')
    ?.trim()
    .replace(/\.$/, '') ?? 'unknown error';

/**
 * Where a syntax error is: jiti puts ` /abs/path/file.ts:4:2` on a line of its own after the message (a ParseError
 * has no `loc`), which firstLine leaves out. Only a location in a file on disk is kept (absolute path, line, column).
 * NOTE: the column there is babel's, counted from 0; editors and terminals count from 1, so 1 is added.
 */
const locationPattern = /^\s*(\/.+|[A-Za-z]:[\\/].+):(\d+):(\d+)\s*$/;
const locationOf = (error) => {
  const message = error instanceof Error ? error.message : String(error);
  for (const line of message.split('\n').slice(1)) {
    const match = locationPattern.exec(line);
    if (match) return { absolutePath: match[1], line: Number(match[2]), column: Number(match[3]) + 1 };
  }
  return undefined;
};

async function importOne(absolutePath) {
  try {
    const module = await jiti.import(absolutePath);
    if (module === null || typeof module !== 'object' || !('default' in module) || module.default === undefined) return { kind: 'no-default' };
    return { kind: 'loaded', ...readPlainData(module.default) };
  } catch (error) {
    const location = locationOf(error);
    return { kind: 'threw', message: firstLine(error), ...(location ? { location } : {}) };
  }
}

/** Answers with the file's outcome; a default export that cannot be sent is a problem of the file. */
function post(absolutePath, outcome) {
  try {
    parentPort.postMessage({ kind: 'outcome', absolutePath, outcome });
  } catch (error) {
    parentPort.postMessage({ kind: 'outcome', absolutePath, outcome: { kind: 'threw', message: `its default export cannot be read: ${firstLine(error)}` } });
  }
}

parentPort.on('message', async ({ absolutePath }) => post(absolutePath, await importOne(absolutePath)));
parentPort.postMessage({ kind: 'ready' });
// Files fetched ahead (workerData.prefetch), one after another from the start, each outcome posted as it comes: the
// main thread keeps them until it asks (import-isolated.ts).
let previous = Promise.resolve();
for (const absolutePath of workerData?.prefetch ?? []) previous = previous.then(async () => post(absolutePath, await importOne(absolutePath)));
