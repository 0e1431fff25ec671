/** The git adapter: only the commit that images are built from, for the gild:git-commit tag. */
import { execa } from 'execa';

/** The HEAD commit (with `-dirty` when the tree has changes), or undefined outside a checkout. */
export async function gitCommit(cwd: string): Promise<string | undefined> {
  // NOTE: asked together: the first build of a run waits for the answer, and outside a checkout both just fail.
  const [head, status] = await Promise.all([
    execa('git', ['rev-parse', 'HEAD'], { cwd, reject: false }),
    execa('git', ['status', '--porcelain', '--', 'images', 'templates', 'pipeline'], { cwd, reject: false }),
  ]);
  if (head.exitCode !== 0 || !head.stdout) return undefined;
  return `${head.stdout.trim()}${status.stdout.trim() ? '-dirty' : ''}`;
}
