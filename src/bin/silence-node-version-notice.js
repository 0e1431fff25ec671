// gild targets Node 20 on purpose; the SDK's notice about its releases after
// January 2027 is for whoever upgrades the SDK, not for each run's output.
let silenced = false;

export function silenceNodeVersionNotice() {
  if (silenced) return;
  silenced = true;
  const emitWarning = process.emitWarning;
  process.emitWarning = (warning, ...rest) => {
    if (String(warning).startsWith('NodeVersionSupportWarning')) return;
    return emitWarning.call(process, warning, ...rest);
  };
}
