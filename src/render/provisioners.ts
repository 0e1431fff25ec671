/**
 * The build block's provisioners, as data: one Packer provisioner per
 * definition step, in order.
 */
import path from 'node:path';
import type { ProvisionStep, ResolvedImage } from '../definition/resolved-image.ts';
import { attribute, type HclBody, type HclEntry } from './hcl.ts';

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

/** The provisioners, and the script files they need written into `scriptDir` (the rendered folder). */
export function buildProvisioners(image: ResolvedImage, scriptDir: string): { provisioners: Provisioner[]; scripts: GeneratedScript[] } {
  const scripts: GeneratedScript[] = [];
  const provisioners = image.provision.map((step, index) => provisionerFor(step, index, image.platform, scriptDir, scripts));
  return { provisioners, scripts };
}
