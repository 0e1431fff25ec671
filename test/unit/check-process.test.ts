import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPidAlive, leaseOwnerOfThisProcess, readBootId, readPidNamespace } from '../../src/apply/check-process.ts';

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

it('names this process as the owner of a run’s leases, with the boot ID and PID namespace where there are ones', () => {
  const bootId = readBootId();
  const pidNamespace = readPidNamespace();
  expect(leaseOwnerOfThisProcess('run-1')).toEqual({ runId: 'run-1', host: hostname(), pid: process.pid, ...(bootId ? { bootId } : {}), ...(pidNamespace ? { pidNamespace } : {}) });
});

describe('readPidNamespace', () => {
  it('reads the PID namespace link, and has none where the link does not exist (not Linux)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gild-pidns-'));
    try {
      await symlink('pid:[4026531836]', join(dir, 'pid'));
      expect(readPidNamespace(join(dir, 'pid'))).toBe('pid:[4026531836]');
      expect(readPidNamespace(join(dir, 'missing'))).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('readBootId', () => {
  it('reads the kernel boot ID, and has none where the file does not exist (not Linux)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gild-boot-'));
    try {
      await writeFile(join(dir, 'boot_id'), '0f4d5c2e-6b1a-4c3e-9a8b-1d2e3f4a5b6c\n');
      expect(readBootId(join(dir, 'boot_id'))).toBe('0f4d5c2e-6b1a-4c3e-9a8b-1d2e3f4a5b6c');
      expect(readBootId(join(dir, 'missing'))).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
