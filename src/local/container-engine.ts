/**
 * The container engine that runs container twins (docs/emulator.md "Container twins"): Docker, or Podman through its
 * Docker-compatible CLI. Packer's docker builder runs whichever `docker` comes first on PATH, and a machine may have a
 * Docker client with no daemon earlier on PATH than Podman's `docker`: so the engine is found by asking each candidate
 * (`docker version`, `podman version`), and Packer gets a PATH whose first `docker` is the one that answered.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readlink, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { accessSync, constants } from 'node:fs';

export interface ContainerEngine {
  /** `docker` or `podman`, as it reported itself. */
  readonly kind: 'docker' | 'podman';
  /** The binary that answered. */
  readonly binary: string;
  readonly version: string;
  /** A folder whose only entry is `docker`, pointing at `binary`: put first on Packer's PATH. */
  readonly dockerShimDir: string;
}

export type EngineSearch = { readonly found: ContainerEngine; readonly tried: readonly string[] } | { readonly found: undefined; readonly tried: readonly string[] };

function executablesOnPath(name: string, searchPath: string): string[] {
  const found: string[] = [];
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      if (!found.includes(file)) found.push(file);
    } catch {
      // not here
    }
  }
  return found;
}

/**
 * Asks one candidate whether its engine answers, and which it is.
 *
 * NOTE: `version`, not `info`. Docker's `version` asks the daemon (exit 1 without one, as `info`); a local Podman's
 * opens its runtime and store as `info` does (Podman 4.3: exit 125 for a missing OCI runtime or a store whose driver
 * does not match), and the image look-up that follows (lookUpLocalImage) says when the store fails later. `info`
 * cost about 1 s and 0.35 CPU-s a call on Debian: Podman's `info` asks dpkg which package owns conmon, runc and
 * slirp4netns (six dpkg-query runs that read every package's file list), and it was asked on every emulator run.
 */
async function askEngine(binary: string): Promise<{ kind: 'docker' | 'podman'; version: string } | { problem: string }> {
  const answer = await execa(binary, ['version', '--format', '{{json .}}'], { reject: false, timeout: 20_000, stdin: 'ignore' });
  if (answer.exitCode !== 0)
    return {
      problem: `${binary} version failed: ${(answer.stderr || answer.stdout || String(answer.exitCode)).split('\n').filter((line) => !line.startsWith('Emulate Docker CLI'))[0] ?? String(answer.exitCode)}`,
    };
  return engineOfVersion(binary, answer.stdout);
}

/**
 * Which engine a `version --format '{{json .}}'` answer comes from. Podman writes `APIVersion` (and a `Server` only
 * when remote), Docker `ApiVersion` and a `Server` (null when no daemon answered, which `version` also exits 1 for).
 */
export function engineOfVersion(binary: string, output: string): { kind: 'docker' | 'podman'; version: string } | { problem: string } {
  type Side = { Version?: string; APIVersion?: string; ApiVersion?: string } | null | undefined;
  let parsed: { Client?: Side; Server?: Side } = {};
  try {
    parsed = JSON.parse(output) as typeof parsed;
  } catch {
    // an engine that answered in another shape: still an engine
  }
  const podman = parsed.Client?.APIVersion !== undefined || path.basename(binary) === 'podman';
  if (!podman && parsed.Client && !parsed.Server) return { problem: `${binary} version: no daemon answered` };
  const version = (podman ? (parsed.Server?.Version ?? parsed.Client?.Version) : parsed.Server?.Version) ?? 'unknown';
  return { kind: podman ? 'podman' : 'docker', version };
}

/** One search per PATH in a process: a run asks when it decides the twins and again in the SSM stand-in. */
const searches = new Map<string, Promise<EngineSearch>>();

export function findContainerEngine(searchPath: string): Promise<EngineSearch> {
  let search = searches.get(searchPath);
  if (!search) searches.set(searchPath, (search = searchContainerEngine(searchPath)));
  return search;
}

/** The candidates in order: every `docker` on PATH (first wins, as for Packer), then every `podman`. */
async function searchContainerEngine(searchPath: string): Promise<EngineSearch> {
  const candidates = [...executablesOnPath('docker', searchPath), ...executablesOnPath('podman', searchPath)];
  const tried: string[] = [];
  for (const binary of candidates) {
    const answer = await askEngine(binary);
    if ('problem' in answer) {
      tried.push(answer.problem);
      continue;
    }
    // NOTE: Podman's `docker` (podman-docker) is a script that prints a notice on every call; Podman itself is quieter.
    const podman = answer.kind === 'podman' && path.basename(binary) === 'docker' ? executablesOnPath('podman', searchPath)[0] : undefined;
    const engineBinary = podman ?? binary;
    return { found: { kind: answer.kind, binary: engineBinary, version: answer.version, dockerShimDir: await dockerShim(engineBinary) }, tried };
  }
  if (candidates.length === 0) tried.push('no docker or podman on PATH');
  return { found: undefined, tried };
}

