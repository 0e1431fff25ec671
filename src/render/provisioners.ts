/**
 * The build block's provisioners, as data: one Packer provisioner per
 * definition step, in order.
 */
import type { ProvisionStep, ResolvedImage } from '../definition/resolved-image.ts';
import { attribute, type HclBody, type HclEntry } from './hcl.ts';

export interface Provisioner {
  readonly type: string;
  readonly body: HclBody;
}

const environmentVars = (env: Readonly<Record<string, string>>): HclEntry[] => {
  const pairs = Object.entries(env).map(([name, value]) => `${name}=${value}`);
  return pairs.length > 0 ? [attribute('environment_vars', pairs)] : [];
};

const pauseBefore = (pause: string | undefined): HclEntry[] => (pause === undefined ? [] : [attribute('pause_before', pause)]);
const expectDisconnect = (expected: boolean): HclEntry[] => (expected ? [attribute('expect_disconnect', true)] : []);

function provisionerFor(step: ProvisionStep, platform: ResolvedImage['platform']): Provisioner {
  switch (step.kind) {
    case 'shell':
      return { type: 'shell', body: [attribute('inline', step.inline), ...environmentVars(step.env), ...expectDisconnect(step.expectDisconnect), ...pauseBefore(step.pauseBefore)] };
    case 'script':
      return { type: 'shell', body: [attribute('script', step.path), ...environmentVars(step.env), ...expectDisconnect(step.expectDisconnect), ...pauseBefore(step.pauseBefore)] };
    case 'upload':
      return { type: 'file', body: [attribute('source', step.source), attribute('destination', step.destination), ...pauseBefore(step.pauseBefore)] };
    case 'powershell':
      return { type: 'powershell', body: [attribute('inline', step.inline), ...environmentVars(step.env), ...pauseBefore(step.pauseBefore)] };
    case 'restart':
      if (platform === 'windows') return { type: 'windows-restart', body: [...(step.timeout === undefined ? [] : [attribute('restart_timeout', step.timeout)]), ...pauseBefore(step.pauseBefore)] };
      // Linux has no restart provisioner: reboot from the shell and let Packer reconnect.
      return { type: 'shell', body: [attribute('inline', ['sudo systemctl reboot']), attribute('expect_disconnect', true), ...pauseBefore(step.pauseBefore)] };
  }
}

export function buildProvisioners(image: ResolvedImage): Provisioner[] {
  return image.provision.map((step) => provisionerFor(step, image.platform));
}
