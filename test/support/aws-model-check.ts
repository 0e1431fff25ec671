/**
 * AWS's rules at the wire. A request as it travels (method, path, headers,
 * body) is read back into its operation's input the way the service reads it
 * — the EC2 protocol (`Filter.1.Value.2=`), the query protocol of Auto
 * Scaling, STS and IAM (`Tags.member.1.Key=`), JSON 1.1 with `X-Amz-Target`
 * (SSM, KMS) — and held to the operation's model from botocore (see
 * aws-model-loader.ts): required members, types, enums, string length and
 * pattern, number ranges, list sizes, unknown query parameters. Then the
 * documented rules a model cannot express and gild relies on (see
 * `documentedRules`). Each violation names the operation, member, value, rule
 * and sender (Packer's aws-sdk-go or gild's aws-sdk-js, from the User-Agent).
 */
import { loadServiceModel, modelForSigningName, modelForTarget, type ServiceModel, type Shape, type ShapeMember } from './aws-model-loader.ts';

export interface WireRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body: string;
}

export interface WireViolation {
  readonly service: string;
  readonly operation: string;
  /** Where in the input, e.g. `Filters[0].Values` or `ImageIds`. */
  readonly member: string;
  /** The offending value, shortened for messages. */
  readonly value: string;
  readonly rule: string;
  /** Who sent it, from the User-Agent: `Packer (aws-sdk-go)`, `gild (aws-sdk-js)`, or the agent itself. */
  readonly sender: string;
}

export interface WireCheck {
  /** The botocore service, when the request was recognised as an AWS API call. */
  readonly service?: string;
  readonly operation?: string;
  readonly sender: string;
  /** False when the request is not an AWS API call the models cover (moto's own API, S3 REST, an unknown service). */
  readonly checked: boolean;
  readonly violations: WireViolation[];
}

function header(request: WireRequest, name: string): string {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(',') : ((value as string | undefined) ?? '');
}

/** Packer 1.6.6 talks through aws-sdk-go v1, gild through aws-sdk-js v3. */
export function senderOf(userAgent: string): string {
  if (/aws-sdk-go/i.test(userAgent)) return `Packer (${userAgent.match(/aws-sdk-go[^\s]*/i)?.[0] ?? 'aws-sdk-go'})`;
  if (/aws-sdk-js/i.test(userAgent)) return `gild (${userAgent.match(/aws-sdk-js[^\s]*/i)?.[0] ?? 'aws-sdk-js'})`;
  // Node's own fetch (undici) says `node`: the tests' support code (moto-iam.ts) sets moto up that way.
  if (userAgent === 'node' || /^undici/.test(userAgent)) return 'test support (node fetch)';
  return userAgent ? `unknown client (${userAgent.slice(0, 60)})` : 'unknown client (no User-Agent)';
}

function show(value: unknown): string {
  // A long list is shown by its ends and size, so that the item that broke the limit is in the message.
  if (Array.isArray(value) && value.length > 4) return `[${show(value[0])}, ${show(value[1])}, …, ${show(value.at(-1))}] (${value.length} items)`;
  const text = value instanceof Date ? value.toISOString() : typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}

const patterns = new Map<string, RegExp | undefined>();
/** Patterns whose Java syntax JavaScript cannot compile: said in the summary, never passed silently. */
export const uncompilablePatterns = new Set<string>();

/**
 * A model pattern, matched against the whole value. Smithy calls patterns unanchored, but AWS's services validate the
 * whole value (STS's RoleSessionName pattern `[\w+=,.@-]*` is documented as "no spaces"), so unanchored patterns are
 * anchored here; anchored ones are unchanged by it.
 */
function compilePattern(source: string): RegExp | undefined {
  if (patterns.has(source)) return patterns.get(source);
  let compiled: RegExp | undefined;
  for (const flags of ['u', '']) {
    try {
      compiled = new RegExp(`^(?:${source})$`, flags);
      break;
    } catch {
      // try the next flags
    }
  }
  if (!compiled) uncompilablePatterns.add(source);
  patterns.set(source, compiled);
  return compiled;
}

type Report = (member: string, value: unknown, rule: string) => void;