/**
 * One folder per user and engine binary, made once and shared by that user's runs (it holds only the link), so nothing
 * needs removing when gild is killed. It goes first on Packer's PATH, so it must be this user's alone: a folder of that
 * name someone else made (the temporary folder is shared, and the name is predictable) or could write to would let
 * them swap `docker` under a build. Such a folder is not used: a fresh one of this process's is made instead, and left
 * behind (it holds only the link) as the shared one would have been.
 */
async function dockerShim(binary: string): Promise<string> {
  const user = process.getuid?.() ?? 'user';
  const shared = path.join(tmpdir(), `gild-engine-${user}-${createHash('sha256').update(binary).digest('hex').slice(0, 12)}`);
  await mkdir(shared, { recursive: true, mode: 0o700 }).catch(() => undefined);
  const dir = (await isOwnPrivateFolder(shared)) ? shared : await mkdtemp(path.join(tmpdir(), 'gild-engine-'));
  const link = path.join(dir, 'docker');
  const current = await readlink(link).catch(() => undefined);
  if (current !== binary) {
    if (current !== undefined) throw new Error(`${link} points at ${current}, not ${binary}; remove ${dir}`);
    await symlink(binary, link).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  }
  return dir;
}

/** A real folder (not a link to one) owned by this process's user, which nobody else may write to. */
export async function isOwnPrivateFolder(dir: string): Promise<boolean> {
  const stats = await lstat(dir).catch(() => undefined);
  if (!stats?.isDirectory()) return false;
  const uid = process.getuid?.();
  return (uid === undefined || stats.uid === uid) && (stats.mode & 0o022) === 0;
}

/**
 * Whether the engine holds the image locally (nothing is pulled: no registry may be reachable), and when it could not
 * say, why: Podman's `image exists` exits 1 for an absent image and 125 when it cannot open its runtime or store (as
 * `podman version` does, but the store can break between the two, and the search is cached for the process).
 * Docker's `image inspect` exits 1 for both, but its daemon already answered `docker version`. No yes/no form: a
 * broken engine must not read as "image not present, make it".
 */
export async function lookUpLocalImage(engine: Pick<ContainerEngine, 'binary' | 'kind'>, image: string): Promise<{ readonly present: boolean; readonly problem?: string }> {
  const result =
    engine.kind === 'podman'
      ? await execa(engine.binary, ['image', 'exists', image], { reject: false, stdin: 'ignore' })
      : await execa(engine.binary, ['image', 'inspect', image], { reject: false, stdin: 'ignore' });
  if (result.exitCode === 0) return { present: true };
  if (engine.kind === 'podman' && result.exitCode !== 1)
    return { present: false, problem: `${engine.binary} image exists ${image} failed: ${(String(result.stderr) || String(result.exitCode)).split('\n')[0]}` };
  return { present: false };
}

export interface ContainerRun {
  /** -1 when the script never ran. */
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly cancelled: boolean;
}

/**
 * Runs a script as AWS-RunShellScript does (the commands, one per line, in a file run by `sh`) in a fresh container
 * of `image`, removed afterwards. Stopped at `timeoutMs` (timedOut) or when `signal` aborts (cancelled); either way
 * the container is killed, and the exit code is 137 as the SSM agent reports for a command stopped before it ended.
 */
export async function runScriptInContainer(
  engine: Pick<ContainerEngine, 'binary'>,
  image: string,
  script: string,
  options: { timeoutMs: number; signal?: AbortSignal; name?: string; keep?: boolean },
): Promise<ContainerRun> {
  const name = options.name ?? `gild-run-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  // NOTE: the script goes in on stdin to a file, then runs with stdin closed: commands reading stdin see EOF as
  // under the agent, and no quoting of the script through a shell argument is needed.
  const child = execa(
    engine.binary,
    ['run', '-i', ...(options.keep ? [] : ['--rm']), '--name', name, '--entrypoint', 'sh', image, '-c', 'cat > /tmp/_script.sh && exec sh /tmp/_script.sh < /dev/null'],
    {
      input: script,
      reject: false,
      all: false,
      stripFinalNewline: false,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  let stopped: 'timeout' | 'cancel' | undefined;
  let exited = false;
  const kill = async (why: 'timeout' | 'cancel') => {
    if (stopped) return;
    stopped = why;
    // NOTE: asked again until the run ends: a container still starting is not there to kill yet.
    while (!exited) {
      await execa(engine.binary, ['kill', name], { reject: false, stdin: 'ignore' });
      if (!exited) await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };
  const timer = setTimeout(() => void kill('timeout'), options.timeoutMs);
  const onAbort = () => void kill('cancel');
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  void child.finally(() => {
    exited = true;
  });
  try {
    const result = await child;
    const exitCode = stopped ? 137 : (result.exitCode ?? -1);
    return { exitCode, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? ''), timedOut: stopped === 'timeout', cancelled: stopped === 'cancel' };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}
