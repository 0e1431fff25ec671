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
// without a cache, and its entry made again. An entry grows with use: a run that ends with exit code 0 makes it
// again when it compiled more than the entry held (a tenth more), so that the entry of the first run after a build
// (often a `--help` or a refused command) does not stay all there is. Finding out costs V8 making the code anew for
// every file (~15 ms of each run at exit for the ~80 files a `gild run` loads), so an entry that `checksToSettle` clean
// runs of a command in a row found not grown is settled for that command: no later run of it in the build checks it
// (settled.json counts them, by command and entry). Entries sit in a folder per build
// (`generation`); every run that writes entries removes the folders of other builds whose last entry is a day old.
// A cache folder that another user could write is not used (cache-folder.js): its entries would run as gild's code.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { debug, isFolderUnwritable, makeTrustedFolder, untrustedFolder, writeWhole } from './cache-folder.js';

/** An accepted entry is made again at a clean exit when the code V8 would now write is this much larger. */
const growthToRewrite = 1.1;

/**
 * Clean runs of one command in a row that found an accepted entry not grown, after which it is settled for that
 * command: no run of it checks the entry again. Counted by command because each command loads and calls its own part
 * of the bundle: three `gild --help` runs settling every entry they loaded would leave `gild run`'s functions out of
 * the cache for good.
 */
const checksToSettle = 3;

