import { defineImage } from 'gild';

/**
 * The organisation's hardened Amazon Linux 2023 base. App images build on it
 * (`base: { image: 'al2023-base' }`), so its patch level flows into them.
 */
export default defineImage({
  name: 'al2023-base',
  description: 'Hardened Amazon Linux 2023 base: all packages updated at build, CIS-style sysctl, SSM agent, no password logins',
  version: '1.0.0',
  base: { preset: 'amazon-linux-2023' },
  instanceType: 't3.small',
  regions: { build: 'us-east-1', copies: ['us-west-2'] },
  provision: [
    // gild's patch step (patch: true, the preset's default) has upgraded every package before this runs.
    { shell: ['sudo dnf -y install amazon-ssm-agent audit'] },
    { script: 'scripts/harden-linux.sh', env: { HARDENING_PROFILE: 'cis-level-1' } },
  ],
  blockDevices: {
    launch: [{ deviceName: '/dev/xvda', sizeGiB: 16, type: 'gp3', deleteOnTermination: true }],
    ami: [{ deviceName: '/dev/xvda', sizeGiB: 16, type: 'gp3', deleteOnTermination: true }],
  },
  launchPermissions: { accounts: ['210987654321'] },
  smoke: {
    checks: [
      { name: 'ssm agent is running', run: 'systemctl is-active amazon-ssm-agent', needs: 'vm' },
      { name: 'password logins are off', run: 'sudo sshd -T | grep -qi "^passwordauthentication no"' },
      { name: 'hardening sysctl is applied', run: 'test "$(sysctl -n kernel.randomize_va_space)" = 2' },
      // Exit codes carry the verdict; stderr must stay clean of dnf errors.
      { name: 'no pending security updates', run: 'test -z "$(dnf -q updateinfo list --security --available)"', stderrNotMatches: ['Error'] },
    ],
  },
  tags: { owner: 'platform-team', app: 'base', environment: 'all', 'cost-center': 'platform' },
});
