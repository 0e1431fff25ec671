import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isPidAlive, leaseOwnerOfThisProcess } from '../../src/apply/check-process.ts';

afterEach(() => vi.restoreAllMocks());

describe('isPidAlive', () => {
  it('finds this process alive', () => {
    expect(isPidAlive(process.pid)).toBe(true);
  });

  it('finds a process that has exited gone', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    await once(child, 'exit');
    expect(isPidAlive(child.pid!)).toBe(false);
  });

  it('takes a process it may not signal (EPERM) for alive', () => {
    vi.spyOn(process, 'kill').mockImplementation(() => {
      throw Object.assign(new Error('kill EPERM'), { code: 'EPERM' });
    });
    expect(isPidAlive(1)).toBe(true);
  });
});

it('names this process as the owner of a run’s leases', () => {
  expect(leaseOwnerOfThisProcess('run-1')).toEqual({ runId: 'run-1', host: hostname(), pid: process.pid });
});
