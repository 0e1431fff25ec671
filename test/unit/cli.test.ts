/**
 * src/cli.ts is a thin shell: it parses, runs one command module, and maps
 * the outcome to an exit code. Called in-process with a fake io.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.ts';
import { fakeIo as fakeIoWith } from '../support/fake-io.ts';

const fakeIo = (env: Record<string, string | undefined> = {}) => fakeIoWith({ env });

describe('runCli', () => {
  it('prints the help with every command and exits 0', async () => {
    const { io, written } = fakeIo();
    expect(await runCli(['--help'], io)).toBe(0);
    for (const command of ['validate', 'plan', 'render', 'run', 'resolve']) expect(written.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it("prints a command's own options", async () => {
    const { io, written } = fakeIo();
    expect(await runCli(['resolve', '--help'], io)).toBe(0);
    for (const flag of ['--region', '--version', '--range', '--channel', '--major', '--prefix']) expect(written.stdout).toContain(flag);
  });

  it.each([
    [['deploy'], "unknown command 'deploy'"],
    [['run', '--forse'], "unknown option '--forse'"],
    [['resolve'], "missing required argument 'image'"],
    [['render', 'web'], "required option '--out <dir>' not specified"],
  ])('exits 2 for %j, saying what is wrong', async (argv, message) => {
    const { io, written } = fakeIo();
    expect(await runCli(argv, io)).toBe(2);
    expect(written.stderr).toContain(message);
  });

  it("maps a command's usage error to exit 2 and prints it without a stack", async () => {
    const { io, written } = fakeIo({});
    expect(await runCli(['resolve', 'web'], io)).toBe(2);
    expect(written.stderr).toBe('gild: resolve: no region. Pass --region <region> (e.g. --region eu-west-1) or set AWS_REGION.\n');
  });

  it('maps a definition error from a command module to exit 2', async () => {
    const { io, written } = fakeIo();
    expect(await runCli(['validate'], io)).toBe(2);
    expect(written.stderr).toContain('images/: the folder does not exist');
  });
});
