/**
 * The modern-Packer rendering (Packer >= 1.7: the amazon builder comes from `required_plugins` and `packer init`),
 * proven as far as this machine allows. No modern Packer binary is reachable here (Debian ships 1.6.6; HashiCorp's
 * releases and the plugin's are off the network), so `packer init` and a modern `packer validate` cannot run. Instead:
 * 1. Packer 1.6.6 validates each modern folder without its plugins.pkr.hcl and without the settings only the plugin
 *    knows (src/render/packer-capabilities.ts gatedSettings): everything else is the very text modern Packer gets.
 * 2. Every argument and nested block of the source, those settings included, is checked against the amazon plugin's
 *    HCL2 spec at the oldest version `required_plugins` allows (test/fixtures/modern-packer/amazon-ebs-schema.json,
 *    extracted from the plugin's generated specs; extract-schema.mjs beside it says how).
 * 3. The plugin block against Packer's rules for `required_plugins` (hcl2template/types.required_plugins.go and
 *    addrs/plugin.go: objects of `source` and `version` only; a source `host/namespace/type`, no scheme, no
 *    `packer-` prefix; the local name is the builder's prefix, `amazon` for `amazon-ebs`).
 * 4. Every provisioner and post-processor is one Packer core still bundles from 1.10.0 (when the amazon builder left
 *    it) to today.
 * What stays unproven here: that `packer init` installs the plugin, and the plugin's own checks of values (its
 * Prepare), which only a modern Packer with the plugin runs.
 */