/** A member's name on the wire: the EC2 protocol capitalises `locationName` (or uses `queryName`); query uses `locationName`. */
function wireName(protocol: string, name: string, member: ShapeMember): string {
  if (protocol === 'ec2') return member.queryName ?? (member.locationName ? member.locationName[0]!.toUpperCase() + member.locationName.slice(1) : name);
  return member.locationName ?? name;
}

interface QueryReader {
  readonly params: ReadonlyMap<string, string>;
  readonly consumed: Set<string>;
  readonly protocol: string;
  readonly model: ServiceModel;
  readonly report: Report;
}

function hasUnder(reader: QueryReader, key: string): boolean {
  if (reader.params.has(key)) return true;
  for (const name of reader.params.keys()) if (name.startsWith(`${key}.`)) return true;
  return false;
}

/** Reads a query/EC2-protocol value at `key` into a JS value shaped like the JSON one, reporting type errors on the way. */
function readQuery(reader: QueryReader, shapeName: string, key: string, where: string, memberFlattened = false): unknown {
  const shape = reader.model.shapes[shapeName];
  if (!shape) return undefined;
  switch (shape.type) {
    case 'structure': {
      const value: Record<string, unknown> = {};
      for (const [name, member] of Object.entries(shape.members ?? {})) {
        const childKey = key ? `${key}.${wireName(reader.protocol, name, member)}` : wireName(reader.protocol, name, member);
        if (!hasUnder(reader, childKey)) continue;
        value[name] = readQuery(reader, member.shape, childKey, where ? `${where}.${name}` : name, member.flattened);
      }
      return value;
    }
    case 'list': {
      if (reader.params.get(key) === '') {
        reader.consumed.add(key);
        return [];
      }
      const flattened = reader.protocol === 'ec2' || shape.flattened || memberFlattened;
      const base = flattened ? key : `${key}.${shape.member?.locationName ?? 'member'}`;
      const indices = new Set<number>();
      for (const name of reader.params.keys()) {
        const match = name.startsWith(`${base}.`) ? /^(\d+)(?:\.|$)/.exec(name.slice(base.length + 1)) : null;
        if (match) indices.add(Number(match[1]));
      }
      return [...indices].sort((a, b) => a - b).map((index, position) => readQuery(reader, shape.member!.shape, `${base}.${index}`, `${where}[${position}]`));
    }
    case 'map': {
      const base = shape.flattened || memberFlattened ? key : `${key}.entry`;
      const indices = new Set<number>();
      for (const name of reader.params.keys()) {
        const match = name.startsWith(`${base}.`) ? /^(\d+)\./.exec(name.slice(base.length + 1)) : null;
        if (match) indices.add(Number(match[1]));
      }
      const value: Record<string, unknown> = {};
      for (const index of indices) {
        const mapKey = readQuery(reader, shape.key!.shape, `${base}.${index}.${shape.key?.locationName ?? 'key'}`, `${where}{key}`);
        value[String(mapKey)] = readQuery(reader, shape.value!.shape, `${base}.${index}.${shape.value?.locationName ?? 'value'}`, `${where}{${String(mapKey)}}`);
      }
      return value;
    }
    default: {
      const text = reader.params.get(key);
      reader.consumed.add(key);
      if (text === undefined) {
        reader.report(where, [...reader.params.keys()].filter((name) => name.startsWith(`${key}.`)).join(', '), `a ${shape.type} sent as a structure or list`);
        return undefined;
      }
      return scalarFromText(shape, text, where, reader.report);
    }
  }
}

function scalarFromText(shape: Shape, text: string, where: string, report: Report): unknown {
  switch (shape.type) {
    case 'integer':
    case 'long':
      if (!/^-?\d+$/.test(text)) report(where, text, `must be an ${shape.type}`);
      return Number(text);
    case 'double':
    case 'float':
      if (!Number.isFinite(Number(text)) || text.trim() === '') report(where, text, `must be a number (${shape.type})`);
      return Number(text);
    case 'boolean':
      if (text !== 'true' && text !== 'false') report(where, text, 'must be true or false');
      return text === 'true';
    case 'timestamp': {
      const at = new Date(text);
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(text) || Number.isNaN(at.getTime())) report(where, text, 'must be an ISO 8601 timestamp (query protocols)');
      return at;
    }
    default:
      return text;
  }
}

