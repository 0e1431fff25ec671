import { describe, expect, it } from 'vitest';
import { describeManifestDiff, diffManifests, isEmptyDiff, parseManifest } from '../../src/smoke/diff-manifests.ts';

describe('diffManifests', () => {
  it('lists added, removed and changed packages by name', () => {
    const diff = diffManifests('curl 7.0\nnginx 1.18\nopenssl 3.0.1\n', 'jq 1.7\nnginx 1.24\nopenssl 3.0.1\n');
    expect(diff).toEqual({
      added: [{ name: 'jq', version: '1.7' }],
      removed: [{ name: 'curl', version: '7.0' }],
      changed: [{ name: 'nginx', from: '1.18', to: '1.24' }],
    });
  });

  it('finds no difference between identical manifests in another order, with CRLF and blank lines', () => {
    expect(isEmptyDiff(diffManifests('b 2\na 1\n', 'a 1\r\n\r\nb 2\r\n'))).toBe(true);
  });

  it('treats a package installed in several versions as one entry, so a new kernel is a change', () => {
    expect(parseManifest('kernel 6.1.1\nkernel 6.1.2\n').get('kernel')).toBe('6.1.1, 6.1.2');
    expect(diffManifests('kernel 6.1.1\n', 'kernel 6.1.1\nkernel 6.1.2\n').changed).toEqual([{ name: 'kernel', from: '6.1.1', to: '6.1.1, 6.1.2' }]);
  });

  it('keeps versions that contain spaces (Windows Get-Package)', () => {
    expect(parseManifest('PowerShell 7.4.1 (x64)\n').get('PowerShell')).toBe('7.4.1 (x64)');
  });

  it('describes a diff as summary lines', () => {
    expect(describeManifestDiff(diffManifests('a 1\nb 1\n', 'a 2\nc 1\n'), '1.0.0')).toMatchInlineSnapshot(`
      [
        "packages since 1.0.0: 1 added, 1 removed, 1 changed",
        "  + c 1",
        "  - b 1",
        "  ~ a 1 → 2",
      ]
    `);
    expect(describeManifestDiff(diffManifests('a 1', 'a 1'), '1.0.0')).toEqual(['packages: unchanged since 1.0.0']);
  });
});
