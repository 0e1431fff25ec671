/**
 * Ctrl-C in a terminal sends SIGINT to gild's whole process group. `gild run --local` (and so `npm run demo`) starts
 * its own moto, which must outlive that signal until gild has used it to clean up (terminate the smoke instance,
 * release the lock): moto runs in a group of its own and gild stops it at the end (src/local/moto-server.ts).
 */
import { execa } from 'execa';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMoto } from '../../src/local/moto-server.ts';
import { createTempProject, imageSource, repoRoot } from '../support/project.ts';

describe('gild run --local, interrupted from a terminal', () => {
  it("cleans up through its own emulator when Ctrl-C reaches gild's whole process group, exits 130, and stops the emulator", async () => {
    const project = await createTempProject({ images: { 'web.ts': imageSource({ name: 'web', extra: "smoke: { checks: [{ name: 'answers', run: 'true' }] }," }) } });
    try {
      // As a terminal runs it: gild leads a process group of its own, which the signal is sent to.
      const run = execa('node', [path.join(repoRoot, 'src/bin/gild.js'), 'run', '--local', 'web'], {
        cwd: project.dir,
        env: { GILD_ENGINE: 'bundle', CI: 'true' },
        extendEnv: true,
        reject: false,
        all: true,
        detached: true,
      });
      let output = '';
      // The event: the smoke instance is launched, so that there is something to clean up through the emulator.
      await new Promise<void>((launched, failed) => {
        run.all!.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (/launched smoke instance i-/.test(output)) launched();
        });
        void run.then(() => failed(new Error(`gild ended before its smoke instance launched:\n${output}`)));
      });
      const endpoint = /local: started moto at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      expect(endpoint, output).toBeDefined();

      process.kill(-run.pid!, 'SIGINT');
      const result = await run;

      expect(result.exitCode, String(result.all)).toBe(130);
      // Every cleanup reached the emulator: no answer that was not AWS's, no cleanup left for a "next run" that --local never has.
      expect(String(result.all)).not.toMatch(/Deserialization error|XML parse error|ECONNREFUSED|cleanup failed|could not (delete|terminate|release)/);
      expect(String(result.all)).toMatch(/terminat/);
      expect(await isMoto(endpoint!)).toBe(false);
    } finally {
      await project.remove();
    }
  });
});