/** Holds a value (JSON-shaped) to its shape's model constraints. */
function validate(model: ServiceModel, shapeName: string, value: unknown, where: string, report: Report, json: boolean): void {
  const shape = model.shapes[shapeName];
  if (!shape || value === undefined || value === null) return;
  const lengthRule = (length: number, what: string) => {
    if (shape.min !== undefined && length < shape.min) report(where, value, `${what} at least ${shape.min} (model shape ${shapeName}: min ${shape.min}), got ${length}`);
    if (shape.max !== undefined && length > shape.max) report(where, value, `${what} at most ${shape.max} (model shape ${shapeName}: max ${shape.max}), got ${length}`);
  };
  switch (shape.type) {
    case 'structure': {
      if (typeof value !== 'object' || Array.isArray(value)) return report(where, value, `must be a structure (${shapeName})`);
      const record = value as Record<string, unknown>;
      for (const required of shape.required ?? []) {
        if (record[required] === undefined || record[required] === null) report(where ? `${where}.${required}` : required, '(missing)', `required by the model (${shapeName})`);
      }
      for (const [name, member] of Object.entries(shape.members ?? {})) {
        if (record[name] !== undefined) validate(model, member.shape, record[name], where ? `${where}.${name}` : name, report, json);
      }
      if (json) {
        for (const name of Object.keys(record)) if (!shape.members?.[name]) report(where ? `${where}.${name}` : name, record[name], `not a member of ${shapeName}`);
      }
      return;
    }
    case 'list':
      if (!Array.isArray(value)) return report(where, value, `must be a list (${shapeName})`);
      lengthRule(value.length, 'list length');
      value.forEach((item, index) => validate(model, shape.member!.shape, item, `${where}[${index}]`, report, json));
      return;
    case 'map':
      if (typeof value !== 'object' || Array.isArray(value)) return report(where, value, `must be a map (${shapeName})`);
      lengthRule(Object.keys(value).length, 'map size');
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        validate(model, shape.key!.shape, key, `${where}{key}`, report, json);
        validate(model, shape.value!.shape, item, `${where}{${key}}`, report, json);
      }
      return;
    case 'string': {
      if (typeof value !== 'string') return report(where, value, `must be a string (${shapeName})`);
      lengthRule([...value].length, 'length');
      if (shape.pattern !== undefined) {
        const pattern = compilePattern(shape.pattern);
        if (pattern && !pattern.test(value)) report(where, value, `must match the pattern ${shape.pattern} (model shape ${shapeName})`);
      }
      if (shape.enum && !shape.enum.includes(value)) {
        const listed = shape.enum.length > 12 ? `${shape.enum.slice(0, 12).join(' | ')} | … (${shape.enum.length} values)` : shape.enum.join(' | ');
        report(where, value, `must be one of ${listed} (model enum ${shapeName})`);
      }
      return;
    }
    case 'integer':
    case 'long':
    case 'double':
    case 'float':
      if (typeof value !== 'number' || Number.isNaN(value)) return report(where, value, `must be a number (${shapeName})`);
      if ((shape.type === 'integer' || shape.type === 'long') && !Number.isInteger(value)) report(where, value, `must be an ${shape.type}`);
      if (shape.min !== undefined && value < shape.min) report(where, value, `at least ${shape.min} (model shape ${shapeName}: min ${shape.min})`);
      if (shape.max !== undefined && value > shape.max) report(where, value, `at most ${shape.max} (model shape ${shapeName}: max ${shape.max})`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') report(where, value, 'must be a boolean');
      return;
    case 'timestamp':
      if (json && typeof value !== 'number' && typeof value !== 'string') report(where, value, 'must be epoch seconds or a timestamp string (JSON protocol)');
      return;
    case 'blob':
      if (typeof value === 'string') lengthRule(Buffer.from(value, 'base64').length, 'byte length');
      return;
  }
}

