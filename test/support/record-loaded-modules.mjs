// `node --import ./record-loaded-modules.mjs …` appends every module the
// process loads, one path or URL a line, to $GILD_RECORD_MODULES: ES modules
// through a resolve hook, CommonJS through Module._load (which is how jiti and
// createRequire load packages). Writes are synchronous, so the file is
// complete however the process exits.
import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';

const file = process.env.GILD_RECORD_MODULES;
if (!file) throw new Error('record-loaded-modules.mjs needs GILD_RECORD_MODULES: the file to append to');
register('./record-loaded-modules-hooks.mjs', import.meta.url, { data: { file } });
const load = Module._load;
Module._load = function recordLoad(request, parent, isMain) {
  try {
    appendFileSync(file, `${Module._resolveFilename(request, parent, isMain)}\n`);
  } catch {
    // A request Node cannot resolve fails in the real load below, with its own message.
  }
  return load.apply(this, arguments);
};
