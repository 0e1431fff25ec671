/**
 * What makes a machine this machine, printed the same way on the build instance (before the generalize step, into a
 * file Packer downloads into the build folder) and on each smoke instance (through Run Command), so that the smoke
 * test can prove an instance launched from the AMI is a new machine: new SSH host keys, no key from the build in any
 * authorized_keys, a new machine-id; on Windows, a new computer name.
 *
 * One line per fact, `<kind> <value>[ <where>]`:
 *   machine-id <the id, or nothing when the file is empty or absent>
 *   host-key <fingerprint>
 *   authorized-key <fingerprint> <file>
 *   computer-name <name>
 */

/** The file the build writes on the instance and Packer downloads into the rendered folder under this name. */
export const buildIdentityFileName = 'build-identity.txt';
export const linuxIdentityRemotePath = '/tmp/gild-build-identity.txt';
export const windowsIdentityRemotePath = 'C:/Windows/Temp/gild-build-identity.txt';

/**
 * Shell lines that print the Linux identity. Run as root (Run Command runs as root; the build script re-runs itself
 * with sudo), so /root/.ssh is readable. GILD_GENERALIZE_ROOT prefixes every path, for tests on a throwaway tree.
 * NOTE: without ssh-keygen (a minimal container) a host key is named by the SHA-256 of its file instead, which is
 * still different for a different key.
 */
const rootLine = 'root="${GILD_GENERALIZE_ROOT:-}"';
export const linuxIdentityCommands: readonly string[] = [
  rootLine,
  'fingerprint() { if command -v ssh-keygen >/dev/null 2>&1; then ssh-keygen -lf "$1" 2>/dev/null | awk \'{ print $2 }\'; else printf \'file-sha256:%s\\n\' "$(sha256sum "$1" | cut -d " " -f 1)"; fi; }',
  'printf \'machine-id %s\\n\' "$(cat "$root/etc/machine-id" 2>/dev/null || true)"',
  'for key in "$root"/etc/ssh/ssh_host_*_key.pub; do if [ -f "$key" ]; then printf \'host-key %s\\n\' "$(fingerprint "$key")"; fi; done',
  'for file in "$root"/root/.ssh/authorized_keys "$root"/home/*/.ssh/authorized_keys; do if [ -s "$file" ]; then if command -v ssh-keygen >/dev/null 2>&1; then ssh-keygen -lf "$file" 2>/dev/null | awk -v file="$file" \'{ print "authorized-key " $2 " " file }\'; else printf \'authorized-key file-sha256:%s %s\\n\' "$(sha256sum "$file" | cut -d " " -f 1)" "$file"; fi; fi; done',
  'exit 0',
];

/** The build's copy: a script that runs as root and writes the identity where the download picks it up. */
export function linuxRecordIdentityScript(): string {
  return [
    '#!/bin/sh',
    '# Written by gild: records what identifies the build instance, before the generalize step, for the smoke test.',
    'if [ "$(id -u)" -ne 0 ]; then exec sudo -n sh "$0" "$@"; fi',
    'umask 077',
    rootLine,
    `{`,
    ...linuxIdentityCommands.filter((line) => line !== 'exit 0' && line !== rootLine).map((line) => `  ${line}`),
    `} > "$root"${linuxIdentityRemotePath}`,
    `chmod 0644 "$root"${linuxIdentityRemotePath}`,
    '',
  ].join('\n');
}

export const windowsIdentityCommands: readonly string[] = ['Write-Output "computer-name $env:COMPUTERNAME"'];

export const windowsRecordIdentityCommands: readonly string[] = [`Write-Output "computer-name $env:COMPUTERNAME" | Out-File -Encoding ascii -FilePath '${windowsIdentityRemotePath}'`];

export interface MachineIdentity {
  /** Undefined when nothing was printed for it (no such file); '' when the file is empty. */
  readonly machineId: string | undefined;
  readonly hostKeys: readonly string[];
  readonly authorizedKeys: readonly { readonly fingerprint: string; readonly file: string }[];
  readonly computerName: string | undefined;
}

/** Reads the lines printed by the commands above; unknown lines are ignored, so an older record still reads. */
export function parseMachineIdentity(text: string): MachineIdentity {
  let machineId: string | undefined;
  let computerName: string | undefined;
  const hostKeys: string[] = [];
  const authorizedKeys: { fingerprint: string; file: string }[] = [];
  for (const line of text.split(/\r?\n/)) {
    const [kind, ...rest] = line.trim().split(/\s+/);
    const value = rest.join(' ');
    if (kind === 'machine-id') machineId = value;
    else if (kind === 'computer-name') computerName = value;
    else if (kind === 'host-key' && value) hostKeys.push(value);
    else if (kind === 'authorized-key' && rest[0]) authorizedKeys.push({ fingerprint: rest[0], file: rest.slice(1).join(' ') });
  }
  return { machineId, hostKeys, authorizedKeys, computerName };
}