/** One request read back into its operation and input; undefined when it is not an AWS API call the models cover. */
export function readWireRequest(
  request: WireRequest,
  report: (model: ServiceModel, operation: string) => Report,
): { model: ServiceModel; operation: string; input: unknown; json: boolean } | undefined {
  const target = header(request, 'x-amz-target');
  const contentType = header(request, 'content-type');
  if (target) {
    const [prefix, operation] = target.split('.', 2) as [string, string | undefined];
    const model = modelForTarget(prefix);
    if (!model || !operation) return undefined;
    let input: unknown;
    try {
      input = request.body.trim() === '' ? {} : JSON.parse(request.body);
    } catch {
      report(model, operation)('(body)', request.body, 'must be a JSON document (JSON 1.1 protocol)');
      return { model, operation, input: {}, json: true };
    }
    return { model, operation, input, json: true };
  }
  const signingName = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(header(request, 'authorization'))?.[1];
  const restModel = signingName ? modelForSigningName(signingName) : undefined;
  if (restModel?.metadata.protocol === 'rest-json') return readRestJsonRequest(restModel, request, report);
  if (!contentType.includes('x-www-form-urlencoded') || request.method !== 'POST') return undefined;
  const params = new Map(new URLSearchParams(request.body));
  const operation = params.get('Action');
  if (!operation) return undefined;
  const version = params.get('Version');
  const model =
    (signingName ? modelForSigningName(signingName) : undefined) ??
    ['ec2', 'autoscaling', 'sts', 'iam', 'sns'].map(loadServiceModel).find((candidate) => candidate?.metadata.apiVersion === version && candidate?.operations[operation]);
  if (!model) return undefined;
  const shapeName = model.operations[operation]?.input?.shape;
  if (!shapeName) return { model, operation, input: {}, json: false };
  const reader: QueryReader = { params, consumed: new Set(['Action', 'Version']), protocol: model.metadata.protocol, model, report: report(model, operation) };
  const input = readQuery(reader, shapeName, '', '');
  for (const name of params.keys()) {
    if (!reader.consumed.has(name)) reader.report(name, params.get(name), `unknown parameter: ${operation} has no member serialized as ${name} (${model.metadata.protocol} protocol)`);
  }
  if (version !== model.metadata.apiVersion) reader.report('Version', version ?? '(missing)', `must be the API version ${model.metadata.apiVersion}`);
  return { model, operation, input, json: false };
}

/**
 * REST-JSON (Recycle Bin): the operation is the one whose HTTP method and request URI match (`POST /list-rules`,
 * `GET /rules/{identifier}`); the input is the JSON body plus the members bound to the URI's labels and query string.
 * A request that matches no operation is a violation (named by its method and path), not something to skip.
 */
function readRestJsonRequest(model: ServiceModel, request: WireRequest, report: (model: ServiceModel, operation: string) => Report) {
  const [pathPart = '', queryPart = ''] = request.url.split('?', 2);
  for (const [operation, definition] of Object.entries(model.operations)) {
    if (!definition.http || definition.http.method !== request.method) continue;
    const [uriPath = '', uriQuery = ''] = definition.http.requestUri.split('?', 2);
    const labels: string[] = [];
    const pattern = uriPath.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{([^}+]+)(\+)?\\?\}/g, (_match, label: string, greedy: string | undefined) => {
      labels.push(label);
      return greedy ? '(.+)' : '([^/]+)';
    });
    const matched = new RegExp(`^${pattern}$`).exec(pathPart);
    if (!matched) continue;
    const fixedQuery = new URLSearchParams(uriQuery);
    const query = new URLSearchParams(queryPart);
    if ([...fixedQuery.keys()].some((key) => !query.has(key))) continue;
    let input: Record<string, unknown> = {};
    try {
      input = request.body.trim() === '' ? {} : (JSON.parse(request.body) as Record<string, unknown>);
    } catch {
      report(model, operation)('(body)', request.body, 'must be a JSON document (REST-JSON protocol)');
    }
    const shape = definition.input ? model.shapes[definition.input.shape] : undefined;
    for (const [name, member] of Object.entries(shape?.members ?? {})) {
      if (member.location === 'uri') {
        const index = labels.indexOf(member.locationName ?? name);
        if (index >= 0) input[name] = decodeURIComponent(matched[index + 1]!);
      } else if (member.location === 'querystring' && query.has(member.locationName ?? name)) {
        const value = query.get(member.locationName ?? name)!;
        input[name] = model.shapes[member.shape]?.type === 'integer' ? Number(value) : value;
      }
    }
    return { model, operation, input, json: true };
  }
  // Named by its method and path, the check below reports that the model has no such operation.
  return { model, operation: `${request.method} ${pathPart}`, input: {}, json: true };
}

