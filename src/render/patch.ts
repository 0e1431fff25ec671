/**
 * `patch: true`: the OS's own update command, run before the definition's provisioning so that what the author
 * installs lands on a patched system. The AMI then carries `gild:patched-at` (src/stages/gild-tags.ts).
 *
 * Linux: the first package manager found, non-interactive (dnf, or yum on older systems; apt-get; zypper; pkg).
 * Amazon Linux 2023 locks its repositories to the AMI's release, so there dnf moves to the latest release.
 * Windows: the Windows Update Agent API that ships with Windows (Microsoft.Update.Session), run as SYSTEM through
 * Packer's elevated_user (the API refuses to download in a remote WinRM session), then a restart, twice: a
 * cumulative update often brings a servicing-stack update first.
 */
import { attribute, type HclEntry } from './hcl.ts';

export function linuxPatchScript(): string {
  return [
    '#!/bin/sh',
    '# Written by gild: patch: true. Updates every package with the OS package manager before the provisioning.',
    'set -eu',
    'if [ "$(id -u)" -ne 0 ]; then exec sudo -n sh "$0" "$@"; fi',
    'say() { printf \'gild patch: %s\\n\' "$*"; }',
    'if command -v dnf >/dev/null 2>&1; then',
    '  if [ -e /etc/amazon-linux-release ]; then say "dnf upgrade to the latest Amazon Linux release"; dnf -y upgrade --releasever=latest; else say "dnf upgrade"; dnf -y upgrade --refresh; fi',
    'elif command -v yum >/dev/null 2>&1; then',
    '  say "yum update"; yum -y update',
    'elif command -v apt-get >/dev/null 2>&1; then',
    '  say "apt-get dist-upgrade"',
    '  export DEBIAN_FRONTEND=noninteractive',
    // Mirrors and their DNS fail for a moment now and then: apt retries each download, as dnf does by default.
    '  apt-get -o Acquire::Retries=5 update',
    '  apt-get -y -o Acquire::Retries=5 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold dist-upgrade',
    'elif command -v zypper >/dev/null 2>&1; then',
    '  say "zypper update"',
    '  # 102: a reboot is needed, 103: zypper updated itself and must run again.',
    '  for round in 1 2; do status=0; zypper --non-interactive --gpg-auto-import-keys update || status=$?; case $status in 0|102) break ;; 103) continue ;; *) exit "$status" ;; esac; done',
    'elif command -v pkg >/dev/null 2>&1; then',
    '  say "pkg upgrade"; ASSUME_ALWAYS_YES=yes pkg upgrade',
    'else',
    '  echo "gild patch: no package manager found (dnf, yum, apt-get, zypper, pkg). Set patch: false, or install updates in provision." >&2; exit 1',
    'fi',
    '',
  ].join('\n');
}

/** Exit code 0 when nothing is left to install; result codes 4 (failed) and 5 (aborted) fail the build. */
export function windowsPatchScript(): string {
  return [
    '# Written by gild: patch: true. Installs every available software update through the Windows Update Agent API.',
    "$ErrorActionPreference = 'Stop'",
    '$session = New-Object -ComObject Microsoft.Update.Session',
    '$found = $session.CreateUpdateSearcher().Search("IsInstalled=0 and IsHidden=0 and Type=\'Software\'")',
    "if ($found.Updates.Count -eq 0) { Write-Output 'gild patch: no updates to install'; exit 0 }",
    '$updates = New-Object -ComObject Microsoft.Update.UpdateColl',
    'foreach ($update in $found.Updates) {',
    '  if (-not $update.EulaAccepted) { $update.AcceptEula() }',
    '  [void]$updates.Add($update)',
    '  Write-Output "gild patch: $($update.Title)"',
    '}',
    '$downloader = $session.CreateUpdateDownloader()',
    '$downloader.Updates = $updates',
    '[void]$downloader.Download()',
    '$installer = $session.CreateUpdateInstaller()',
    '$installer.Updates = $updates',
    '$installation = $installer.Install()',
    'Write-Output "gild patch: result code $($installation.ResultCode), restart required: $($installation.RebootRequired)"',
    'if ($installation.ResultCode -ge 4) { exit 1 }',
    '',
  ].join('\r\n');
}

/** Run as SYSTEM through a scheduled task: Packer's documented way to reach APIs a WinRM session may not use. */
export const elevatedAsSystem: HclEntry[] = [attribute('elevated_user', 'SYSTEM'), attribute('elevated_password', '')];
