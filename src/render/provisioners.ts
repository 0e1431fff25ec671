/**
 * The build block's provisioners, as data, in the order they run:
 *
 *   1. gild's patch step (`patch: true`), see patch.ts;
 *   2. one Packer provisioner per definition step, in order;
 *   3. gild's record of the build instance's identity, downloaded into the rendered folder for the smoke test's
 *      new-machine checks (see machine-identity.ts);
 *   4. gild's generalize step, always last (see generalize.ts).
 */
import path from 'node:path';
import type { ProvisionStep, ResolvedImage } from '../definition/resolved-image.ts';
import { linuxGeneralizeScript, windowsGeneralizeCommands } from './generalize.ts';
import { attribute, type HclBody, type HclEntry } from './hcl.ts';
import { buildIdentityFileName, linuxIdentityRemotePath, linuxRecordIdentityScript, windowsIdentityRemotePath, windowsRecordIdentityCommands } from './machine-identity.ts';
import { elevatedAsSystem, linuxPatchScript, windowsPatchScript } from './patch.ts';

export interface Provisioner {
  readonly type: string;
  readonly body: HclBody;
}

/** A file the render writes next to the template, for a provisioner to upload. */
export interface GeneratedScript {
  /** A plain file name inside the rendered folder. */
  readonly name: string;
  readonly content: string;
}

/**
 * Packer evaluates inline commands as Go templates, again and again until
 * they stop changing, so a command holding `{{` (`docker inspect --format
 * '{{.State.Running}}'`) can never run as written inline. Such a step's
 * commands go into a script file instead, which Packer uploads byte for
 * byte, with the shebang Packer gives inline commands.
 */
const needsScriptFile = (commands: readonly string[]): boolean => commands.some((command) => command.includes('{{'));
const inlineShebang = '#!/bin/sh -e\n';

const environmentVars = (env: Readonly<Record<string, string>>): HclEntry[] => {
  const pairs = Object.entries(env).map(([name, value]) => `${name}=${value}`);
  return pairs.length > 0 ? [attribute('environment_vars', pairs)] : [];
};

const pauseBefore = (pause: string | undefined): HclEntry[] => (pause === undefined ? [] : [attribute('pause_before', pause)]);
const expectDisconnect = (expected: boolean): HclEntry[] => (expected ? [attribute('expect_disconnect', true)] : []);

function provisionerFor(step: ProvisionStep, index: number, platform: ResolvedImage['platform'], scriptDir: string, scripts: GeneratedScript[]): Provisioner {
  const scriptFor = (extension: string, content: string): string => {
    const name = `provision-${index}.${extension}`;
    scripts.push({ name, content });
    return path.join(scriptDir, name);
  };
  switch (step.kind) {
    case 'shell':
      if (needsScriptFile(step.inline)) {
        const script = scriptFor('sh', `${inlineShebang}${step.inline.map((command) => `${command}\n`).join('')}`);
        return { type: 'shell', body: [attribute('script', script), ...environmentVars(step.env), ...expectDisconnect(step.expectDisconnect), ...pauseBefore(step.pauseBefore)] };
      }
      return { type: 'shell', body: [attribute('inline', step.inline), ...environmentVars(step.env), ...expectDisconnect(step.expectDisconnect), ...pauseBefore(step.pauseBefore)] };
    case 'script':
      return { type: 'shell', body: [attribute('script', step.path), ...environmentVars(step.env), ...expectDisconnect(step.expectDisconnect), ...pauseBefore(step.pauseBefore)] };
    case 'upload':
      return { type: 'file', body: [attribute('source', step.source), attribute('destination', step.destination), ...pauseBefore(step.pauseBefore)] };
    case 'powershell':
      if (needsScriptFile(step.inline)) {
        const script = scriptFor('ps1', step.inline.map((command) => `${command}\n`).join(''));
        return { type: 'powershell', body: [attribute('script', script), ...environmentVars(step.env), ...pauseBefore(step.pauseBefore)] };
      }
      return { type: 'powershell', body: [attribute('inline', step.inline), ...environmentVars(step.env), ...pauseBefore(step.pauseBefore)] };
    case 'restart':
      if (platform === 'windows') return { type: 'windows-restart', body: [...(step.timeout === undefined ? [] : [attribute('restart_timeout', step.timeout)]), ...pauseBefore(step.pauseBefore)] };
      // Linux has no restart provisioner: reboot from the shell and let Packer reconnect.
      return { type: 'shell', body: [attribute('inline', ['sudo systemctl reboot']), attribute('expect_disconnect', true), ...pauseBefore(step.pauseBefore)] };
  }
}

/** gild's own scripts, named so that they never meet a definition step's `provision-<n>.*`. */
export const gildScriptNames = { patch: 'gild-patch', recordIdentity: 'gild-record-identity', generalize: 'gild-generalize' } as const;

function gildScript(scripts: GeneratedScript[], scriptDir: string, name: string, content: string): string {
  scripts.push({ name, content });
  return path.join(scriptDir, name);
}

function patchProvisioners(image: ResolvedImage, scriptDir: string, scripts: GeneratedScript[]): Provisioner[] {
  if (!image.patch.enabled) return [];
  if (image.platform === 'linux') return [{ type: 'shell', body: [attribute('script', gildScript(scripts, scriptDir, `${gildScriptNames.patch}.sh`, linuxPatchScript()))] }];
  const script = gildScript(scripts, scriptDir, `${gildScriptNames.patch}.ps1`, windowsPatchScript());
  const round: Provisioner[] = [
    { type: 'powershell', body: [attribute('script', script), ...elevatedAsSystem] },
    { type: 'windows-restart', body: [attribute('restart_timeout', '30m')] },
  ];
  return [...round, ...round];
}

function generalizeProvisioners(image: ResolvedImage, scriptDir: string, scripts: GeneratedScript[]): Provisioner[] {
  const { generalize } = image;
  if (generalize.kind === 'off') return [];
  const download = (source: string): Provisioner => ({
    type: 'file',
    body: [attribute('direction', 'download'), attribute('source', source), attribute('destination', path.join(scriptDir, buildIdentityFileName))],
  });
  if (image.platform === 'windows') {
    return [
      { type: 'powershell', body: [attribute('inline', [...windowsRecordIdentityCommands])] },
      download(windowsIdentityRemotePath),
      // NOTE: last, and it stops the instance: the source sets disable_stop_instance, so Packer waits for the stop.
      { type: 'windows-shell', body: [attribute('inline', windowsGeneralizeCommands(generalize.launchAgent))] },
    ];
  }
  return [
    { type: 'shell', body: [attribute('script', gildScript(scripts, scriptDir, `${gildScriptNames.recordIdentity}.sh`, linuxRecordIdentityScript()))] },
    download(linuxIdentityRemotePath),
    { type: 'shell', body: [attribute('script', gildScript(scripts, scriptDir, `${gildScriptNames.generalize}.sh`, linuxGeneralizeScript(generalize)))] },
  ];
}

/** The provisioners, and the script files they need written into `scriptDir` (the rendered folder). */
export function buildProvisioners(image: ResolvedImage, scriptDir: string): { provisioners: Provisioner[]; scripts: GeneratedScript[] } {
  const scripts: GeneratedScript[] = [];
  const patch = patchProvisioners(image, scriptDir, scripts);
  const steps = image.provision.map((step, index) => provisionerFor(step, index, image.platform, scriptDir, scripts));
  const generalize = generalizeProvisioners(image, scriptDir, scripts);
  return { provisioners: [...patch, ...steps, ...generalize], scripts };
}