/** Checks one request against its service's model and the documented rules. */
export function checkWireRequest(request: WireRequest, now: Date = new Date()): WireCheck {
  const sender = senderOf(header(request, 'user-agent'));
  const violations: WireViolation[] = [];
  const reportFor =
    (model: ServiceModel, operation: string): Report =>
    (member, value, rule) =>
      violations.push({ service: model.service, operation, member: member || '(input)', value: show(value), rule, sender });
  const read = readWireRequest(request, reportFor);
  if (!read) return { sender, checked: false, violations };
  const { model, operation, input, json } = read;
  const report = reportFor(model, operation);
  const definition = model.operations[operation];
  if (!definition) {
    report('(operation)', operation, `${model.service} has no operation ${operation} in ${model.file}`);
    return { service: model.service, operation, sender, checked: true, violations };
  }
  if (definition.input) validate(model, definition.input.shape, input, '', report, json);
  const region = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(header(request, 'authorization'))?.[1] ?? 'us-east-1';
  documentedRules({ model, operation, input: (input ?? {}) as Record<string, unknown>, now, region, report });
  return { service: model.service, operation, sender, checked: true, violations };
}

interface RuleContext {
  readonly model: ServiceModel;
  readonly operation: string;
  readonly input: Record<string, unknown>;
  readonly now: Date;
  readonly region: string;
  readonly report: Report;
}

function stripTags(html: string): string {
  return html
    .replace(/<[^>]+>/g, '')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&')
    .trim();
}

const filterNames = new Map<string, { names: Set<string>; tagPrefix: boolean } | undefined>();

/**
 * The filter names an EC2 Describe operation documents: its `Filters` member's documentation lists each as
 * `<li><p><code>name</code> - …`, and `tag:<key>` as `<code>tag</code>:&lt;key&gt;` or `<code>tag:&lt;key&gt;</code>`.
 * Undefined when the documentation lists none (then nothing can be said).
 */
export function documentedFilterNames(model: ServiceModel, operation: string): { names: Set<string>; tagPrefix: boolean } | undefined {
  const key = `${model.service}:${operation}`;
  if (filterNames.has(key)) return filterNames.get(key);
  const inputShape = model.operations[operation]?.input?.shape;
  const documentation = inputShape ? model.shapes[inputShape]?.members?.Filters?.documentation : undefined;
  let found: { names: Set<string>; tagPrefix: boolean } | undefined;
  if (documentation) {
    const names = new Set<string>();
    let tagPrefix = false;
    for (const match of documentation.matchAll(/<li>\s*<p>\s*<code>(.*?)<\/code>/g)) {
      const name = stripTags(match[1]!);
      if (name === 'tag' || name.startsWith('tag:')) tagPrefix = true;
      else names.add(name);
    }
    if (names.size > 0 || tagPrefix) found = { names, tagPrefix };
  }
  filterNames.set(key, found);
  return found;
}

/** Operations whose filters the documentation does not enumerate: said in the summary, never passed silently. */
export const undocumentedFilterOperations = new Set<string>();

