/**
 * `gild plan --matrix` for the shipped images, which pipeline/fleet.yml fans
 * out over: nginx is built on al2023-base, so it shares its base's job while
 * its base is built in the same run (or waits for it from a job of its own
 * with --per-job 1), and not once the base is published.
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
      expect(first.stdout).toBe(
        '{"engine":"github","images":5,"jobs":4,"perJob":1,"depth":2,"matrices":[{"include":[{"job":1,"images":"al2023-base nginx","waitsFor":""},{"job":2,"images":"debian-base","waitsFor":""},{"job":3,"images":"graviton-worker","waitsFor":""},{"job":4,"images":"windows-2022","waitsFor":""}]}]}',
      );
      const onePerJob = await project.gild(['plan', '--matrix', '--per-job', '1'], emulator.moto.env);
      expect(JSON.parse(onePerJob.stdout).matrices[0].include.map((job: { images: string; waitsFor: string }) => `${job.images} <- ${job.waitsFor}`)).toEqual([
        'al2023-base <- ',
        'debian-base <- ',
        'graviton-worker <- ',
        'windows-2022 <- ',
        'nginx <- al2023-base',
      ]);

      // moto answers at once: gild polls the smoke instance quickly, not at AWS's pace.
      expect((await project.gild(['run', 'al2023-base'], { ...emulator.moto.env, GILD_SMOKE_POLL_MS: '100' })).exitCode).toBe(0);
      const second = await project.gild(['plan', '--matrix'], emulator.moto.env);
      expect(JSON.parse(second.stdout).matrices).toEqual([
        {
          include: [
            { job: 1, images: 'debian-base', waitsFor: '' },
            { job: 2, images: 'graviton-worker', waitsFor: '' },
            { job: 3, images: 'nginx', waitsFor: '' },
            { job: 4, images: 'windows-2022', waitsFor: '' },
          ],
        },
      ]);

      const both = await project.gild(['plan', '--matrix', '--json'], emulator.moto.env);
      expect(both.exitCode).toBe(2);
      expect(both.stderr).toContain('--json and --matrix each print one document on stdout');
      for (const [args, message] of [
        [['--matrix', '--per-job', '2', '--max-jobs', '3'], '--per-job and --max-jobs each choose how many images a job builds'],
        [['--matrix', '--per-job', '0'], '--per-job 0: give a whole number'],
        [['--matrix', '--engine', 'jenkins'], '--engine jenkins: gild fans out over github or gitlab'],
        [['--per-job', '2'], '--per-job shape the fan-out; they go with --matrix'],
        [['--matrix', '--from', 'missing.json'], '--from missing.json: cannot read it (ENOENT)'],
      ] as const) {
        const refused = await project.gild(['plan', ...args], emulator.moto.env);
        expect([refused.exitCode, refused.stderr]).toEqual([2, expect.stringContaining(message)]);
      }
    } finally {
      await project.remove();
    }
  });
});
