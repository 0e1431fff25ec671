// A fresh process for one definition load (see definition-loading.ts).
// NOTE: this bootstrap transpiles in memory only (fsCache off), so the
// measured load is the first thing to read or fill the cache the benchmark chose.
import { createJiti } from 'jiti';

process.emitWarning = () => {};
const jiti = createJiti(import.meta.url, { fsCache: false });
const { loadOnce } = await jiti.import('./load-definitions-child.ts');
process.stdout.write(`${JSON.stringify(await loadOnce(process.argv[2]))}\n`);