const amiName = /^[a-zA-Z0-9()[\] ./\-'@_]{3,128}$/;
const ssmParameterName = /^[a-zA-Z0-9_.\-/]+$/;

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function ec2Tags(context: RuleContext, tags: unknown, where: string): void {
  const list = asArray(tags) as { Key?: string; Value?: string }[];
  if (list.length > 50) context.report(where, `${list.length} tags`, 'at most 50 tags per resource (EC2 tag restrictions)');
  list.forEach((tag, index) => {
    const key = tag.Key ?? '';
    if ([...key].length < 1 || [...key].length > 128) context.report(`${where}[${index}].Key`, key, 'tag key 1–128 characters (EC2 tag restrictions)');
    if (key.toLowerCase().startsWith('aws:')) context.report(`${where}[${index}].Key`, key, 'tag keys may not begin with aws: (reserved for AWS)');
    if (tag.Value !== undefined && [...tag.Value].length > 256) context.report(`${where}[${index}].Value`, tag.Value, 'tag value at most 256 characters (EC2 tag restrictions)');
  });
}

/**
 * The rules AWS documents and enforces that the model cannot express, for the calls gild and Packer make: filter
 * names per Describe operation (from the operation's own Filters documentation) and at most 200 values a filter;
 * EC2 tag limits; DeprecateAt in the future after rounding to the minute; AMI name limits (the description's are in the model);
 * DescribeImageReferences' either-or; what MaxResults documentation says (ranges, not with IDs); SSM parameter names (characters, depth, reserved prefixes, length with ARN),
 * SSM tag keys not `aws:`, DataType values, PutParameter values (4 KB Standard, 8 KB Advanced; no {{ }}), the run-script documents' executionTimeout, and which ParameterFilters keys and options each SSM operation takes.
 */
function documentedRules(context: RuleContext): void {
  const { model, operation, input, now, report } = context;
  if (model.service === 'ec2') {
    if (Array.isArray(input.Filters)) {
      const documented = documentedFilterNames(model, operation);
      if (!documented) undocumentedFilterOperations.add(operation);
      (input.Filters as { Name?: string; Values?: unknown[] }[]).forEach((filter, index) => {
        const name = filter.Name ?? '';
        if (documented && !documented.names.has(name) && !(documented.tagPrefix && /^tag:./.test(name))) {
          report(
            `Filters[${index}].Name`,
            name,
            `not a filter ${operation} documents (its Filters documentation lists: ${[...documented.names].slice(0, 12).join(', ')}${documented.names.size > 12 ? ', …' : ''}${documented.tagPrefix ? ', tag:<key>' : ''})`,
          );
        }
        if (asArray(filter.Values).length > 200) report(`Filters[${index}].Values`, `${asArray(filter.Values).length} values`, 'at most 200 values in one filter (EC2 API: filter value limit)');
      });
    }
    if (operation === 'CreateTags') ec2Tags(context, input.Tags, 'Tags');
    asArray(input.TagSpecifications).forEach((specification, index) => ec2Tags(context, (specification as { Tags?: unknown }).Tags, `TagSpecifications[${index}].Tags`));
    if (operation === 'EnableImageDeprecation' && input.DeprecateAt instanceof Date) {
      // EC2 rounds the seconds to the nearest minute, then refuses a time in the past.
      const rounded = Math.round(input.DeprecateAt.getTime() / 60_000) * 60_000;
      if (rounded <= now.getTime())
        report('DeprecateAt', input.DeprecateAt, `must be in the future once EC2 rounds it to the minute (${new Date(rounded).toISOString()} is not after ${now.toISOString()})`);
      if (input.DeprecateAt.getTime() > now.getTime() + 10 * 365.25 * 86_400_000) report('DeprecateAt', input.DeprecateAt, 'at most 10 years from now');
    }
    if (['CreateImage', 'RegisterImage', 'CopyImage'].includes(operation)) {
      if (typeof input.Name === 'string' && !amiName.test(input.Name)) report('Name', input.Name, "AMI name: 3–128 characters of a-z A-Z 0-9 ( ) [ ] space . / - ' @ _");
    }
    if (operation === 'DescribeImageReferences' && input.IncludeAllResourceTypes !== true && asArray(input.ResourceTypes).length === 0) {
      report('IncludeAllResourceTypes', input.IncludeAllResourceTypes ?? '(missing)', 'either IncludeAllResourceTypes or ResourceTypes must be specified');
    }
    if (typeof input.MaxResults === 'number') maxResultsRules(context, input.MaxResults);
  }
  if (model.service === 'ssm') {
    if (operation === 'PutParameter' && typeof input.Name === 'string') ssmNameRules(context, input.Name, 'Name', { write: true });
    if (operation === 'PutParameter' && typeof input.Value === 'string') ssmValueRules(context, input.Value, input.Tier);
    if (operation === 'SendCommand') runScriptParameterRules(context);
    // Names read or deleted follow the same characters and depth; a read may name a version or label (`name:3`) or an ARN.
    const named = ['GetParameter', 'DeleteParameter', 'GetParameterHistory', 'LabelParameterVersion'].includes(operation) && typeof input.Name === 'string' ? [['Name', input.Name] as const] : [];
    const listed = ['GetParameters', 'DeleteParameters'].includes(operation) ? asArray(input.Names).map((name, index) => [`Names[${index}]`, String(name)] as const) : [];
    for (const [where, name] of [...named, ...listed]) {
      if (!name.startsWith('arn:')) ssmNameRules(context, operation.startsWith('Get') ? name.replace(/:[^:/]*$/, '') : name, where, { write: false });
    }
    const tags = operation === 'PutParameter' || operation === 'AddTagsToResource' ? asArray(input.Tags) : [];
    tags.forEach((tag, index) => {
      const key = (tag as { Key?: string }).Key ?? '';
      if (key.toLowerCase().startsWith('aws:')) report(`Tags[${index}].Key`, key, 'tag keys may not begin with aws: (reserved for AWS)');
    });
    if (typeof input.DataType === 'string' && !['text', 'aws:ec2:image', 'aws:ssm:integration'].includes(input.DataType))
      report('DataType', input.DataType, 'must be text, aws:ec2:image or aws:ssm:integration (PutParameter DataType documentation)');
    asArray(input.ParameterFilters).forEach((filter, index) => ssmFilterRules(context, filter as { Key?: string; Option?: string; Values?: unknown[] }, index));
  }
}

/**
 * PutParameter's Value documentation: "Standard parameters have a value limit of 4 KB. Advanced parameters have a
 * value limit of 8 KB" (Intelligent-Tiering becomes Advanced when the value needs it; no Tier is the account's
 * default, Standard unless changed), and "You can't include values wrapped in double brackets {{}} or
 * {{ssm:parameter-name}} in a parameter value". The model has no length for Value, and moto checks neither.
 */
function ssmValueRules(context: RuleContext, value: string, tier: unknown): void {
  const limit = tier === 'Advanced' || tier === 'Intelligent-Tiering' ? 8192 : 4096;
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > limit) {
    context.report(
      'Value',
      `${bytes} bytes`,
      limit === 8192
        ? `at most 8 KB for ${String(tier)} parameters (PutParameter Value documentation)`
        : 'at most 4 KB for Standard parameters (PutParameter Value documentation); Tier Advanced or Intelligent-Tiering allows 8 KB',
    );
  }
  if (/\{\{[\s\S]*?\}\}/.test(value))
    context.report('Value', value, 'no values wrapped in double brackets {{}} (PutParameter Value documentation: parameters cannot reference or nest other parameters)');
}

