// TEMPORARY: stand-ins for the idempotent SSM writes being built on the `leases` branch; replaced at merge.
import type { SSMClient } from '@aws-sdk/client-ssm';
import { awsErrorName } from './aws-call.ts';
import { PutParameterCommand, DeleteParameterCommand } from '@aws-sdk/client-ssm';
import { getParameter, type ParameterValue } from './ssm.ts';

export async function createParameterIfAbsent(ssm: SSMClient, name: string, value: string, options: { dataType?: 'aws:ec2:image'; tags?: Readonly<Record<string, string>>; description?: string } = {}): Promise<'created' | { exists: ParameterValue }> {
  try {
    await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String', Overwrite: false, ...(options.dataType ? { DataType: options.dataType } : {}), ...(options.description ? { Description: options.description.slice(0, 1024) } : {}), ...(options.tags ? { Tags: Object.entries(options.tags).map(([Key, Value]) => ({ Key, Value })) } : {}) }));
    return 'created';
  } catch (error) {
    const current = await getParameter(ssm, name);
    if (current?.value === value) return 'created';
    if (awsErrorName(error) === 'ParameterAlreadyExists' && current) return { exists: current };
    throw error;
  }
}

export async function putParameterExpecting(ssm: SSMClient, name: string, value: string, options: { expected: string | undefined; dataType?: 'aws:ec2:image'; description?: string }): Promise<'written' | { moved: string | undefined }> {
  const current = await getParameter(ssm, name);
  if (current?.value === value) return 'written';
  if (current?.value !== options.expected) return { moved: current?.value };
  await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String', Overwrite: true, ...(options.dataType ? { DataType: options.dataType } : {}) }));
  return 'written';
}

export async function deleteParameterIfValue(ssm: SSMClient, name: string, value: string): Promise<'deleted' | 'absent' | { moved: string }> {
  const current = await getParameter(ssm, name);
  if (!current) return 'absent';
  if (current.value !== value) return { moved: current.value };
  try {
    await ssm.send(new DeleteParameterCommand({ Name: name }));
  } catch (error) {
    if (awsErrorName(error) !== 'ParameterNotFound') throw error;
  }
  return 'deleted';
}
