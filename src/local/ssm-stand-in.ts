/**
 * The emulator's SSM Run Command (docs/emulator.md "The SSM Run Command stand-in"): an HTTP proxy in front of moto that answers
 * SendCommand, GetCommandInvocation, ListCommandInvocations, CancelCommand and DescribeInstanceInformation as AWS
 * documents them, and passes every other request to moto unchanged. moto itself runs nothing and answers every
 * command with Success and no output; this runs each command for real, in a fresh container of the container twin of
 * the AMI the instance was launched from, and says "not run" where there is no twin, never Success.
 *
 * What it keeps to, from AWS's documentation:
 * - an instance's agent registers a while after launch: until then SendCommand answers InvalidInstanceId;
 * - an invocation goes Pending → InProgress → Success | Failed | TimedOut (StatusDetails ExecutionTimedOut, after the
 *   document's executionTimeout) | Cancelled (CancelCommand); one never delivered within the command's delivery
 *   timeout ends TimedOut with StatusDetails DeliveryTimedOut;
 * - AWS-RunShellScript: the commands, one a line, in a script run by `sh`; the response code is the script's exit
 *   code, 137 for a command stopped before it ended (timeout, cancel), -1 for one that never started;
 * - GetCommandInvocation returns the first 24,000 characters of standard output and the first 8,000 of standard
 *   error; ListCommandInvocations' plugin Output the first 2,500.
 * A command on an instance with no twin ends Failed with StatusDetails "NotRun" and the reason on standard error: the
 * emulator's target profile reports such a check as not run (src/target/command-execution.ts).
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { createEc2Client, describeImages, describeInstances, type EC2Client } from '../adapters/ec2.ts';
import { twinTag } from '../target/container-twins.ts';
import type { Logger } from '../logger.ts';
import { findContainerEngine, lookUpLocalImage, runScriptInContainer, type ContainerEngine } from './container-engine.ts';

export const standardOutputLimit = 24_000;
export const standardErrorLimit = 8_000;
export const pluginOutputLimit = 2_500;
/** What the SSM agent reports for a command stopped before it ended. */
export const stoppedExitCode = 137;
export const notRunStatusDetails = 'NotRun';
/** The exit code Docker and Podman give `run` when they could not start the container (no image, engine error). */
const engineCouldNotRun = 125;

export interface SsmStandInOptions {
  /** moto's endpoint: everything not intercepted goes there, and instances and AMIs are looked up there. */
  readonly upstream: string;
  /** How long after launch an instance's agent registers; default 2 s. */
  readonly registrationDelayMs?: number;
  /** How long after SendCommand the agent receives a command; default 0. */
  readonly deliveryDelayMs?: number;
  /** Overrides the command's TimeoutSeconds as the delivery deadline (tests); default TimeoutSeconds. */
  readonly deliveryTimeoutMs?: number;
  /** The engine that runs twins; found on `searchPath` when absent. */
  readonly engine?: Pick<ContainerEngine, 'binary' | 'kind'> | undefined;
  readonly searchPath?: string;
  readonly logger?: Logger;
  /** The credentials its own lookups in moto are signed with (moto may enforce IAM); default test/test. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
}

export interface SsmStandIn {
  readonly endpoint: string;
  /** Commands the stand-in has received, for tests and the log. */
  readonly invocations: readonly Invocation[];
  stop(): Promise<void>;
}

type InvocationStatus = 'Pending' | 'InProgress' | 'Success' | 'Failed' | 'TimedOut' | 'Cancelled';

export interface Invocation {
  readonly commandId: string;
  readonly instanceId: string;
  readonly region: string;
  readonly documentName: string;
  readonly comment: string;
  readonly script: string;
  readonly executionTimeoutSeconds: number;
  readonly timeoutSeconds: number;
  readonly requestedAt: Date;
  status: InvocationStatus;
  statusDetails: string;
  responseCode: number;
  stdout: string;
  stderr: string;
  startedAt: Date | undefined;
  finishedAt: Date | undefined;
  /** The container twin it ran in, or why it did not run. */
  twin: string | undefined;
  readonly cancel: AbortController;
}

