/**
 * A complete ResolvedImage with sensible defaults, for tests: pass only the
 * fields a test is about.
 */
import type { ResolvedImage } from '../../src/definition/resolved-image.ts';

type Overrides = Omit<Partial<ResolvedImage>, 'buildInfrastructure'> & { buildInfrastructure?: Partial<ResolvedImage['buildInfrastructure']> };

export function resolvedImageFixture(overrides: Overrides = {}): ResolvedImage {
  const { buildInfrastructure, ...rest } = overrides;
  const buildRegion = rest.buildRegion ?? 'us-east-1';
  const copyRegions = rest.copyRegions ?? [];
  return {
    name: 'web',
    file: 'images/web.ts',
    dir: '/project/images',
    description: 'Web server base image',
    version: '1.0.0',
    platform: 'linux',
    architecture: 'x86_64',
    base: { kind: 'ssm', parameter: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64' },
    preset: undefined,
    packageManifestCommand: 'rpm -qa --queryformat "%{NAME} %{VERSION}-%{RELEASE}\\n"',
    instanceType: 't3.micro',
    buildRegion,
    copyRegions,
    regions: [buildRegion, ...copyRegions.filter((region) => region !== buildRegion)],
    provision: [],
    generalize: { kind: 'on', keep: [], reason: undefined, launchAgent: undefined },
    patch: { enabled: false, packageManager: undefined },
    smoke: {
      instanceTypes: ['t3.micro'],
      subnetId: undefined,
      securityGroupIds: [],
      instanceProfile: undefined,
      userData: undefined,
      checkTimeoutSeconds: 300,
      timeoutSeconds: 900,
      checks: [],
      onFailure: 'deregister',
      packageManifest: true,
      regions: 'build',
      documentName: 'AWS-RunShellScript',
    },
    tags: {},
    launchPermissions: { kind: 'implicit' },
    launchBlockDevices: [],
    amiBlockDevices: [],
    encryption: undefined,
    deprecateAfterDays: undefined,
    retention: { keep: 3, maxAgeDays: undefined, minAgeDays: 0, phases: {} },
    distribution: [],
    template: undefined,
    partial: undefined,
    packerSource: {},
    dependsOn: [],
    ...rest,
    buildInfrastructure: {
      subnetId: undefined,
      vpcId: undefined,
      subnetFilter: undefined,
      securityGroupIds: [],
      instanceProfile: undefined,
      temporaryInstanceProfile: true,
      sessionManager: false,
      requireImdsV2: true,
      sshUsername: 'ec2-user',
      ...buildInfrastructure,
    },
  };
}

/** The planner's inputs to renderImage, with a fixed clock so deprecate_at is predictable. */
export function renderInputFixture(outDir: string) {
  return {
    outDir,
    templatesDir: new URL('../../templates', import.meta.url).pathname,
    baseAmiId: 'ami-1e749f67',
    amiName: 'web-1.0.0-20261128T120000Z',
    tags: { team: 'platform', 'gild:image': 'web', 'gild:version': '1.0.0' },
    runTags: { 'gild:run-id': 'run-1', 'gild:role': 'build' },
    packer: { major: 1, minor: 6, patch: 6 },
    now: new Date('2026-11-28T12:00:00Z'),
  };
}

/**
 * What an HCL string's template text means: hcl2json hands back `$${` and
 * `%%{` as written, so undo those, and fail on a real interpolation, which
 * rendered values must never contain.
 */
export function decodeTemplateText(text: string): string {
  let decoded = '';
  for (let index = 0; index < text.length;) {
    const rest = text.slice(index, index + 3);
    if (rest === '$${' || rest === '%%{') {
      decoded += rest.slice(1);
      index += 3;
    } else if (rest.startsWith('${') || rest.startsWith('%{')) {
      throw new Error(`live template sequence at ${index} in ${JSON.stringify(text)}`);
    } else {
      decoded += text[index];
      index += 1;
    }
  }
  return decoded;
}

/**
 * What Packer makes of a string it evaluates as a Go template, for the only
 * actions gild renders (`{{"…"}}`, a Go string literal); any other action is
 * a live template and fails the test.
 */
export function evaluatePackerText(text: string): string {
  let evaluated = '';
  let index = 0;
  while (index < text.length) {
    const open = text.indexOf('{{', index);
    if (open === -1) return evaluated + text.slice(index);
    evaluated += text.slice(index, open);
    const literal = /^\{\{"((?:[^"\\]|\\.)*)"\}\}/.exec(text.slice(open));
    if (!literal) throw new Error(`live Go template at ${open} in ${JSON.stringify(text)}`);
    evaluated += (literal[1] as string).replace(
      /\\(?:u([0-9a-f]{4})|U([0-9a-f]{8})|(["\\]))/g,
      (_all, u4: string | undefined, u8: string | undefined, plain: string | undefined) => plain ?? String.fromCodePoint(parseInt((u4 ?? u8) as string, 16)),
    );
    index = open + literal[0].length;
  }
  return evaluated;
}
