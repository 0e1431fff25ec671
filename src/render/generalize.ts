/**
 * gild's generalize step: what runs last on the build instance so that every instance launched from the AMI boots
 * as a new machine. docs/definitions.md lists the same steps in the same order ("Patching and generalization").
 *
 * Linux, in this order, each item skipped (and said) when the definition keeps it:
 *   package-caches  the package manager's clean command, and its cache folders
 *   cloud-init      `cloud-init clean --logs` where cloud-init is installed, so it runs again at first boot
 *   ssh-host-keys   /etc/ssh/ssh_host_*_key{,.pub}, only where something regenerates them at boot (else it fails)
 *   machine-id      /etc/machine-id emptied (truncated, not deleted: systemd makes a new one at boot), a separate
 *                   /var/lib/dbus/machine-id, systemd's random seed and DHCP client leases removed
 *   logs            the journal vacuumed (removed when journald is not running), rsyslog's journal cursor,
 *                   rotated logs deleted, every other file under /var/log emptied
 *   shell-history   shell, Python, less and vim history of root and every /home user
 *   temp-files      everything under /tmp and /var/tmp
 *   authorized-keys Packer's `ssh_clear_authorized_keys`, which removes its temporary key after this script
 *
 * Windows: EC2Launch's Sysprep with shutdown (v2 on Server 2022 and later, v1 on 2016/2019), as the documented final
 * step; Packer does not stop the instance itself (`disable_stop_instance`) and waits until Sysprep has stopped it.
 *
 * The script is POSIX sh, needs no systemd, cloud-init or host keys to exist (a container has none of them), and
 * re-runs itself with sudo when Packer's user is not root. GILD_GENERALIZE_ROOT prefixes every path it touches,
 * for tests on a throwaway tree; commands it runs (cloud-init, journalctl, package managers) act on the running system.
 */
import type { LaunchAgent } from '../definition/presets.ts';
import type { Generalize } from '../definition/resolved-image.ts';
import { linuxGeneralizeItems, type LinuxGeneralizeItem } from '../definition/schema.ts';
import { shellWord } from './escape.ts';

type LinuxScriptItem = Exclude<LinuxGeneralizeItem, 'authorized-keys'>;

/** What each item runs, as shell lines; `$root` is the path prefix. */
const itemLines: Record<LinuxScriptItem, { readonly title: string; readonly lines: readonly string[] }> = {
  'package-caches': {
    title: 'package caches',
    lines: [
      'if command -v dnf >/dev/null 2>&1; then dnf -q clean all; elif command -v yum >/dev/null 2>&1; then yum -q clean all; fi',
      'if command -v apt-get >/dev/null 2>&1; then apt-get clean; fi',
      'if command -v zypper >/dev/null 2>&1; then zypper --non-interactive --quiet clean --all; fi',
      'if command -v pkg >/dev/null 2>&1 && [ "$(uname -s)" = FreeBSD ]; then pkg clean -a -y; fi',
      'rm -rf "$root"/var/cache/dnf/* "$root"/var/cache/yum/* "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/cache/zypp/packages/*',
    ],
  },
  'cloud-init': {
    title: 'cloud-init state and logs',
    lines: ['if command -v cloud-init >/dev/null 2>&1; then cloud-init clean --logs; else say "no cloud-init here: nothing to clean"; fi'],
  },
  'ssh-host-keys': {
    title: 'SSH host keys',
    lines: [
      'set -- "$root"/etc/ssh/ssh_host_*_key "$root"/etc/ssh/ssh_host_*_key.pub',
      'if [ -e "$1" ] || [ -e "$2" ]; then',
      '  # NOTE: without a host key sshd does not start: remove them only where something makes new ones at boot.',
      '  if command -v cloud-init >/dev/null 2>&1 || [ -e "$root"/usr/lib/systemd/system/sshd-keygen@.service ] || [ -e "$root"/usr/lib/systemd/system/sshd-keygen.service ] || [ -e "$root"/usr/sbin/sshd-gen-keys-start ] || [ -e "$root"/etc/rc.d/sshd ]; then',
      '    rm -f "$root"/etc/ssh/ssh_host_*_key "$root"/etc/ssh/ssh_host_*_key.pub "$root"/etc/ssh/ssh_host_*_key-cert.pub',
      '  else',
      '    fail "nothing on this OS makes new SSH host keys at boot (no cloud-init, sshd-keygen or sshd-gen-keys-start), so removing them would leave sshd without keys. Install cloud-init, or keep them: generalize: { keep: [\'ssh-host-keys\'], reason }"',
      '  fi',
      'else say "no SSH host keys here"; fi',
    ],
  },
  'machine-id': {
    title: 'machine-id, random seed and DHCP leases',
    lines: [
      'if [ -f "$root"/etc/machine-id ]; then : > "$root"/etc/machine-id; else say "no /etc/machine-id here"; fi',
      'if [ -f "$root"/var/lib/dbus/machine-id ] && [ ! -L "$root"/var/lib/dbus/machine-id ]; then rm -f "$root"/var/lib/dbus/machine-id; fi',
      'rm -f "$root"/var/lib/systemd/random-seed "$root"/var/lib/dhclient/*.lease "$root"/var/lib/dhclient/*.leases "$root"/var/lib/dhcp/*.leases',
    ],
  },
  logs: {
    title: 'build logs',
    lines: [
      '# NOTE: journald owns its files while it runs: ask it to drop them; with no journald running they are plain files.',
      'if [ -z "$root" ] && [ -d /run/systemd/system ] && command -v journalctl >/dev/null 2>&1; then journalctl --rotate >/dev/null 2>&1 || true; journalctl --vacuum-time=1s >/dev/null; else rm -rf "$root"/var/log/journal/*; fi',
      'rm -f "$root"/var/lib/rsyslog/imjournal.state',
      'if [ -d "$root"/var/log ]; then',
      "  find \"$root\"/var/log -type f \\( -name '*.gz' -o -name '*.xz' -o -name '*.old' -o -name '*.[0-9]' -o -name '*-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' \\) -exec rm -f {} +",
      '  find "$root"/var/log -path "$root"/var/log/journal -prune -o -type f -exec truncate -s 0 {} +',
      'fi',
    ],
  },
  'shell-history': {
    title: 'shell history',
    lines: [
      'for home in "$root"/root "$root"/home/*; do',
      '  if [ -d "$home" ]; then rm -f "$home"/.bash_history "$home"/.zsh_history "$home"/.sh_history "$home"/.ash_history "$home"/.history "$home"/.python_history "$home"/.lesshst "$home"/.viminfo; fi',
      'done',
      'unset HISTFILE',
    ],
  },
  'temp-files': {
    title: 'temporary files',
    // NOTE: this script itself lives in /tmp; sh keeps reading it from the open file after it is unlinked.
    lines: ['for dir in "$root"/tmp "$root"/var/tmp; do if [ -d "$dir" ]; then find "$dir" -mindepth 1 -maxdepth 1 -exec rm -rf {} +; fi; done'],
  },
};

