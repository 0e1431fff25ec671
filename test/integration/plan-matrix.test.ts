/**
 * `gild plan --matrix` for the shipped images, which pipeline/fleet.yml fans
 * out over: nginx is built on al2023-base, so it waits a wave while its base
 * is built in the same run, and not once the base is published.
 */
import { describe, expect, it } from 'vitest';
import { useMotoBehindFaultProxy } from '../support/moto.ts';
import { createTempProject } from '../support/project.ts';

describe('gild plan --matrix', () => {
  const emulator = useMotoBehindFaultProxy();

  it('prints the shipped images in dependency waves, and only what still needs building after a run', async () => {
    const project = await createTempProject({ shippedImages: true });
    try {
      const first = await project.gild(['plan', '--matrix'], emulator.moto.env);
      expect(first.exitCode).toBe(0);
      expect(first.stdout).toBe('{"waves":[{"include":[{"image":"al2023-base"},{"image":"debian-base"},{"image":"graviton-worker"},{"image":"windows-2022"}]},{"include":[{"image":"nginx"}]}]}');

      expect((await project.gild(['run', 'al2023-base'], emulator.moto.env)).exitCode).toBe(0);
      const second = await project.gild(['plan', '--matrix'], emulator.moto.env);
      expect(JSON.parse(second.stdout)).toEqual({ waves: [{ include: [{ image: 'debian-base' }, { image: 'graviton-worker' }, { image: 'nginx' }, { image: 'windows-2022' }] }] });

      const both = await project.gild(['plan', '--matrix', '--json'], emulator.moto.env);
      expect(both.exitCode).toBe(2);
      expect(both.stderr).toContain('--json and --matrix each print one document on stdout');
    } finally {
      await project.remove();
    }
  });
});
