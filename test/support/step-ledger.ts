/**
 * Who made each AWS write of the integration suite (issue 19: no AWS write outside a runner step). Under
 * GILD_LABEL_AWS_REQUESTS (set for the cli tests in test/vitest.config.ts, inherited by every gild they spawn) gild's
 * SDK clients label each request with the runner step it was sent from (src/step-scope.ts, labelRequestsWithStep in
 * src/adapters/aws-client-config.ts) and the sending process. Every proxy in front of moto calls recordWrite on
 * arrival; a write a gild process sent outside every step is a stray, and the afterEach hook of every test file
 * (aws-model-setup.ts) fails the test it arrived during, as the wire check does.
 *
 * What each write is attributed to:
 * - `step <id>`: gild, inside the runner step <id> (the CLI or a stage the test runs through the runner);
 * - `packer`: Packer (aws-sdk-go's User-Agent). NOTE: Packer's requests cannot carry the step: Packer 1.6.6 sends
 *   no header it is given, so they are attributed by User-Agent; Packer runs only inside the build stage (the
 *   runner's build step), which is where its writes (RunInstances, CreateImage, CopyImage, …) happen;
 * - `test`: the test's own process: its own SDK clients (no label) or gild's adapters it calls outside the runner
 *   to arrange or inspect state (labelled with its own process id);
 * - `gild outside any step`: a gild process (a process id other than the test's) that wrote with no step: a stray.
 * Writes are the calls that are not reads (Describe*, Get*, List*, …) and S3 PUT/POST/DELETE; moto's own API is not AWS.
 */
import { appendFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { WireCheck } from './aws-model-check.ts';

export interface RecordedWrite {
  readonly operation: string;
  readonly madeBy: string;
}

const readPrefixes = /^(Describe|Get|List|Head|Lookup|Search|Simulate|Check|AssumeRole|Decrypt|GenerateDataKey)/;

/** Every write recorded in this test process, and the strays not yet reported. */
export const stepLedger = { writes: [] as RecordedWrite[], strays: [] as RecordedWrite[] };

function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The operation a request performs when it is a write, else undefined. */
export function writeOperation(request: Pick<IncomingMessage, 'method' | 'url'>, check: WireCheck): string | undefined {
  if ((request.url ?? '').startsWith('/moto-api')) return undefined;
  if (check.checked && check.operation !== undefined) return readPrefixes.test(check.operation) ? undefined : `${check.service}:${check.operation}`;
  const method = request.method ?? 'GET';
  return ['PUT', 'POST', 'DELETE'].includes(method) ? `${method} ${(request.url ?? '/').split('?')[0]}` : undefined;
}

/** Who sent the request, from its labels (see the module comment). */
export function attribution(request: IncomingMessage, check: WireCheck, testPid = process.pid): string {
  const step = headerValue(request, 'x-gild-step');
  if (step !== undefined && declaredOutsideThePlan.has(step)) return `gild ${step} (declared)`;
  if (step !== undefined && step.startsWith('outside-plan:')) return 'gild outside any step';
  if (step !== undefined && step !== '-') return `step ${step}`;
  if (step === '-') return headerValue(request, 'x-gild-step-pid') === String(testPid) ? 'test' : 'gild outside any step';
  return /packer|aws-sdk-go/i.test(check.sender) ? 'packer' : 'test';
}

/** The resource a JSON request names (SSM's Name), to say which write strayed. */
function resourceOf(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { Name?: unknown };
    return typeof parsed.Name === 'string' ? ` ${parsed.Name}` : '';
  } catch {
    return '';
  }
}

/**
 * Writes gild declares as outside the plan (src/step-scope.ts `runOutsideThePlan`), each with why it cannot be a step:
 * `job-end`: a CI job's marker that it ended without publishing an image other jobs wait for (src/apply/job-end.ts);
 * it is written after the runner finished, or when the saved plan was refused before any runner started;
 * `emulator-setup`: the instance profiles moto's IAM lacks, made by the emulator target before the run's first step
 * (src/local/prepare-emulator.ts); on AWS they are the account's own and gild makes none.
 */
const declaredOutsideThePlan = new Set(['outside-plan:job-end', 'outside-plan:emulator-setup']);

