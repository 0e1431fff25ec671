/**
 * What the definition loader's transform cache saves when `gild` starts: loadDefinitions +
 * validateDefinitions over 40 definitions, each in a fresh process (as every
 * `gild` invocation is), with the cache empty (cold, e.g. first run on a CI
 * runner) or filled by an earlier process (warm, every later run), also from
 * the same definitions at another path (a second checkout, a CI job's fresh
 * folder: the cache is keyed by content, not by path).
 *
 * load-definitions.ts does not expose jiti's options, so the cache is steered
 * from outside: each variant's child gets its own GILD_TYPESCRIPT_CACHE.
 */
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { BenchmarkResult } from './benchmark.ts';
import { createBenchProject } from './bench-project.ts';
import type { ChildLoad } from './load-definitions-child.ts';
import { interleave } from './measure.ts';

const definitionCount = 40;
const rounds = 5;
const childEntry = fileURLToPath(new URL('./load-definitions-child.js', import.meta.url));

async function loadInChild(cwd: string, cacheRoot: string): Promise<ChildLoad> {
  const child = await execa('node', [childEntry, cwd], { env: { GILD_TYPESCRIPT_CACHE: path.join(cacheRoot, 'jiti') }, extendEnv: true });
  const load = JSON.parse(child.stdout) as ChildLoad;
  if (load.errors.length > 0 || load.images !== definitionCount) throw new Error(`the generated definitions did not all load: ${load.images} images, ${load.errors.join('; ')}`);
  return load;
}

async function cacheEntries(cacheRoot: string): Promise<number> {
  return (await readdir(path.join(cacheRoot, 'jiti')).catch(() => [])).length;
}

export async function benchmarkDefinitionLoading(defer: (cleanup: () => Promise<void>) => void): Promise<BenchmarkResult> {
  const project = await createBenchProject('def', definitionCount);
  defer(() => project.remove());
  const scratch = await mkdtemp(path.join(tmpdir(), 'gild-bench-jiti-'));
  defer(() => rm(scratch, { recursive: true, force: true }));
  const warmRoot = path.join(scratch, 'warm');
  let coldRound = 0;

  let movedRound = 0;

  const [cold, warm, moved] = await interleave<{ cwd: string; cacheRoot: string }>(
    [
      {
        name: 'cold jiti cache',
        // A new, empty cache folder per trial.
        prepare: async () => ({ cwd: project.dir, cacheRoot: await mkdtemp(path.join(scratch, `cold-${coldRound++}-`)) }),
        run: ({ cwd, cacheRoot }) => loadInChild(cwd, cacheRoot),
      },
      {
        name: 'warm jiti cache',
        // The warm-up round fills this folder; every measured trial reads it.
        prepare: async () => ({ cwd: project.dir, cacheRoot: warmRoot }),
        run: ({ cwd, cacheRoot }) => loadInChild(cwd, cacheRoot),
      },
      {
        name: 'warm jiti cache, project at a new path',
        // The same definitions copied to a folder no trial used before, read with the cache the warm variant fills.
        prepare: async () => {
          const cwd = path.join(scratch, `moved-${movedRound++}`);
          await cp(project.dir, cwd, { recursive: true });
          return { cwd, cacheRoot: warmRoot };
        },
        run: ({ cwd, cacheRoot }) => loadInChild(cwd, cacheRoot),
      },
    ],
    rounds,
    { warmup: true },
  );
  const cached = await cacheEntries(warmRoot);
  if (cached === 0) throw new Error(`jiti wrote no cache under ${warmRoot}: the warm variant would measure a cold load`);

  const perDefinition = (ms: number) => ms / definitionCount;
  const saving = cold!.medianMs / warm!.medianMs;
  return {
    name: 'definition-loading',
    title: `Definition loading + validation, ${definitionCount} files, fresh process each (${rounds} rounds)`,
    variants: [cold!, warm!, moved!],
    unit: { label: 'ms / definition', per: (variant) => perDefinition(variant.medianMs) },
    // NOTE: no speed target was set for the cache; 1× means it saves nothing, which is worth a warning.
    ratio: { label: 'cold / warm', value: saving, target: '> 1×', met: saving > 1 },
    notes: [
      `Timed inside the child: loadDefinitions + validateDefinitions only. The warm cache held ${cached} transpiled files. Peak RSS is the child's.`,
      `At a new path with the warm cache: ${perDefinition(moved!.medianMs).toFixed(1)} ms/definition (the cache is keyed by content; keyed by path, as jiti's own is, this was a cold load).`,
    ],
  };
}
