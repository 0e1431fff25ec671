/**
 * What to ask iam:SimulatePrincipalPolicy so that AWS says whether the caller
 * may do what a run does. Pure. The questions are derived from the statements
 * of the policy gild generates for this project (src/iam/generate-policy.ts),
 * never listed by hand: each Allow statement becomes one request per region (once
 * for IAM and STS, which are global) naming its actions, its resources made
 * concrete (the region, the caller's account, a sample ID where the statement
 * has a wildcard) and a request context that meets its conditions (the tags gild
 * puts on what it creates, `ec2:CreateAction`, `iam:PassedToService`,
 * `kms:ViaService`, `aws:RequestedRegion`). If the caller's own policy allows
 * every one, the account lets a run do what gild's policy says it needs.
 */
import type { PolicyDocument, PolicyStatement } from '../iam/generate-policy.ts';

export interface ContextEntry {
  readonly key: string;
  readonly type: 'string' | 'stringList';
  readonly values: readonly string[];
}

export interface SimulationRequest {
  /** The statement of gild's policy the request stands for. */
  readonly sid: string;
  /** Undefined for global services (IAM, STS). */
  readonly region: string | undefined;
  readonly actions: readonly string[];
  /** Empty: `*` (the statement names no resource type). */
  readonly resources: readonly string[];
  readonly context: readonly ContextEntry[];
}

/** Stands for a resource ID where the policy has a wildcard. */
export const sampleId = 'gild-doctor';

const globalServices = new Set(['iam', 'sts']);
const isGlobal = (statement: PolicyStatement) => statement.Action.every((action) => globalServices.has(action.split(':')[0] ?? ''));

/** A value a condition's pattern matches: `?*` → `xgild-doctor`, `ec2.*.amazonaws.com` → `ec2.gild-doctor.amazonaws.com`. */
const matchingValue = (pattern: string, region: string | undefined): string => pattern.replaceAll('*', region ?? sampleId).replaceAll('?', 'x');

/** The request context that meets a statement's conditions in `region` (besides the region itself). */
export function contextFor(statement: PolicyStatement, region: string | undefined, caller: { readonly userId: string }): ContextEntry[] {
  const entries = new Map<string, ContextEntry>();
  for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
    for (const [key, expected] of Object.entries(keys)) {
      if (key === 'aws:RequestedRegion') continue;
      const values = typeof expected === 'string' ? [expected] : [...expected];
      // `Null: true` asks for the key to be absent; `Null: false` for it to be present with any value.
      if (operator === 'Null') {
        if (values[0] === 'false') entries.set(key, { key, type: 'string', values: [sampleId] });
        continue;
      }
      const list = operator.startsWith('ForAnyValue:') || operator.startsWith('ForAllValues:');
      // NOTE: a pattern naming ec2.<region>.amazonaws.com is met with this request's region, not a sample.
      const value = values.find((candidate) => !region || !candidate.includes('.') || candidate.includes(region)) ?? values[0] ?? '';
      entries.set(key, { key, type: list ? 'stringList' : 'string', values: [matchingValue(value, key === 'kms:ViaService' ? region : undefined)] });
    }
  }
  if (region) entries.set('aws:RequestedRegion', { key: 'aws:RequestedRegion', type: 'string', values: [region] });
  if (statement.Resource.some((resource) => resource.includes('${aws:userid}'))) entries.set('aws:userid', { key: 'aws:userid', type: 'string', values: [caller.userId] });
  return [...entries.values()];
}

/**
 * A resource of the policy made concrete: `arn:aws:ec2:*:123456789012:instance/*` in us-east-1 →
 * `arn:aws:ec2:us-east-1:123456789012:instance/gild-doctor`. `*` stays `*`.
 */
export function concreteResource(resource: string, region: string | undefined, caller: { readonly account: string; readonly userId: string }): string {
  if (resource === '*') return resource;
  const [, partition, service, arnRegion, account, ...rest] = resource.split(':');
  const [type, ...id] = rest.join(':').replaceAll('${aws:userid}', caller.userId).split('/');
  const concreteType = type === '*' ? 'instance' : (type ?? '');
  const concreteId = id.join('/').replaceAll('*', sampleId).replaceAll('?', 'x');
  const concreteRegion = arnRegion === '*' ? (region ?? '') : (arnRegion ?? '');
  const concreteAccount = account === '*' ? caller.account : (account ?? '');
  return `arn:${partition}:${service}:${concreteRegion}:${concreteAccount}:${concreteType}${id.length > 0 ? `/${concreteId}` : ''}`;
}

/** One request per Allow statement and region (global statements once). Denies are the caller's own policy's business: AWS applies them. */
export function simulationRequests(policy: PolicyDocument, regions: readonly string[], caller: { readonly account: string; readonly userId: string }): SimulationRequest[] {
  const requests: SimulationRequest[] = [];
  for (const statement of policy.Statement) {
    if (statement.Effect !== 'Allow') continue;
    for (const region of isGlobal(statement) ? [undefined] : regions) {
      const resources = [...new Set(statement.Resource.filter((resource) => resource !== '*').map((resource) => concreteResource(resource, region, caller)))];
      requests.push({ sid: statement.Sid, region, actions: [...statement.Action], resources, context: contextFor(statement, region, caller) });
    }
  }
  return requests;
}

/** The role an assumed-role session acts as: `arn:aws:sts::1:assumed-role/Name/session` → role `Name`; users and roles as they are. */
export function principalOfCaller(
  callerArn: string,
): { readonly kind: 'role'; readonly roleName: string; readonly arn: string } | { readonly kind: 'user'; readonly arn: string } | { readonly kind: 'root'; readonly arn: string } {
  const assumed = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(callerArn);
  if (assumed) return { kind: 'role', roleName: assumed[3] ?? '', arn: `arn:${assumed[1]}:iam::${assumed[2]}:role/${assumed[3]}` };
  if (/:root$/.test(callerArn)) return { kind: 'root', arn: callerArn };
  const role = /^arn:aws[a-z-]*:iam::\d{12}:role\/(?:.*\/)?([^/]+)$/.exec(callerArn);
  if (role) return { kind: 'role', roleName: role[1] ?? '', arn: callerArn };
  return { kind: 'user', arn: callerArn };
}