export function recordWrite(request: IncomingMessage, check: WireCheck, body: Buffer): void {
  if (requestLedgerFile) countRequest(request, check);
  const operation = writeOperation(request, check);
  if (operation === undefined) return;
  const madeBy = attribution(request, check);
  const command = headerValue(request, 'x-gild-step-command') ?? '';
  const write = { operation, madeBy };
  stepLedger.writes.push(write);
  if (write.madeBy === 'gild outside any step')
    stepLedger.strays.push({
      ...write,
      operation: `${operation}${resourceOf(body)} (gild ${command}, process ${headerValue(request, 'x-gild-step-pid')}, ${headerValue(request, 'amz-sdk-request') ?? ''})`,
    });
}

/** Throws, naming each, if a gild process wrote outside every runner step since the last call. */
export function assertNoStrayWrites(when: string): void {
  const strays = stepLedger.strays.splice(0, stepLedger.strays.length);
  if (strays.length === 0) return;
  throw new Error(
    `${strays.length} AWS write(s) ${when} were made by gild outside any runner step (every change goes through a plan step):\n${strays.map((write) => `  - ${write.operation}`).join('\n')}`,
  );
}

/** Appends this file's writes, counted by operation and maker, to $GILD_STEP_LEDGER (one JSON line per file). */
export function appendStepLedger(file: string): void {
  const target = process.env.GILD_STEP_LEDGER;
  if (!target || stepLedger.writes.length === 0) return;
  const counts = new Map<string, number>();
  for (const write of stepLedger.writes) counts.set(`${write.madeBy} ${write.operation}`, (counts.get(`${write.madeBy} ${write.operation}`) ?? 0) + 1);
  appendFileSync(target, `${JSON.stringify({ file, writes: Object.fromEntries(counts) })}\n`);
}

/** Starts the next test file's counts afresh: cli files share their worker's process (test/vitest.config.ts). */
export function clearFileLedgers(): void {
  stepLedger.writes.length = 0;
  stepLedger.strays.length = 0;
  requestCounts.clear();
  gildProcesses.clear();
}

/**
 * How many AWS requests a test file makes, and whose they are (GILD_REQUEST_LEDGER names a file: one JSON line per
 * test file): every request is counted by who sent it and its operation, and every gild process by its command, so
 * that requests per command can be told from requests per file. Who sent it, from the same labels as the writes:
 * `gild <command>` (a spawned gild), `test (gild code)` (gild's adapters called in the test's own process),
 * `test (own client)` (the test's own SDK clients), `test (node fetch)` (moto-iam.ts), `packer`.
 */
const requestLedgerFile = process.env.GILD_REQUEST_LEDGER;
const requestCounts = new Map<string, number>();
const gildProcesses = new Map<string, Set<string>>();

function senderOfRequest(request: IncomingMessage, check: WireCheck, testPid = process.pid): string {
  if (/packer|aws-sdk-go/i.test(check.sender)) return 'packer';
  const pid = headerValue(request, 'x-gild-step-pid');
  if (pid === undefined) return /node fetch/.test(check.sender) ? 'test (node fetch)' : 'test (own client)';
  if (pid === String(testPid)) return 'test (gild code)';
  const command = `gild ${headerValue(request, 'x-gild-step-command') ?? '?'}`;
  gildProcesses.set(command, (gildProcesses.get(command) ?? new Set<string>()).add(pid));
  // The kind of step (`publish` of `publish:web`), or `-` outside every step: which part of a command asks.
  return `${command} [${(headerValue(request, 'x-gild-step') ?? '-').split(':')[0]}]`;
}

function countRequest(request: IncomingMessage, check: WireCheck): void {
  if ((request.url ?? '').startsWith('/moto-api')) return;
  const operation = check.checked && check.operation !== undefined ? `${check.service}:${check.operation}` : `${request.method ?? 'GET'} ${(request.url ?? '/').split('?')[0]}`;
  const key = `${senderOfRequest(request, check)} | ${operation}`;
  requestCounts.set(key, (requestCounts.get(key) ?? 0) + 1);
}

/** Appends this file's requests, by sender and operation, and its gild processes by command, to $GILD_REQUEST_LEDGER. */
export function appendRequestLedger(file: string): void {
  if (!requestLedgerFile || requestCounts.size === 0) return;
  const processes = Object.fromEntries([...gildProcesses].map(([command, pids]) => [command, pids.size]));
  appendFileSync(requestLedgerFile, `${JSON.stringify({ file, requests: Object.fromEntries(requestCounts), processes })}\n`);
}