/** Entry name → clean runs in a row that found it not grown. Unreadable or absent: none counted yet. */
function readChecks(cacheDir) {
  try {
    const parsed = JSON.parse(readFileSync(path.join(cacheDir, 'settled.json'), 'utf8'));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

// NOTE: without a loader to import with, an import() in code compiled by vm.Script throws
// ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING. Node 20.12 and later (and 21.7+) can give it the one a CommonJS file has;
// older Node 20 cannot. And Node 20's V8 drops that loader from code compiled from cached data (an import() works in
// the run that made the entry and throws in the next: test/unit/compiled-code-cache.test.ts), so a file that may call
// import() is compiled from its source every time (mayImport). The build refuses to leave an import() in the command
// line at all (build-engine.js, exactly, from the syntax tree), so this is for code the build did not make.
const dynamicImport = vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER === undefined ? {} : { importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER };

/**
 * Whether `content` may call import(): a cheap search first (most files never write `import(`), then lines that are
 * not comments (the bundle's cli.cjs has JSDoc naming types as import("./file.js")). Errs towards yes, but for a
 * comment between `import` and its parenthesis, which no bundler writes (the build's check, from the syntax tree, does
 * see it).
 */
const mayImport = (content) => /\bimport\s*\(/.test(content) && /^(?!\s*(?:\*|\/\/|\/\*)).*\bimport\s*\(/m.test(content);

/**
 * Node 20 calls that loader experimental, in an ExperimentalWarning at the first import() it serves: how the bundle is
 * compiled is gild's business, not something for each command's output. Other warnings are left alone.
 */
function silenceLoaderNotice() {
  const emitWarning = process.emitWarning;
  process.emitWarning = function emitOtherWarnings(warning, ...rest) {
    if (rest[0] === 'ExperimentalWarning' && String(warning).startsWith('vm.USE_MAIN_CONTEXT_DEFAULT_LOADER ')) return undefined;
    return emitWarning.call(this, warning, ...rest);
  };
}

/**
 * Requires `entry`, compiling it and every file of `bundleDir` it loads with the code cache kept under `cacheRoot`
 * for `generation` (a name for the build). Returns its exports.
 */
export function requireWithCodeCache(entry, { bundleDir, cacheRoot, generation, command = '' }) {
  const cacheDir = path.join(cacheRoot, generation);
  const refused = untrustedFolder(cacheRoot) ?? untrustedFolder(cacheDir);
  if (refused !== undefined) {
    debug('the code cache is not used: %s', refused);
    return Module.createRequire(entry)(entry);
  }
  if (dynamicImport.importModuleDynamically !== undefined) silenceLoaderNotice();
  const inBundle = `${bundleDir}${path.sep}`;
  /** Every file of the bundle compiled, with the length of the cached data V8 accepted for it (0: none). */
  const compiled = [];
  const checks = readChecks(cacheDir);
  const compile = Module.prototype._compile;
  // NOTE: Module's own loading (resolution, require.cache, the module tree, what --import hooks observe) stays as it
  // is; only the compilation of the bundle's files is done here, as Module.prototype._compile does it for CommonJS.
  // What this leaves out of Node's own: the pause on the first line that --inspect-brk asks for, which Node's makes
  // for the main module only (gild.js, an ES module, which is not compiled here).
  Module.prototype._compile = function compileWithCodeCache(content, filename) {
    if (!filename.startsWith(inBundle)) return compile.call(this, content, filename);
    if (mayImport(content)) return compileFromSource(this, content, filename);
    const cacheFile = path.join(cacheDir, `${createHash('sha256').update(`${process.version}\0${process.arch}\0`).update(content).digest('hex')}.v8`);
    let cachedData;
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      cachedData = undefined;
    }
    const script = new vm.Script(Module.wrap(content), { filename, cachedData, ...dynamicImport });
    const acceptedLength = cachedData === undefined || script.cachedDataRejected ? 0 : cachedData.length;
    const checkKey = `${command}:${path.basename(cacheFile)}`;
    compiled.push({ script, cacheFile, checkKey, acceptedLength, settled: acceptedLength > 0 && checks[checkKey] >= checksToSettle });
    return script.runInThisContext({ displayErrors: true }).call(this.exports, this.exports, requireFrom(this), this, filename, path.dirname(filename));
  };
  // A run that failed may have compiled little (or its error path): its accepted entries are left as they are.
  // A settled entry is not checked (nor counted) again.
  process.once('exit', (code) =>
    writeEntries(code === 0 ? compiled.filter((file) => !file.settled) : compiled.filter((file) => file.acceptedLength === 0), cacheRoot, cacheDir, code === 0 ? checks : undefined),
  );
  return Module.createRequire(entry)(entry);
}

/** Compiles and runs a file of the bundle as the cache does, without cached data, and makes no entry for it. */
function compileFromSource(module, content, filename) {
  const script = new vm.Script(Module.wrap(content), { filename, ...dynamicImport });
  return script.runInThisContext({ displayErrors: true }).call(module.exports, module.exports, requireFrom(module), module, filename, path.dirname(filename));
}

/** The `require` a CommonJS module is given: relative to it, through Module, with the properties Node's own has. */
function requireFrom(module) {
  const require = (id) => module.require(id);
  require.resolve = (request, options) => Module._resolveFilename(request, module, false, options);
  require.resolve.paths = (request) => Module._resolveLookupPaths(request, module);
  require.main = process.mainModule;
  require.extensions = Module._extensions;
  require.cache = Module._cache;
  return require;
}

/**
 * Best effort: an entry that cannot be written is compiled again next time. Entries without accepted data are written;
 * accepted ones only when they grew. Stops at the first error that says the folder cannot be written at all. With
 * `checks` (a clean run), counts each accepted entry found not grown, and starts the count again for one that grew.
 */
function writeEntries(files, cacheRoot, cacheDir, checks) {
  if (files.length === 0) return;
  let wrote = false;
  try {
    const refused = makeTrustedFolder(cacheDir) ?? untrustedFolder(cacheRoot);
    if (refused !== undefined) {
      debug('the code cache is not written: %s', refused);
      return;
    }
  } catch (error) {
    debug('the code cache is not written: %s', error);
    return;
  }
  let counted = false;
  for (const { script, cacheFile, checkKey: name, acceptedLength } of files) {
    const data = script.createCachedData();
    if (acceptedLength > 0 && data.length <= acceptedLength * growthToRewrite) {
      if (checks) {
        checks[name] = (typeof checks[name] === 'number' ? checks[name] : 0) + 1;
        counted = true;
      }
      continue;
    }
    if (checks && checks[name] !== undefined) {
      checks[name] = 0;
      counted = true;
    }
    try {
      writeWhole(cacheFile, data);
      wrote = true;
    } catch (error) {
      if (isFolderUnwritable(error)) {
        debug('the code cache is not written: %s', error);
        break;
      }
    }
  }
  if (counted) {
    try {
      writeWhole(path.join(cacheDir, 'settled.json'), JSON.stringify(checks));
    } catch (error) {
      debug('the code cache is not written: %s', error);
    }
  }
  if (wrote) removeOldGenerations(cacheRoot, path.basename(cacheDir));
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