/**
 * The parameters of the two documents gild runs checks with, as their own definitions declare them
 * (AWS-RunShellScript and AWS-RunPowerShellScript: `executionTimeout` is a string of seconds whose allowedPattern
 * stops at 172800, 48 hours). SSM refuses a SendCommand whose parameter breaks it (InvalidParameters); moto does not.
 */
const executionTimeoutPattern = /^(?:[1-9][0-9]{0,4}|1[0-6][0-9]{4}|17[0-1][0-9]{3}|172[0-7][0-9]{2}|172800)$/;
function runScriptParameterRules(context: RuleContext): void {
  const { input, report } = context;
  if (input.DocumentName !== 'AWS-RunShellScript' && input.DocumentName !== 'AWS-RunPowerShellScript') return;
  const parameters = (input.Parameters ?? {}) as Record<string, unknown>;
  asArray(parameters.executionTimeout).forEach((value, index) => {
    if (typeof value !== 'string' || !executionTimeoutPattern.test(value))
      report(`Parameters.executionTimeout[${index}]`, value, `${String(input.DocumentName)}'s executionTimeout: whole seconds from 1 to 172800 (48 hours), its allowedPattern`);
  });
}

/**
 * What an EC2 operation's MaxResults documentation says the model does not: "This value can be between 5 and 1000",
 * and "You cannot specify this parameter and the instance IDs parameter in the same request".
 */
