/**
 * `gild plan`'s fan-out flags refused with exit 2 and a where/what/fix message, before anything is loaded or read
 * from AWS: the CLI in-process with a fake io (as test/unit/cli.test.ts). Moved here from
 * test/integration/plan-matrix.test.ts, which spawned the bundle once per refusal; that file still runs the fan-out
 * itself against moto, and test/integration/pipeline-e2e.test.ts shows the bundle's own exit 2 for a bad flag.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.ts';
import { fakeIo } from '../support/fake-io.ts';

describe('gild plan --matrix refuses flags that do not fit', () => {
  it.each([
    [['--matrix', '--json'], '--json and --matrix each print one document on stdout'],
    [['--matrix', '--per-job', '2', '--max-jobs', '3'], '--per-job and --max-jobs each choose how many images a job builds'],
    [['--matrix', '--per-job', '0'], '--per-job 0: give a whole number'],
    [['--matrix', '--engine', 'jenkins'], '--engine jenkins: gild fans out over github or gitlab'],
    [['--per-job', '2'], '--per-job shape the fan-out; they go with --matrix'],
    [['--matrix', '--from', 'missing.json'], '--from missing.json: cannot read it (ENOENT)'],
  ])('exits 2 for plan %j, saying what is wrong', async (args, message) => {
    const { io, written } = fakeIo({ env: {} });
    expect(await runCli(['plan', ...args], io)).toBe(2);
    expect(written.stderr).toContain(message);
    expect(written.stdout).toBe('');
  });
});