import { parse } from '@cdktf/hcl2json';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import semver from 'semver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packerValidate, packerVersion, type PackerVersionInfo } from '../../src/adapters/packer.ts';
import { loadProject } from '../../src/commands/load-project.ts';
import { renderOffline } from '../../src/commands/render-offline.ts';
import type { ResolvedImage } from '../../src/definition/resolved-image.ts';
import { gatedSettings } from '../../src/render/packer-capabilities.ts';
import { renderImage } from '../../src/render/render-template.ts';
import schema from '../fixtures/modern-packer/amazon-ebs-schema.json' with { type: 'json' };
import { createTempProject, type TempProject } from '../support/project.ts';
import { renderInputFixture, resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const modernPacker = { major: 1, minor: 11, patch: 2, raw: 'Packer v1.11.2' };
type Field = { readonly attribute: string } | { readonly block: string; readonly list: boolean };
const types = schema.types as Record<string, Record<string, Field>>;

let project: TempProject;
let workDir: string;
beforeAll(async () => {
  project = await createTempProject({ shippedImages: true });
  workDir = await mkdtemp(path.join(tmpdir(), 'gild-modern-packer-'));
});
afterAll(async () => {
  await project?.remove();
  await rm(workDir, { recursive: true, force: true });
});

/** What else the rendering can emit beyond the examples: deprecation, Session Manager, spot, encryption and copies, an escape hatch. */
const featured = (): ResolvedImage[] => [
  resolvedImageFixture({
    name: 'featured',
    copyRegions: ['us-west-2', 'eu-west-1'],
    encryption: { kmsKeyId: 'alias/gild', regionKmsKeyIds: { 'eu-west-1': 'alias/gild-eu' } },
    deprecateAfterDays: 90,
    buildInfrastructure: { sessionManager: true, subnetFilter: { 'tag:Role': 'build' }, securityGroupIds: ['sg-12345678'] },
    launchBlockDevices: [{ deviceName: '/dev/xvda', sizeGiB: 20, type: 'gp3', deleteOnTermination: true }],
    amiBlockDevices: [{ deviceName: '/dev/xvdb', sizeGiB: 10, type: 'io2', iops: 4000, encrypted: true, kmsKeyId: 'alias/gild', deleteOnTermination: true }],
    partial: 'spot-instances',
    packerSource: { shutdown_behavior: 'terminate' },
  }),
];

/** Each shipped example and the featured fixture, rendered for `packer` (modern by default) into its own folder. */
async function modernFolders(packer: PackerVersionInfo = modernPacker, under = 'modern'): Promise<{ name: string; dir: string }[]> {
  const loaded = await loadProject(project.dir);
  const folders: { name: string; dir: string }[] = [];
  for (const image of loaded.images) {
    const dir = path.join(workDir, under, 'examples', image.name);
    await renderOffline(project.dir, image, dir, packer, { baseAmiId: 'ami-0123456789abcdef0' });
    folders.push({ name: image.name, dir });
  }
  for (const image of featured()) {
    const input = renderInputFixture(path.join(workDir, under, 'fixtures', image.name));
    const rendered = await renderImage(image, { ...input, packer });
    folders.push({ name: image.name, dir: rendered.dir });
  }
  return folders;
}

/** A rendered file with its folder and the alignment of `=` (packer fmt's) taken out, for comparing two renderings. */
const comparable = (text: string, dir: string) => text.replaceAll(dir, '<dir>').replace(/ +=/g, ' =');

/** The source block's text without the settings `names` (an argument line, or a block with its body). */
function withoutSettings(text: string, names: readonly string[]): { text: string; removed: string[] } {
  const removed: string[] = [];
  let result = text;
  for (const name of names) {
    result = result.replace(new RegExp(`^ {2}${name} \\{\\n[\\s\\S]*?^ {2}\\}\\n|^ {2}${name} += .*\\n`, 'gm'), () => (removed.push(name), ''));
  }
  return { text: result, removed };
}

/** Where the parsed HCL (hcl2json's shape: a block is a list of objects) does not fit the plugin's spec type `typeName`. */
function misfits(value: Record<string, unknown>, typeName: string, where: string): string[] {
  const spec = types[typeName];
  if (!spec) return [`${where}: the schema has no ${typeName}`];
  return Object.entries(value).flatMap(([name, given]): string[] => {
    const field = spec[name];
    const at = `${where}.${name}`;
    if (!field) return [`${at}: no argument or block of that name in the amazon plugin ${schema.plugin.tag}`];
    if ('block' in field) {
      if (!Array.isArray(given) || given.some((item) => typeof item !== 'object' || item === null)) return [`${at}: the plugin takes a block here, not an argument`];
      if (!field.list && given.length !== 1) return [`${at}: the plugin takes this block once`];
      return given.flatMap((item: Record<string, unknown>, index) => misfits(item, field.block, `${at}[${index}]`));
    }
    const fits =
      field.attribute === 'string'
        ? typeof given === 'string'
        : field.attribute === 'bool'
          ? typeof given === 'boolean'
          : field.attribute === 'number'
            ? typeof given === 'number'
            : field.attribute === 'list(string)'
              ? Array.isArray(given) && given.every((item) => typeof item === 'string')
              : field.attribute === 'map(string)'
                ? typeof given === 'object' && given !== null && !Array.isArray(given) && Object.values(given).every((item) => typeof item === 'string')
                : false;
    return fits ? [] : [`${at}: the plugin takes a ${field.attribute}, not ${JSON.stringify(given)}`];
  });
}

describe('the modern-Packer rendering, checked offline', () => {
  it('validates with Packer 1.6.6 once the plugin file and the plugin-only settings are set aside, and nothing else differs', async () => {
    const installed = await packerVersion();
    expect(`${installed.major}.${installed.minor}`, 'this check needs a Packer without required_plugins support (CI installs 1.6.6)').toBe('1.6');
    const gated = gatedSettings.map((setting) => setting.name);
    const removedFrom: Record<string, string[]> = {};
    const forInstalled = new Map((await modernFolders(installed, 'installed')).map((folder) => [folder.name, folder.dir]));
    for (const { name, dir } of await modernFolders()) {
      const copy = path.join(workDir, 'for-1.6.6', name);
      await cp(dir, copy, { recursive: true });
      await rm(path.join(copy, 'plugins.pkr.hcl'));
      const file = path.join(copy, 'image.pkr.hcl');
      const { text, removed } = withoutSettings(await readFile(file, 'utf8'), gated);
      await writeFile(file, text);
      removedFrom[name] = removed;
      // What is left is exactly what gild renders for the installed 1.6.6, which drops those settings itself.
      const installedText = await readFile(path.join(forInstalled.get(name)!, 'image.pkr.hcl'), 'utf8');
      expect(comparable(text, dir), name).toBe(comparable(installedText, forInstalled.get(name)!));
      expect(await packerValidate(copy), `${name}: ${text}`).toEqual({ ok: true });
    }
    // The plugin-only settings the modern rendering adds: IMDSv2 on every image, deprecation where asked for.
    expect(removedFrom).toEqual({
      'al2023-base': ['metadata_options', 'imds_support'],
      'debian-base': ['metadata_options', 'imds_support'],
      'graviton-worker': ['metadata_options', 'imds_support'],
      nginx: ['metadata_options', 'imds_support'],
      'windows-2022': ['metadata_options', 'imds_support'],
      featured: ['metadata_options', 'imds_support', 'deprecate_at'],
    });
  });

  it("fits every argument and block of the source to the amazon plugin's schema at the oldest version it requires", async () => {
    const problems: string[] = [];
    const gatedValues: Record<string, unknown>[] = [];
    for (const { name, dir } of await modernFolders()) {
      const parsed = (await parse('image.pkr.hcl', await readFile(path.join(dir, 'image.pkr.hcl'), 'utf8'))) as { source: Record<string, Record<string, Record<string, unknown>[]>> };
      expect(Object.keys(parsed.source)).toEqual(['amazon-ebs']);
      const source = parsed.source['amazon-ebs']![name]![0]!;
      problems.push(...misfits(source, schema.plugin.root, `${name}: source "amazon-ebs"`));
      gatedValues.push(Object.fromEntries(gatedSettings.flatMap((setting) => (setting.name in source ? [[setting.name, source[setting.name]]] : []))));
    }
    expect(problems).toEqual([]);
    // The plugin-only settings hold values its documentation (docs-partials at that tag) lists: http_endpoint
    // "enabled"|"disabled", http_tokens "optional"|"required", a hop limit; imds_support unset or "v2.0"; deprecate_at
    // YYYY-MM-DDTHH:MM:SSZ.
    for (const values of gatedValues) {
      expect(values).toMatchObject({ metadata_options: [{ http_endpoint: 'enabled', http_tokens: 'required', http_put_response_hop_limit: expect.any(Number) }], imds_support: 'v2.0' });
      if ('deprecate_at' in values) expect(values.deprecate_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$|^\{\{.*\}\}$/);
    }
    expect(gatedValues.filter((values) => 'deprecate_at' in values)).toHaveLength(1);
  });

  it('finds what the plugin would refuse: the check is not blind (a setting of a later plugin, a misspelling, a wrong type)', () => {
    expect(misfits({ imds_support: 'v2.0', metadata_option: [{}], ssh_clear_authorized_keys: 'yes', launch_block_device_mappings: { device_name: 'x' } }, 'FlatConfig', 'web')).toEqual([
      'web.metadata_option: no argument or block of that name in the amazon plugin v1.2.2',
      'web.ssh_clear_authorized_keys: the plugin takes a bool, not "yes"',
      'web.launch_block_device_mappings: the plugin takes a block here, not an argument',
    ]);
    // A block the plugin only gained after the required minimum (deregistration_protection, in the 1.3 series) is refused.
    expect(misfits({ deregistration_protection: [{ enabled: true }] }, 'FlatConfig', 'web')).toEqual(['web.deregistration_protection: no argument or block of that name in the amazon plugin v1.2.2']);
  });

  it("writes a plugin block that Packer's required_plugins rules accept, requiring the version the schema was read from", async () => {
    const [first] = await modernFolders();
    const plugins = (await parse('plugins.pkr.hcl', await readFile(path.join(first!.dir, 'plugins.pkr.hcl'), 'utf8'))) as { packer: { required_plugins: Record<string, Record<string, string>>[] }[] };
    expect(plugins.packer).toHaveLength(1);
    const required = plugins.packer[0]!.required_plugins;
    expect(required).toHaveLength(1);
    const [[localName, requirement]] = Object.entries(required[0]!) as [[string, Record<string, string>]];
    expect(Object.keys(requirement!).sort()).toEqual(['source', 'version']);
    const { source, version } = requirement as { source: string; version: string };
    // Packer's source rules: host/namespace/type, no scheme, query or fragment, no leading or trailing '/', no `packer-` type.
    expect(source).toMatch(/^[a-z0-9.-]+\/[A-Za-z0-9_-]+\/[a-z0-9_-]+$/);
    expect(new URL(`https://${source}`).search + new URL(`https://${source}`).hash).toBe('');
    const type = source.split('/').at(-1)!;
    expect(type.startsWith('packer-')).toBe(false);
    // The local name is what a builder type starts with: `amazon-ebs` is the `ebs` component of the plugin named `amazon`.
    expect(localName).toBe(type);
    expect('amazon-ebs'.startsWith(`${localName}-`)).toBe(true);
    expect(semver.validRange(version)).not.toBeNull();
    expect(`v${semver.minVersion(version)!.version}`).toBe(schema.plugin.tag);
  });

  it('uses only provisioners and post-processors that Packer core bundles from 1.10.0 (no plugin needed for them)', async () => {
    const used = new Set<string>();
    for (const { dir } of await modernFolders()) {
      const text = await readFile(path.join(dir, 'image.pkr.hcl'), 'utf8');
      for (const [, kind, type] of text.matchAll(/^ {2}(provisioner|post-processor) "([a-z-]+)"/gm)) used.add(`${kind} ${type}`);
    }
    expect([...used].sort()).toEqual(['post-processor manifest', 'provisioner file', 'provisioner powershell', 'provisioner shell', 'provisioner windows-restart', 'provisioner windows-shell']);
    for (const core of schema.packerCore) {
      const bundled = new Set([...core.provisioners.map((type) => `provisioner ${type}`), ...core.postProcessors.map((type) => `post-processor ${type}`)]);
      expect(
        [...used].filter((component) => !bundled.has(component)),
        `Packer ${core.tag}`,
      ).toEqual([]);
    }
    expect(schema.packerCore.map((core) => core.tag)).toEqual(['v1.10.0', 'v1.16.0']);
  });
});