function maxResultsRules(context: RuleContext, maxResults: number): void {
  const { model, operation, input, report } = context;
  const inputShape = model.operations[operation]?.input?.shape;
  const documentation = stripTags((inputShape ? model.shapes[inputShape]?.members?.MaxResults?.documentation : undefined) ?? '');
  const range = /between (\d+) and (\d+)/.exec(documentation);
  if (range && (maxResults < Number(range[1]) || maxResults > Number(range[2]))) report('MaxResults', maxResults, `between ${range[1]} and ${range[2]} (${operation}'s MaxResults documentation)`);
  if (/cannot specify this parameter and the [\w ]*IDs? parameter in the same request/i.test(documentation)) {
    for (const [name, value] of Object.entries(input)) {
      if (/Ids$/.test(name) && asArray(value).length > 0) report('MaxResults', maxResults, `cannot be sent with ${name} (${operation}'s MaxResults documentation)`);
    }
  }
}

function ssmNameRules(context: RuleContext, name: string, where: string, options: { readonly write: boolean }): void {
  const { report } = context;
  if (!ssmParameterName.test(name)) report(where, name, 'parameter names take only a-zA-Z0-9_.- and / between levels (no spaces)');
  if (name.includes('/') && !name.startsWith('/')) report(where, name, 'a parameter name in a hierarchy must begin with /');
  const levels = name.split('/').filter(Boolean);
  if (levels.length > 15) report(where, name, `parameter hierarchies are at most 15 levels deep, got ${levels.length}`);
  if (!options.write) return;
  // Reads may name AWS's public parameters (/aws/service/…); only a write is refused for the reserved prefixes.
  if (/^(aws|ssm)/i.test(levels[0] ?? '')) report(where, name, 'parameter names may not be prefixed with aws or ssm (case-insensitive)');
  // The 1011 characters a name may take count the ARN before it (arn:aws:ssm:<region>:<account>:parameter).
  const arnPrefix = `arn:aws:ssm:${context.region}:123456789012:parameter${name.startsWith('/') ? '' : '/'}`;
  if (arnPrefix.length + name.length > 1011) report(where, name, `at most 1011 characters with the ARN before it, got ${arnPrefix.length + name.length}`);
}

function ssmFilterRules(context: RuleContext, filter: { Key?: string; Option?: string; Values?: unknown[] }, index: number): void {
  const { operation, report } = context;
  const key = filter.Key ?? '';
  const where = `ParameterFilters[${index}]`;
  const tagKey = key.startsWith('tag:');
  if (operation === 'DescribeParameters') {
    if (key === 'Label') report(`${where}.Key`, key, 'DescribeParameters takes every filter key but Label');
    const options = key === 'Path' ? ['Recursive', 'OneLevel'] : key === 'Name' ? ['Equals', 'BeginsWith', 'Contains'] : tagKey ? ['Equals', 'BeginsWith'] : ['Equals', 'BeginsWith'];
    if (filter.Option !== undefined && !options.includes(filter.Option)) report(`${where}.Option`, filter.Option, `${key} takes the options ${options.join(', ')} in DescribeParameters`);
  }
  if (operation === 'GetParametersByPath') {
    if (tagKey || ['DataType', 'Name', 'Path', 'Tier'].includes(key)) report(`${where}.Key`, key, 'GetParametersByPath does not take the filter keys tag, DataType, Name, Path, Tier');
    const options = key === 'Label' ? ['Equals'] : ['Equals', 'BeginsWith'];
    if (filter.Option !== undefined && !options.includes(filter.Option)) report(`${where}.Option`, filter.Option, `${key} takes the options ${options.join(', ')} in GetParametersByPath`);
  }
  if (key === 'DataType') {
    for (const value of asArray(filter.Values)) {
      if (!['text', 'aws:ec2:image', 'aws:ssm:integration'].includes(String(value))) report(`${where}.Values`, value, 'DataType values are text, aws:ec2:image or aws:ssm:integration');
    }
  }
}

export function formatViolation(violation: WireViolation): string {
  return `${violation.service} ${violation.operation}: ${violation.member} = ${violation.value} breaks AWS's rule: ${violation.rule} — sent by ${violation.sender}`;
}