const scriptItems = linuxGeneralizeItems.filter((item): item is LinuxScriptItem => item !== 'authorized-keys');

/** The Linux generalize script for what the definition does not keep. */
export function linuxGeneralizeScript(generalize: Extract<Generalize, { kind: 'on' }>): string {
  const kept = new Set(generalize.keep);
  const reason = generalize.reason ?? '';
  const lines = [
    '#!/bin/sh',
    '# Written by gild: the generalize step, always the last provisioner. See docs/definitions.md, "Patching and generalization".',
    'set -eu',
    'if [ "$(id -u)" -ne 0 ]; then exec sudo -n sh "$0" "$@"; fi',
    'root="${GILD_GENERALIZE_ROOT:-}"',
    'say() { printf \'gild generalize: %s\\n\' "$*"; }',
    'fail() { printf \'gild generalize: %s\\n\' "$*" >&2; exit 1; }',
  ];
  for (const item of scriptItems) {
    lines.push('');
    if (kept.has(item)) {
      lines.push(`say ${shellWord(`keeping ${item} (${itemLines[item].title}), as the definition asks: ${reason}`)}`);
      continue;
    }
    lines.push(`say ${shellWord(`clearing ${item} (${itemLines[item].title})`)}`, ...itemLines[item].lines);
  }
  lines.push('', 'sync');
  lines.push(
    '',
    `say ${shellWord(kept.has('authorized-keys') ? `keeping authorized-keys, as the definition asks: ${reason}` : 'done; Packer removes its temporary key from authorized_keys next (ssh_clear_authorized_keys)')}`,
    '',
  );
  return lines.join('\n');
}

const ec2LaunchV2Sysprep = '"%ProgramFiles%\\Amazon\\EC2Launch\\ec2launch.exe" sysprep --shutdown=true';
const ec2LaunchV1Scripts = 'C:\\ProgramData\\Amazon\\EC2-Windows\\Launch\\Scripts';
const ec2LaunchV1Sysprep = [
  `powershell -NoProfile -ExecutionPolicy Bypass -File "${ec2LaunchV1Scripts}\\InitializeInstance.ps1" -Schedule`,
  `powershell -NoProfile -ExecutionPolicy Bypass -File "${ec2LaunchV1Scripts}\\SysprepInstance.ps1"`,
];

/**
 * The Windows generalize step's commands for a `windows-shell` provisioner (cmd), as AWS documents them: v2's
 * `ec2launch.exe sysprep --shutdown=true`; v1's InitializeInstance.ps1 -Schedule, then SysprepInstance.ps1, which
 * shuts the instance down. Without a preset, the agent installed on the instance decides.
 */
export function windowsGeneralizeCommands(launchAgent: LaunchAgent | undefined): string[] {
  if (launchAgent === 'ec2launch-v2') return [ec2LaunchV2Sysprep];
  if (launchAgent === 'ec2launch-v1') return [...ec2LaunchV1Sysprep];
  return [`if exist "%ProgramFiles%\\Amazon\\EC2Launch\\ec2launch.exe" (${ec2LaunchV2Sysprep}) else (${ec2LaunchV1Sysprep.join(' && ')})`];
}
