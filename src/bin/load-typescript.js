// Shared by gild's entry points (the CLI and the benchmarks): load a TypeScript
// module through jiti, with the AWS SDK's Node 20 support notice silenced.
import { createJiti } from 'jiti';

// gild targets Node 20 on purpose; the SDK's notice about its releases after
// January 2027 is for whoever upgrades the SDK, not for each run's output.
const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  if (String(warning).startsWith('NodeVersionSupportWarning')) return;
  return emitWarning.call(process, warning, ...rest);
};

/** Imports a TypeScript module relative to `fromUrl` (transpiled on load, cached on disk). */
export function importTypeScript(fromUrl, specifier) {
  return createJiti(fromUrl).import(specifier);
}
