/**
 * The SSM adapter: Parameter Store (where published AMIs live) and Run Command
 * (how smoke checks run). Pagination lives here; the SDK client retries
 * throttling and 5xx with backoff.
 */
import { createRequire } from 'node:module';
import type * as SsmSdk from '@aws-sdk/client-ssm';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { catalogue } from '../errors.ts';
import { awsCall, awsErrorName } from './aws-call.ts';
import { awsClientConfig, ssmEndpoint } from './aws-client-config.ts';

// NOTE: require() rather than import: the SDK's entry point is a 2 MB CommonJS
// bundle, and importing it as ESM makes Node lex it for named exports first,
// ~110 ms more on every start of `gild resolve` (measured: 262 vs 145 ms).
const {
  CancelCommandCommand,
  DeleteParameterCommand,
  GetCommandInvocationCommand,
  GetParameterCommand,
  PutParameterCommand,
  SSMClient: SsmClient,
  SendCommandCommand,
  paginateGetParametersByPath,
} = createRequire(import.meta.url)('@aws-sdk/client-ssm') as typeof SsmSdk;

/** An SSM client for one region, configured from the context's environment. */
export function createSsmClient(region: string, env: Readonly<Record<string, string | undefined>>): SSMClient {
  return new SsmClient(awsClientConfig(region, ssmEndpoint(env), env));
}

export interface ParameterValue {
  readonly name: string;
  readonly value: string;
  readonly version: number;
}

/** A parameter's value, or `undefined` when it does not exist. */
export async function getParameter(ssm: SSMClient, name: string): Promise<ParameterValue | undefined> {
  try {
    const output = await ssm.send(new GetParameterCommand({ Name: name }));
    return { name, value: output.Parameter?.Value ?? '', version: Number(output.Parameter?.Version ?? 0) };
  } catch (error) {
    if (awsErrorName(error) === 'ParameterNotFound') return undefined;
    throw catalogue.EAWS('read parameter', name, error);
  }
}

export async function getParametersByPath(ssm: SSMClient, path: string): Promise<ParameterValue[]> {
  return awsCall('list parameters under', path, async () => {
    const parameters: ParameterValue[] = [];
    for await (const page of paginateGetParametersByPath({ client: ssm, pageSize: 10 }, { Path: path, Recursive: true })) {
      for (const parameter of page.Parameters ?? []) parameters.push({ name: parameter.Name ?? '', value: parameter.Value ?? '', version: Number(parameter.Version ?? 0) });
    }
    return parameters;
  });
}

/**
 * Writes an `aws:ec2:image` parameter, so that AWS checks the value is an AMI
 * and `resolve:ssm:` works in launch templates.
 */
export async function putImageParameter(ssm: SSMClient, name: string, amiId: string, options: { overwrite: boolean; tags?: Readonly<Record<string, string>>; description?: string }): Promise<void> {
  await awsCall('write parameter', name, () =>
    ssm.send(
      new PutParameterCommand({
        Name: name,
        Value: amiId,
        Type: 'String',
        DataType: 'aws:ec2:image',
        Overwrite: options.overwrite,
        ...(options.description ? { Description: options.description.slice(0, 1024) } : {}),
        // NOTE: AWS refuses Tags together with Overwrite; tags are set on creation only.
        ...(!options.overwrite && options.tags ? { Tags: Object.entries(options.tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
      }),
    ),
  );
}

/**
 * Creates a parameter only if it does not exist. PutParameter without
 * Overwrite is atomic, which is what a lock needs.
 */
export async function createParameterIfAbsent(ssm: SSMClient, name: string, value: string): Promise<'created' | 'exists'> {
  try {
    await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String', Overwrite: false }));
    return 'created';
  } catch (error) {
    if (awsErrorName(error) === 'ParameterAlreadyExists') return 'exists';
    throw catalogue.EAWS('create parameter', name, error);
  }
}

export async function deleteParameter(ssm: SSMClient, name: string): Promise<void> {
  try {
    await ssm.send(new DeleteParameterCommand({ Name: name }));
  } catch (error) {
    if (awsErrorName(error) === 'ParameterNotFound') return;
    throw catalogue.EAWS('delete parameter', name, error);
  }
}

export type RunDocument = 'AWS-RunShellScript' | 'AWS-RunPowerShellScript';

/**
 * Sends a command to one instance. The SSM agent registers a while after the
 * instance is running, and until then SendCommand answers InvalidInstanceId:
 * that is retried with bounded backoff. DescribeInstanceInformation would be
 * the other way to wait, but it costs an extra API and moto lacks it.
 */
export async function sendCommand(
  ssm: SSMClient,
  request: { instanceId: string; document: RunDocument; commands: readonly string[]; timeoutSeconds: number; comment: string },
  retry: { attempts: number; baseDelayMs: number; maxDelayMs: number; sleep?: (ms: number) => Promise<void> },
): Promise<{ commandId: string } | { notRegistered: true }> {
  const sleep = retry.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  for (let attemptNumber = 1; ; attemptNumber++) {
    try {
      const output = await ssm.send(
        new SendCommandCommand({
          InstanceIds: [request.instanceId],
          DocumentName: request.document,
          Comment: request.comment.slice(0, 100),
          TimeoutSeconds: Math.max(30, request.timeoutSeconds),
          Parameters: { commands: [...request.commands], executionTimeout: [String(request.timeoutSeconds)] },
        }),
      );
      const commandId = output.Command?.CommandId;
      if (!commandId) throw new Error('SendCommand returned no command ID');
      return { commandId };
    } catch (error) {
      if (awsErrorName(error) !== 'InvalidInstanceId') throw catalogue.EAWS('send a command to', request.instanceId, error);
      if (attemptNumber >= retry.attempts) return { notRegistered: true };
      await sleep(Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attemptNumber - 1)));
    }
  }
}

export interface CommandInvocation {
  /** Pending, InProgress, Delayed, Success, Cancelled, TimedOut, Failed, Cancelling. */
  readonly status: string;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function getCommandInvocation(ssm: SSMClient, commandId: string, instanceId: string): Promise<CommandInvocation | undefined> {
  try {
    const output = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
    return {
      status: output.Status ?? 'Pending',
      exitCode: output.ResponseCode ?? -1,
      stdout: output.StandardOutputContent ?? '',
      stderr: output.StandardErrorContent ?? '',
    };
  } catch (error) {
    // Right after SendCommand the invocation may not exist yet.
    if (awsErrorName(error) === 'InvocationDoesNotExist') return undefined;
    throw catalogue.EAWS('read the result of command', `${commandId} on ${instanceId}`, error);
  }
}

export const terminalCommandStatuses = new Set(['Success', 'Cancelled', 'TimedOut', 'Failed']);

/**
 * Asks Run Command to stop a command gild has stopped waiting for. Best effort:
 * the caller has already decided the outcome, so a refusal is only reported.
 */
export async function cancelCommand(ssm: SSMClient, commandId: string, instanceId: string): Promise<void> {
  await awsCall('cancel command', `${commandId} on ${instanceId}`, () => ssm.send(new CancelCommandCommand({ CommandId: commandId, InstanceIds: [instanceId] })));
}
