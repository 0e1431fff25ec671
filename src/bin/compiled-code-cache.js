// Runs the engine's command line (dist/bundle/cli.cjs and its chunks) with V8's compiled code kept between runs.
//
// NOTE: every gild command is a fresh process that compiles the code it loads before running a line of it, and a CI
// run of the test suite spawns gild about 300 times. Node 22.8 and later keep that work between runs
// (module.enableCompileCache, which gild.js also turns on); Node 20 has no such API, and reaches V8's code cache only
// through vm.Script, which compiles scripts, not ES modules. So the build writes the command line as CommonJS too
// (build-engine.js), and this compiles each of its files with the code V8 made for it in an earlier run
// (`cachedData`), or makes that code at exit, with every function the run compiled. Measured against the ES modules
// (7 interleaved rounds, medians of user+sys, in a project with the shipped images against moto): `gild status`
// 0.80 → 0.67 CPU-s, `gild plan` 0.88 → 0.78, `gild verify` 0.82 → 0.73, `gild history` 0.61 → 0.54.
//
// The cache serves no other code than the file's: an entry is named by a SHA-256 of the file's content with Node's
// version and architecture (V8 checks cached data against the length of the source only), and V8 refuses data made
// by another V8 or with other flags (`cachedDataRejected`), in which case the file is compiled from its source as
// without a cache, and its entry made again. Entries sit in a folder per build (`generation`); the folder of a build
// is made by its first run, which removes the folders of builds whose last entry is a day old.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

/**
 * Requires `entry`, compiling it and every file of `bundleDir` it loads with the code cache kept under `cacheRoot`
 * for `generation` (a name for the build). Returns its exports.
 */
export function requireWithCodeCache(entry, { bundleDir, cacheRoot, generation }) {
  const cacheDir = path.join(cacheRoot, generation);
  const inBundle = `${bundleDir}${path.sep}`;
  /** Scripts compiled without usable cached data: their entries are written at exit, with all the run compiled. */
  const uncached = [];
  const compile = Module.prototype._compile;
  // NOTE: Module's own loading (resolution, require.cache, the module tree, what --import hooks observe) stays as it
  // is; only the compilation of the bundle's files is done here, as Module.prototype._compile does it for CommonJS.
  Module.prototype._compile = function compileWithCodeCache(content, filename) {
    if (!filename.startsWith(inBundle)) return compile.call(this, content, filename);
    const cacheFile = path.join(cacheDir, `${createHash('sha256').update(`${process.version}\0${process.arch}\0`).update(content).digest('hex')}.v8`);
    let cachedData;
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      cachedData = undefined;
    }
    const script = new vm.Script(Module.wrap(content), { filename, cachedData });
    if (cachedData === undefined || script.cachedDataRejected) uncached.push({ script, cacheFile });
    return script.runInThisContext({ displayErrors: true }).call(this.exports, this.exports, requireFrom(this), this, filename, path.dirname(filename));
  };
  process.once('exit', () => writeEntries(uncached, cacheRoot, cacheDir));
  return Module.createRequire(entry)(entry);
}

/** The `require` a CommonJS module is given: relative to it, through Module (as Node's own). */
function requireFrom(module) {
  const require = (id) => module.require(id);
  require.resolve = (request, options) => Module._resolveFilename(request, module, false, options);
  require.main = process.mainModule;
  require.cache = Module._cache;
  return require;
}

/** Best effort: an entry that cannot be written is compiled again next time. Written whole, then renamed into place. */
function writeEntries(uncached, cacheRoot, cacheDir) {
  if (uncached.length === 0) return;
  try {
    mkdirSync(cacheDir, { recursive: true });
  } catch {
    return;
  }
  for (const { script, cacheFile } of uncached) {
    const partial = `${cacheFile}.${process.pid}.partial`;
    try {
      writeFileSync(partial, script.createCachedData());
      renameSync(partial, cacheFile);
    } catch {
      rmSync(partial, { force: true });
    }
  }
  removeOldGenerations(cacheRoot, path.basename(cacheDir));
}

const dayMs = 24 * 3600_000;

function removeOldGenerations(cacheRoot, current) {
  try {
    for (const entry of readdirSync(cacheRoot, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === current) continue;
      const folder = path.join(cacheRoot, entry.name);
      if (Date.now() - statSync(folder).mtimeMs > dayMs) rmSync(folder, { recursive: true, force: true });
    }
  } catch {
    // Another run removing the same folder, or none to remove.
  }
}