class AwsFault extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const interceptedActions = new Set(['SendCommand', 'GetCommandInvocation', 'ListCommandInvocations', 'CancelCommand', 'DescribeInstanceInformation']);
const terminalStatuses = new Set<InvocationStatus>(['Success', 'Failed', 'TimedOut', 'Cancelled']);

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** The region a SigV4 request was signed for. */
function regionOf(request: IncomingMessage): string {
  const match = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\//.exec(String(request.headers.authorization ?? ''));
  return match?.[1] ?? 'us-east-1';
}

const seconds = (date: Date | undefined) => (date ? date.getTime() / 1000 : undefined);
const elapsed = (invocation: Invocation) => (invocation.startedAt ? `PT${(((invocation.finishedAt ?? new Date()).getTime() - invocation.startedAt.getTime()) / 1000).toFixed(3)}S` : '');

export async function startSsmStandIn(options: SsmStandInOptions): Promise<SsmStandIn> {
  const registrationDelayMs = options.registrationDelayMs ?? 2000;
  const deliveryDelayMs = options.deliveryDelayMs ?? 0;
  const invocations: Invocation[] = [];
  const byCommand = new Map<string, Invocation[]>();
  const clients = new Map<string, EC2Client>();
  const ec2 = (region: string) => {
    let client = clients.get(region);
    if (!client)
      clients.set(
        region,
        (client = createEc2Client(
          region,
          options.upstream,
          { AWS_ACCESS_KEY_ID: options.credentials?.accessKeyId ?? 'test', AWS_SECRET_ACCESS_KEY: options.credentials?.secretAccessKey ?? 'test' },
          { maxAttempts: 2 },
        )),
      );
    return client;
  };
  let enginePromise: Promise<Pick<ContainerEngine, 'binary' | 'kind'> | undefined> | undefined;
  const engine = () => (enginePromise ??= options.engine ? Promise.resolve(options.engine) : findContainerEngine(options.searchPath ?? '').then((search) => search.found));
  const running = new Set<Promise<unknown>>();
  /**
   * Twins found present, looked up once each: a twin lives until the end of the run that built it, and every check
   * of an image runs in it. A container that could not start (the engine's own exit code 125) has its twin looked up
   * again, so a twin removed since is "not run", as if it had never been seen: it ends without a start time, as a
   * command whose twin was missing at delivery does (though a look in the moment its container took to fail may
   * have seen it InProgress). Only a twin the engine says is absent does that: when the engine cannot say, the 125
   * may be the script's own, and the command keeps its own result.
   */
  const presentTwins = new Set<string>();

  async function instanceOf(region: string, instanceId: string) {
    const [instance] = await describeInstances(ec2(region), [{ Name: 'instance-id', Values: [instanceId] }]);
    return instance;
  }

  /** Registered: running, and launched at least the registration delay ago. */
  async function isRegistered(region: string, instanceId: string): Promise<boolean> {
    const instance = await instanceOf(region, instanceId);
    if (!instance || instance.state !== 'running') return false;
    const launchedAt = instance.launchedAt ? instance.launchedAt.getTime() : 0;
    return Date.now() >= launchedAt + registrationDelayMs;
  }

  /** The twin of the AMI an instance was launched from: the AMI's gild tags name it. */
  async function twinOf(region: string, instanceId: string): Promise<{ reference: string; which: string } | { notRun: string }> {
    const instance = await instanceOf(region, instanceId);
    if (!instance) return { notRun: `instance ${instanceId} no longer exists` };
    const [ami] = await describeImages(ec2(region), { imageIds: [instance.imageId] }).catch(() => []);
    const image = ami?.tags['gild:image'];
    const version = ami?.tags['gild:version'];
    const runId = ami?.tags['gild:run-id'];
    if (!image || !version || !runId) return { notRun: `${instance.imageId} is not an AMI gild built (no gild:image, gild:version and gild:run-id tags), so it has no container twin` };
    const reference = twinTag(image, version, runId).reference;
    const found = await engine();
    if (!found) return { notRun: `no container engine answered, so ${image} ${version} has no container twin here` };
    const which = `${image} ${version} (${instance.imageId})`;
    if (presentTwins.has(reference)) return { reference, which };
    const twin = await lookUpTwin(found, reference, which);
    return twin.present ? { reference, which } : { notRun: twin.reason };
  }

  /**
   * Whether the twin is present (then remembered as present), absent (and why), or the engine could not say (and why):
   * before a command that is each "not run"; after a container could not start, only an absent twin is.
   */
  async function lookUpTwin(found: Pick<ContainerEngine, 'binary' | 'kind'>, reference: string, which: string): Promise<{ present: true } | { present: false; surelyAbsent: boolean; reason: string }> {
    presentTwins.delete(reference);
    const twin = await lookUpLocalImage(found, reference);
    if (twin.problem) return { present: false, surelyAbsent: false, reason: `${which}: the container engine could not say whether its twin ${reference} is present (${twin.problem})` };
    if (!twin.present) return { present: false, surelyAbsent: true, reason: `${which} has no container twin (${reference} is not present locally)` };
    presentTwins.add(reference);
    return { present: true };
  }

  function finish(invocation: Invocation, fields: Pick<Invocation, 'status' | 'statusDetails' | 'responseCode'> & Partial<Pick<Invocation, 'stdout' | 'stderr'>>) {
    if (terminalStatuses.has(invocation.status)) return;
    Object.assign(invocation, fields, { finishedAt: new Date() });
    options.logger?.debug(`ssm stand-in: ${invocation.commandId} on ${invocation.instanceId}: ${invocation.status} (${invocation.statusDetails}), exit code ${invocation.responseCode}`);
  }

  async function deliver(invocation: Invocation): Promise<void> {
    const deliveryDeadline = invocation.requestedAt.getTime() + (options.deliveryTimeoutMs ?? invocation.timeoutSeconds * 1000);
    if (deliveryDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, deliveryDelayMs));
    if (terminalStatuses.has(invocation.status)) return;
    if (Date.now() > deliveryDeadline || !(await isRegistered(invocation.region, invocation.instanceId))) {
      // NOTE: the agent never received it: AWS ends such an invocation when the delivery timeout passes.
      const wait = Math.max(0, deliveryDeadline - Date.now());
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      finish(invocation, { status: 'TimedOut', statusDetails: 'DeliveryTimedOut', responseCode: -1 });
      return;
    }
    const twin = await twinOf(invocation.region, invocation.instanceId);
    if (terminalStatuses.has(invocation.status)) return;
    if ('notRun' in twin) {
      invocation.twin = undefined;
      finish(invocation, { status: 'Failed', statusDetails: notRunStatusDetails, responseCode: -1, stderr: `not run: ${twin.notRun}` });
      return;
    }
    invocation.twin = twin.reference;
    Object.assign(invocation, { status: 'InProgress', statusDetails: 'InProgress', startedAt: new Date() });
    const found = (await engine())!;
    const result = await runScriptInContainer(found, twin.reference, invocation.script, { timeoutMs: invocation.executionTimeoutSeconds * 1000, signal: invocation.cancel.signal });
    if (result.exitCode === engineCouldNotRun && !result.timedOut && !result.cancelled) {
      // NOTE: 125 is also a script's to return: only a twin the engine says is gone makes it "not run".
      const after = await lookUpTwin(found, twin.reference, twin.which);
      if (!after.present && after.surelyAbsent) {
        // As for a twin missing at delivery: no start time (the container never started).
        if (!terminalStatuses.has(invocation.status)) Object.assign(invocation, { twin: undefined, startedAt: undefined });
        finish(invocation, { status: 'Failed', statusDetails: notRunStatusDetails, responseCode: -1, stderr: `not run: ${after.reason}` });
        return;
      }
    }
    if (result.cancelled) finish(invocation, { status: 'Cancelled', statusDetails: 'Cancelled', responseCode: stoppedExitCode, stdout: result.stdout, stderr: result.stderr });
    else if (result.timedOut) finish(invocation, { status: 'TimedOut', statusDetails: 'ExecutionTimedOut', responseCode: stoppedExitCode, stdout: result.stdout, stderr: result.stderr });
    else
      finish(invocation, {
        status: result.exitCode === 0 ? 'Success' : 'Failed',
        statusDetails: result.exitCode === 0 ? 'Success' : 'Failed',
        responseCode: result.exitCode,
        stdout: result.stdout,
        stderr: result.stderr,
      });
  }

  function track(work: Promise<unknown>) {
    running.add(work);
    void work.finally(() => running.delete(work));
  }

  async function sendCommand(region: string, input: Record<string, unknown>, upstreamCommandId: string | undefined) {
    const instanceIds = (input.InstanceIds as string[] | undefined) ?? [];
    const documentName = String(input.DocumentName ?? '');
    if (instanceIds.length === 0) throw new AwsFault('InvalidParameters', 'SendCommand needs InstanceIds (Targets are not supported by the stand-in)');
    if (documentName !== 'AWS-RunShellScript' && documentName !== 'AWS-RunPowerShellScript') throw new AwsFault('InvalidDocument', `Document ${documentName} is not supported by the stand-in`);
    for (const instanceId of instanceIds) {
      if (!(await isRegistered(region, instanceId))) throw new AwsFault('InvalidInstanceId', `Instances [[${instanceId}]] not in a valid state for account 123456789012`);
    }
    const parameters = (input.Parameters as Record<string, string[]> | undefined) ?? {};
    const commands = parameters.commands ?? [];
    const executionTimeoutSeconds = Number(parameters.executionTimeout?.[0] ?? 3600);
    const timeoutSeconds = Number(input.TimeoutSeconds ?? 3600);
    const commandId = upstreamCommandId ?? randomUUID();
    const requestedAt = new Date();
    const created = instanceIds.map((instanceId) => {
      const invocation: Invocation = {
        commandId,
        instanceId,
        region,
        documentName,
        comment: String(input.Comment ?? ''),
        script: commands.map((command) => `${command}\n`).join(''),
        executionTimeoutSeconds,
        timeoutSeconds,
        requestedAt,
        status: 'Pending',
        statusDetails: 'Pending',
        responseCode: -1,
        stdout: '',
        stderr: '',
        startedAt: undefined,
        finishedAt: undefined,
        twin: undefined,
        cancel: new AbortController(),
      };
      invocations.push(invocation);
      track(
        deliver(invocation).catch((error: unknown) => {
          finish(invocation, { status: 'Failed', statusDetails: 'Failed', responseCode: -1, stderr: `the SSM stand-in could not run the command: ${(error as Error).message}` });
        }),
      );
      return invocation;
    });
    byCommand.set(commandId, created);
    return {
      Command: {
        CommandId: commandId,
        DocumentName: documentName,
        DocumentVersion: '$DEFAULT',
        Comment: created[0]!.comment,
        Parameters: parameters,
        InstanceIds: instanceIds,
        Targets: [],
        RequestedDateTime: seconds(requestedAt),
        Status: 'Pending',
        StatusDetails: 'Pending',
        TimeoutSeconds: timeoutSeconds,
        MaxConcurrency: '50',
        MaxErrors: '0',
        TargetCount: instanceIds.length,
        CompletedCount: 0,
        ErrorCount: 0,
        DeliveryTimedOutCount: 0,
      },
    };
  }

  function invocationOf(input: Record<string, unknown>): Invocation {
    const found = byCommand.get(String(input.CommandId))?.find((invocation) => invocation.instanceId === input.InstanceId);
    if (!found) throw new AwsFault('InvocationDoesNotExist', 'An error occurred (InvocationDoesNotExist) when calling the GetCommandInvocation operation');
    return found;
  }

  function getCommandInvocation(input: Record<string, unknown>) {
    const invocation = invocationOf(input);
    return {
      CommandId: invocation.commandId,
      InstanceId: invocation.instanceId,
      Comment: invocation.comment,
      DocumentName: invocation.documentName,
      DocumentVersion: '$DEFAULT',
      PluginName: invocation.documentName === 'AWS-RunShellScript' ? 'aws:runShellScript' : 'aws:runPowerShellScript',
      ResponseCode: invocation.responseCode,
      ExecutionStartDateTime: invocation.startedAt?.toISOString() ?? '',
      ExecutionElapsedTime: elapsed(invocation),
      ExecutionEndDateTime: invocation.finishedAt?.toISOString() ?? '',
      Status: invocation.status,
      StatusDetails: invocation.statusDetails,
      StandardOutputContent: invocation.stdout.slice(0, standardOutputLimit),
      StandardOutputUrl: '',
      StandardErrorContent: invocation.stderr.slice(0, standardErrorLimit),
      StandardErrorUrl: '',
      CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
    };
  }

  function listCommandInvocations(input: Record<string, unknown>) {
    const selected = invocations.filter(
      (invocation) => (input.CommandId === undefined || invocation.commandId === input.CommandId) && (input.InstanceId === undefined || invocation.instanceId === input.InstanceId),
    );
    return {
      CommandInvocations: selected.map((invocation) => ({
        CommandId: invocation.commandId,
        InstanceId: invocation.instanceId,
        Comment: invocation.comment,
        DocumentName: invocation.documentName,
        DocumentVersion: '$DEFAULT',
        RequestedDateTime: seconds(invocation.requestedAt),
        Status: invocation.status,
        StatusDetails: invocation.statusDetails,
        StandardOutputUrl: '',
        StandardErrorUrl: '',
        CommandPlugins: input.Details
          ? [
              {
                Name: invocation.documentName === 'AWS-RunShellScript' ? 'aws:runShellScript' : 'aws:runPowerShellScript',
                Status: invocation.status,
                StatusDetails: invocation.statusDetails,
                ResponseCode: invocation.responseCode,
                ResponseStartDateTime: seconds(invocation.startedAt),
                ResponseFinishDateTime: seconds(invocation.finishedAt),
                Output: `${invocation.stdout}${invocation.stderr ? `\n----------ERROR-------\n${invocation.stderr}` : ''}`.slice(0, pluginOutputLimit),
              },
            ]
          : [],
      })),
    };
  }

  function cancelCommand(input: Record<string, unknown>) {
    const command = byCommand.get(String(input.CommandId));
    if (!command) throw new AwsFault('InvalidCommandId', `Command ${String(input.CommandId)} does not exist`);
    const only = input.InstanceIds as string[] | undefined;
    for (const invocation of command) {
      if (only && !only.includes(invocation.instanceId)) continue;
      if (terminalStatuses.has(invocation.status)) continue;
      if (invocation.status === 'Pending') finish(invocation, { status: 'Cancelled', statusDetails: 'Cancelled', responseCode: -1 });
      invocation.cancel.abort();
    }
    return {};
  }

  async function describeInstanceInformation(region: string, input: Record<string, unknown>) {
    const filterIds = [
      ...((input.InstanceInformationFilterList as { key: string; valueSet: string[] }[] | undefined) ?? []).filter((filter) => filter.key === 'InstanceIds').flatMap((filter) => filter.valueSet),
      ...((input.Filters as { Key: string; Values: string[] }[] | undefined) ?? []).filter((filter) => filter.Key === 'InstanceIds').flatMap((filter) => filter.Values),
    ];
    const instances = await describeInstances(ec2(region), [{ Name: 'instance-state-name', Values: ['running'] }, ...(filterIds.length > 0 ? [{ Name: 'instance-id', Values: filterIds }] : [])]);
    const registered = instances.filter((instance) => Date.now() >= (instance.launchedAt?.getTime() ?? 0) + registrationDelayMs);
    return {
      InstanceInformationList: registered.map((instance) => ({
        InstanceId: instance.instanceId,
        PingStatus: 'Online',
        LastPingDateTime: Date.now() / 1000,
        AgentVersion: '3.3.0.0',
        IsLatestVersion: false,
        PlatformType: 'Linux',
        ResourceType: 'EC2Instance',
      })),
    };
  }

  async function answer(action: string, region: string, input: Record<string, unknown>, upstreamAnswer: Record<string, unknown> | undefined): Promise<unknown> {
    switch (action) {
      case 'SendCommand':
        return sendCommand(region, input, (upstreamAnswer?.Command as { CommandId?: string } | undefined)?.CommandId);
      case 'GetCommandInvocation':
        return getCommandInvocation(input);
      case 'ListCommandInvocations':
        return listCommandInvocations(input);
      case 'CancelCommand':
        return cancelCommand(input);
      default:
        return describeInstanceInformation(region, input);
    }
  }

  /** moto's own answer, whole: for the calls whose permission moto checks (it may enforce IAM) before the stand-in answers. */
  function ask(request: IncomingMessage, body: Buffer): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
    const upstream = new URL(options.upstream);
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest({ hostname: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(chunks) }));
        answer.on('error', reject);
      });
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  function forward(request: IncomingMessage, body: Buffer, response: ServerResponse) {
    const upstream = new URL(options.upstream);
    const outgoing = httpRequest({ hostname: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    outgoing.on('error', (error) => {
      response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(`SSM stand-in: upstream ${options.upstream} failed: ${error.message}`);
    });
    outgoing.end(body);
  }

  const server: Server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const target = String(request.headers['x-amz-target'] ?? '');
      const action = target.startsWith('AmazonSSM.') ? target.slice('AmazonSSM.'.length) : '';
      if (!interceptedActions.has(action)) return forward(request, body, response);
      try {
        // NOTE: SendCommand and GetCommandInvocation go to moto first, so that its IAM enforcement (when on) judges
        // them as AWS would and its record of calls stays whole; a refusal is relayed as moto gave it. moto lacks the
        // other three (it answers 500), so they are answered here alone.
        let upstreamAnswer: Record<string, unknown> | undefined;
        if (action === 'SendCommand' || action === 'GetCommandInvocation') {
          const upstream = await ask(request, body);
          if (upstream.status !== 200 && !(action === 'GetCommandInvocation' && upstream.status === 400 && /InvocationDoesNotExist/.test(upstream.body.toString('utf8')))) {
            response.writeHead(upstream.status, upstream.headers);
            response.end(upstream.body);
            return;
          }
          upstreamAnswer = upstream.status === 200 ? (JSON.parse(upstream.body.toString('utf8') || '{}') as Record<string, unknown>) : undefined;
        }
        const result = await answer(action, regionOf(request), JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>, upstreamAnswer);
        response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
        response.end(JSON.stringify(result));
      } catch (error) {
        const fault = error instanceof AwsFault ? error : new AwsFault('InternalServerError', (error as Error).message);
        response.writeHead(fault.code === 'InternalServerError' ? 500 : 400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
        response.end(JSON.stringify({ __type: fault.code, message: fault.message }));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    endpoint,
    invocations,
    async stop() {
      for (const invocation of invocations) if (!terminalStatuses.has(invocation.status)) invocation.cancel.abort();
      await Promise.allSettled([...running]);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const client of clients.values()) client.destroy();
    },
  };
}
