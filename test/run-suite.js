#!/usr/bin/env node
// `npm test`: the type check, the lint and every test, the checks beside the tests rather than before them. Run one
// after the other, the type check and the lint (about 50 s of one core with TypeScript 5: tsc 24 s, eslint 13 s, prettier 14 s) came
// before the first test and used one core of two while the other idled; the tests leave part of both cores idle while
// they wait on moto, Packer and the clock, which is where the checks now run.
//
// A failed check stops the tests (as it kept them from starting before) and the run fails with the check's output; a
// check's output is printed when it ends, whole, so that it does not cut through the tests' report. Arguments go to
// vitest (`npm test -- test/unit/plan.test.ts`).
//
// NOTE: hand-written rather than `concurrently` or `npm-run-all`: a new dependency for forty lines, and neither stops
// vitest on a failed check the way this needs (SIGINT, so that vitest's global teardown stops its moto servers).
import { spawn } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * How many cores other processes kept busy over a short window, before the checks and the tests start. NOTE: vitest's
 * config chooses a third worker by the 1-minute load average, which after `.ci/run`'s set-up (npm ci, the bundle, the
 * container images) still says busy on an idle machine, and a clean clone's `.ci/run` ran two workers. Measured here,
 * before anything of the suite runs, it says what is busy now. (Three workers: vitest 314 s from a checkout's second
 * run on; on a clean clone's first run 392 s against 381 s with two, its workers idling for reasons not found yet,
 * docs/internals.md.)
 */
async function coresBusyElsewhere(windowMs) {
  const busy = () => cpus().reduce((sum, cpu) => sum + cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq, 0);
  const [busyBefore, ownBefore, startedAt] = [busy(), process.cpuUsage(), performance.now()];
  await sleep(windowMs);
  const own = process.cpuUsage(ownBefore);
  return Math.max(0, (busy() - busyBefore - (own.user + own.system) / 1000) / (performance.now() - startedAt));
}

// The same rule as test/vitest.config.ts (a third worker when a core is idle), on a measurement of now; an explicit
// --maxWorkers wins.
const args = process.argv.slice(2);
let workerArgs = [];
if (!args.some((arg) => arg.startsWith('--maxWorkers'))) {
  const busyElsewhere = await coresBusyElsewhere(300);
  const workers = busyElsewhere < availableParallelism() - 1 ? 3 : 2;
  process.stdout.write(`tests: ${workers} workers (${busyElsewhere.toFixed(1)} of ${availableParallelism()} cores busy elsewhere as the run starts)\n`);
  workerArgs = ['--maxWorkers', String(workers)];
}

const checks = [
  // TypeScript 7's native compiler (the `typescript-7` alias; typescript-eslint still needs TypeScript 5's JavaScript API,
  // the `typescript` package), single-threaded: the tests hold both cores, and its parallel checkers spent 11.8
  // CPU-seconds where one spends 7.5 (TypeScript 5.9's tsc: 26).
  { title: 'tsc --noEmit (TypeScript 7)', command: process.execPath, args: ['node_modules/typescript-7/bin/tsc', '--noEmit', '--singleThreaded'] },
  { title: 'npm run lint', command: 'npm', args: ['run', '--silent', 'lint'] },
].map(({ title, command, args }) => ({ title, child: spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }) }));
// vitest itself, not through npx, so that the SIGINT below reaches it.
const tests = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/vitest.config.ts', ...workerArgs, ...args], { stdio: 'inherit' });
const testsEnded = new Promise((resolve) => tests.once('close', (code, signal) => resolve(code ?? (signal ? 1 : 0))));

let failed = false;
await Promise.all(
  checks.map(async ({ title, child }) => {
    const output = [];
    child.stdout.on('data', (chunk) => output.push(chunk));
    child.stderr.on('data', (chunk) => output.push(chunk));
    const started = Date.now();
    const code = await new Promise((resolve) => child.once('close', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0))));
    const text = Buffer.concat(output).toString('utf8').trimEnd();
    process.stdout.write(`\n${code === 0 ? '✓' : '✗'} ${title} (${Math.round((Date.now() - started) / 1000)} s)${text ? `\n${text}` : ''}\n`);
    if (code !== 0 && !failed) {
      failed = true;
      process.stdout.write(`✗ ${title} failed: stopping the tests.\n`);
      tests.kill('SIGINT');
    }
  }),
);
const testsCode = await testsEnded;
process.exit(failed ? 1 : testsCode);
