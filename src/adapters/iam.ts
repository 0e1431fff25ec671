/**
 * IAM, read only: what `gild doctor` asks of the account. The instance profiles
 * a run passes to its instances and what their roles may do, a role's real ARN,
 * and AWS's own evaluation of the caller's policies (SimulatePrincipalPolicy),
 * conditions and all. IAM is global: one client, in the default region.
 */
import type * as IamSdk from '@aws-sdk/client-iam';
import type { IAMClient } from '@aws-sdk/client-iam';
import {
  GetInstanceProfileCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient as IamClient,
  paginateListAttachedRolePolicies,
  paginateListRolePolicies,
  paginateSimulatePrincipalPolicy,
} from '@aws-sdk/client-iam';
import { awsCall, awsError, awsErrorName } from './aws-call.ts';
import { awsClientConfig, nameActionOnErrors } from './aws-client-config.ts';

// NOTE: the client's type, re-exported so that code above the adapters names it without importing the SDK.
export type { IAMClient };

/** `credentials` replaces the environment's (another account's role, see sts.ts). */
export function createIamClient(env: Readonly<Record<string, string | undefined>>, credentials?: IamSdk.IAMClientConfig['credentials']): IAMClient {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  return nameActionOnErrors(new IamClient({ ...awsClientConfig(region, env.AWS_ENDPOINT_URL_IAM ?? env.AWS_ENDPOINT_URL, env), ...(credentials ? { credentials } : {}) }), 'iam');
}

export interface InstanceProfileSummary {
  readonly arn: string;
  readonly roles: readonly { readonly name: string; readonly arn: string }[];
}

/** `name` or an instance-profile ARN; undefined when no such profile exists. */
export async function getInstanceProfile(iam: IAMClient, profile: string): Promise<InstanceProfileSummary | undefined> {
  const name =
    profile
      .replace(/^arn:aws[a-z-]*:iam::\d{12}:instance-profile\//, '')
      .split('/')
      .pop() ?? profile;
  try {
    const output = await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name }));
    return { arn: output.InstanceProfile?.Arn ?? '', roles: (output.InstanceProfile?.Roles ?? []).map((role) => ({ name: role.RoleName ?? '', arn: role.Arn ?? '' })) };
  } catch (error) {
    if (awsErrorName(error) === 'NoSuchEntityException' || awsErrorName(error) === 'NoSuchEntity') return undefined;
    throw awsError('read instance profile', profile, error);
  }
}

/** The role's ARN as IAM has it (with its path), or undefined when there is no such role. */
export async function getRoleArn(iam: IAMClient, roleName: string): Promise<string | undefined> {
  try {
    return (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role?.Arn;
  } catch (error) {
    if (awsErrorName(error) === 'NoSuchEntityException' || awsErrorName(error) === 'NoSuchEntity') return undefined;
    throw awsError('read role', roleName, error);
  }
}

export interface RolePolicies {
  /** Managed policies attached to the role, each with its default version's document. */
  readonly attached: readonly { readonly arn: string; readonly name: string; readonly document: unknown }[];
  readonly inline: readonly { readonly name: string; readonly document: unknown }[];
}

/** IAM returns policy documents URL-encoded. */
const parseDocument = (text: string | undefined): unknown => (text ? JSON.parse(decodeURIComponent(text)) : undefined);

/** Every policy a role holds, attached and inline, with its document. */
export async function rolePolicies(iam: IAMClient, roleName: string): Promise<RolePolicies> {
  return awsCall('read the policies of role', roleName, async () => {
    const attached: { arn: string; name: string; document: unknown }[] = [];
    for await (const page of paginateListAttachedRolePolicies({ client: iam }, { RoleName: roleName })) {
      for (const policy of page.AttachedPolicies ?? []) {
        const arn = policy.PolicyArn ?? '';
        const version = (await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy?.DefaultVersionId;
        const document = version ? parseDocument((await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: version }))).PolicyVersion?.Document) : undefined;
        attached.push({ arn, name: policy.PolicyName ?? '', document });
      }
    }
    const inline: { name: string; document: unknown }[] = [];
    for await (const page of paginateListRolePolicies({ client: iam }, { RoleName: roleName })) {
      for (const name of page.PolicyNames ?? []) inline.push({ name, document: parseDocument((await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: name }))).PolicyDocument) });
    }
    return { attached, inline };
  });
}

export interface SimulationInput {
  /** The user or role whose policies are evaluated. */
  readonly principalArn: string;
  readonly actions: readonly string[];
  /** Empty: `*`. */
  readonly resources: readonly string[];
  readonly context: readonly { readonly key: string; readonly type: 'string' | 'stringList'; readonly values: readonly string[] }[];
}

export interface SimulatedDecision {
  readonly action: string;
  readonly resource: string;
  /** `allowed`, `explicitDeny` or `implicitDeny`. */
  readonly decision: string;
  /** Condition keys the evaluation needed and the request did not give. */
  readonly missingContext: readonly string[];
}

/** AWS evaluates the principal's policies for every action on every resource, with the given request context. */
export async function simulatePrincipalPolicy(iam: IAMClient, input: SimulationInput): Promise<SimulatedDecision[]> {
  return awsCall('simulate the policy of', input.principalArn, async () => {
    const decisions: SimulatedDecision[] = [];
    const request = {
      PolicySourceArn: input.principalArn,
      ActionNames: [...input.actions],
      ...(input.resources.length > 0 ? { ResourceArns: [...input.resources] } : {}),
      ContextEntries: input.context.map((entry) => ({ ContextKeyName: entry.key, ContextKeyType: entry.type, ContextKeyValues: [...entry.values] })),
    };
    for await (const page of paginateSimulatePrincipalPolicy({ client: iam }, request)) {
      for (const result of page.EvaluationResults ?? []) {
        const action = result.EvalActionName ?? '';
        const perResource = result.ResourceSpecificResults ?? [];
        if (perResource.length === 0) {
          decisions.push({ action, resource: result.EvalResourceName ?? '*', decision: result.EvalDecision ?? 'implicitDeny', missingContext: result.MissingContextValues ?? [] });
        }
        for (const specific of perResource) {
          decisions.push({ action, resource: specific.EvalResourceName ?? '*', decision: specific.EvalResourceDecision ?? 'implicitDeny', missingContext: specific.MissingContextValues ?? [] });
        }
      }
    }
    return decisions;
  });
}
