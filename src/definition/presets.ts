/**
 * OS presets: a short name for the base image of each OS that EC2 supports.
 * Where AWS (or the vendor, through AWS) publishes a public SSM parameter, the
 * preset uses it: it always points at the newest patched AMI and resolves the
 * same way in every region. Otherwise the preset names the vendor's owner
 * account and an AMI name pattern, and the newest non-deprecated match wins.
 *
 * NOTE: owner accounts are the vendors' own publishing accounts, not
 * aws-marketplace, so no subscription is needed. Name patterns pin the major
 * version and architecture and exclude variants (BYOS, container hosts, HA).
 */
import type { BaseSource } from './resolved-image.ts';

export type Architecture = 'x86_64' | 'arm64';
export type Platform = 'linux' | 'windows';

export interface OsPreset {
  readonly description: string;
  readonly platform: Platform;
  /** The base for each architecture the OS ships for on EC2. */
  readonly base: Partial<Record<Architecture, BaseSource>>;
  /** The login user Packer's SSH communicator uses (Windows: the WinRM user). */
  readonly sshUsername: string;
  /** The command that lists installed packages, one `name version` a line, for the smoke manifest. */
  readonly packageManifestCommand: string;
  /** What `patch: true` runs (see src/render/patch.ts); a preset with one patches by default. */
  readonly packageManager: PackageManager;
  /**
   * Linux: what makes new SSH host keys at first boot once the generalize step has removed the build's.
   * Windows: the launch agent the AMI carries, whose Sysprep the generalize step runs last.
   */
  readonly firstBoot: { readonly hostKeysRegeneratedBy: string } | { readonly launchAgent: LaunchAgent };
}

export type PackageManager = 'dnf' | 'yum' | 'apt' | 'zypper' | 'pkg' | 'windows-update';
/** EC2Launch v2 ships on AWS's Windows Server 2022 and later AMIs, EC2Launch v1 on 2016 and 2019. */
export type LaunchAgent = 'ec2launch-v2' | 'ec2launch-v1';

const cloudInitAnd = (unit: string) => ({ hostKeysRegeneratedBy: `cloud-init's ssh module (ssh_genkeytypes), and ${unit} if cloud-init is removed` });

const ssm = (parameter: string): BaseSource => ({ kind: 'ssm', parameter });
const filter = (owner: string, name: string): BaseSource => ({ kind: 'filter', owners: [owner], name, includeDeprecated: false });

export const rpmManifest = "rpm -qa --qf '%{NAME} %{VERSION}-%{RELEASE}.%{ARCH}\\n' | sort";
export const dpkgManifest = "dpkg-query -W -f='${Package} ${Version}\\n' | sort";
/** Installed packages and, since `patch: true` installs them through Windows Update, every installed update (KB). */
export const windowsManifest = '@(Get-Package | ForEach-Object { "$($_.Name) $($_.Version)" }) + @(Get-HotFix | ForEach-Object { "$($_.HotFixID) installed" }) | Sort-Object';
export const freebsdManifest = "pkg query '%n %v' | sort";

/** Vendor publishing accounts (owner IDs) used by filter presets. */
export const vendorAccounts = {
  canonical: '099720109477',
  debian: '136693071363',
  redHat: '309956199498',
  suse: '013907871322',
  fedora: '125523088429',
  oracle: '131827586825',
  freebsd: '782442783595',
} as const;

const canonical = (release: string, volume: 'ebs-gp2' | 'ebs-gp3', arch: 'amd64' | 'arm64') => ssm(`/aws/service/canonical/ubuntu/server/${release}/stable/current/${arch}/hvm/${volume}/ami-id`);
const windows = (name: string) => ssm(`/aws/service/ami-windows-latest/${name}`);

export const osPresets = {
  'amazon-linux-2023': {
    description: 'Amazon Linux 2023',
    platform: 'linux',
    base: {
      x86_64: ssm('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64'),
      arm64: ssm('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64'),
    },
    sshUsername: 'ec2-user',
    packageManifestCommand: rpmManifest,
    packageManager: 'dnf',
    firstBoot: cloudInitAnd('sshd-keygen@.service'),
  },
  'amazon-linux-2': {
    description: 'Amazon Linux 2',
    platform: 'linux',
    base: {
      x86_64: ssm('/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2'),
      arm64: ssm('/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-arm64-gp2'),
    },
    sshUsername: 'ec2-user',
    packageManifestCommand: rpmManifest,
    packageManager: 'yum',
    firstBoot: cloudInitAnd('sshd-keygen.service'),
  },
  'ubuntu-22.04': {
    description: 'Ubuntu 22.04 LTS (Jammy)',
    platform: 'linux',
    // Canonical publishes 22.04 on gp2 volumes and 24.04 onwards on gp3.
    base: { x86_64: canonical('22.04', 'ebs-gp2', 'amd64'), arm64: canonical('22.04', 'ebs-gp2', 'arm64') },
    sshUsername: 'ubuntu',
    packageManifestCommand: dpkgManifest,
    packageManager: 'apt',
    firstBoot: { hostKeysRegeneratedBy: "cloud-init's ssh module (ssh_genkeytypes)" },
  },
  'ubuntu-24.04': {
    description: 'Ubuntu 24.04 LTS (Noble)',
    platform: 'linux',
    base: { x86_64: canonical('24.04', 'ebs-gp3', 'amd64'), arm64: canonical('24.04', 'ebs-gp3', 'arm64') },
    sshUsername: 'ubuntu',
    packageManifestCommand: dpkgManifest,
    packageManager: 'apt',
    firstBoot: { hostKeysRegeneratedBy: "cloud-init's ssh module (ssh_genkeytypes)" },
  },
  'debian-12': {
    description: 'Debian 12 (Bookworm)',
    platform: 'linux',
    base: { x86_64: ssm('/aws/service/debian/release/12/latest/amd64'), arm64: ssm('/aws/service/debian/release/12/latest/arm64') },
    sshUsername: 'admin',
    packageManifestCommand: dpkgManifest,
    packageManager: 'apt',
    firstBoot: { hostKeysRegeneratedBy: "cloud-init's ssh module (ssh_genkeytypes); Debian's ssh.service does not make keys" },
  },
  'rhel-9': {
    description: 'Red Hat Enterprise Linux 9 (pay-as-you-go, gp3)',
    platform: 'linux',
    base: {
      x86_64: filter(vendorAccounts.redHat, 'RHEL-9.*_HVM-*-x86_64-*-Hourly2-GP3'),
      arm64: filter(vendorAccounts.redHat, 'RHEL-9.*_HVM-*-arm64-*-Hourly2-GP3'),
    },
    sshUsername: 'ec2-user',
    packageManifestCommand: rpmManifest,
    packageManager: 'dnf',
    firstBoot: cloudInitAnd('sshd-keygen@.service'),
  },
  'sles-15': {
    description: 'SUSE Linux Enterprise Server 15 (newest service pack, pay-as-you-go)',
    platform: 'linux',
    base: {
      x86_64: filter(vendorAccounts.suse, 'suse-sles-15-sp*-v*-hvm-ssd-x86_64'),
      arm64: filter(vendorAccounts.suse, 'suse-sles-15-sp*-v*-hvm-ssd-arm64'),
    },
    sshUsername: 'ec2-user',
    packageManifestCommand: rpmManifest,
    packageManager: 'zypper',
    firstBoot: cloudInitAnd("sshd.service's sshd-gen-keys-start"),
  },
  'windows-server-2019': {
    description: 'Windows Server 2019 Datacenter, English, full desktop',
    platform: 'windows',
    base: { x86_64: windows('Windows_Server-2019-English-Full-Base') },
    sshUsername: 'Administrator',
    packageManifestCommand: windowsManifest,
    packageManager: 'windows-update',
    firstBoot: { launchAgent: 'ec2launch-v1' },
  },
  'windows-server-2022': {
    description: 'Windows Server 2022 Datacenter, English, full desktop',
    platform: 'windows',
    base: { x86_64: windows('Windows_Server-2022-English-Full-Base') },
    sshUsername: 'Administrator',
    packageManifestCommand: windowsManifest,
    packageManager: 'windows-update',
    firstBoot: { launchAgent: 'ec2launch-v2' },
  },
  'windows-server-2025': {
    description: 'Windows Server 2025 Datacenter, English, full desktop',
    platform: 'windows',
    base: { x86_64: windows('Windows_Server-2025-English-Full-Base') },
    sshUsername: 'Administrator',
    packageManifestCommand: windowsManifest,
    packageManager: 'windows-update',
    firstBoot: { launchAgent: 'ec2launch-v2' },
  },
  fedora: {
    description: 'Fedora Cloud Base (newest release)',
    platform: 'linux',
    base: {
      x86_64: filter(vendorAccounts.fedora, 'Fedora-Cloud-Base-*.x86_64-hvm-*-gp3-*'),
      arm64: filter(vendorAccounts.fedora, 'Fedora-Cloud-Base-*.aarch64-hvm-*-gp3-*'),
    },
    sshUsername: 'fedora',
    packageManifestCommand: rpmManifest,
    packageManager: 'dnf',
    firstBoot: cloudInitAnd('sshd-keygen@.service'),
  },
  'oracle-linux-9': {
    description: 'Oracle Linux 9',
    platform: 'linux',
    base: {
      x86_64: filter(vendorAccounts.oracle, 'OL9.*-x86_64-HVM-*'),
      arm64: filter(vendorAccounts.oracle, 'OL9.*-aarch64-HVM-*'),
    },
    sshUsername: 'ec2-user',
    packageManifestCommand: rpmManifest,
    packageManager: 'dnf',
    firstBoot: cloudInitAnd('sshd-keygen@.service'),
  },
  'freebsd-14': {
    description: 'FreeBSD 14 (newest RELEASE, UFS)',
    platform: 'linux',
    base: {
      x86_64: filter(vendorAccounts.freebsd, 'FreeBSD 14.*-RELEASE-amd64*UFS*'),
      arm64: filter(vendorAccounts.freebsd, 'FreeBSD 14.*-RELEASE-arm64*UFS*'),
    },
    sshUsername: 'ec2-user',
    packageManifestCommand: freebsdManifest,
    packageManager: 'pkg',
    firstBoot: { hostKeysRegeneratedBy: 'the rc.d sshd script, which makes missing host keys when sshd starts' },
  },
} satisfies Record<string, OsPreset>;

export type OsPresetName = keyof typeof osPresets;

export const osPresetNames = Object.keys(osPresets) as OsPresetName[];

export function findPreset(name: string): OsPreset | undefined {
  return Object.hasOwn(osPresets, name) ? (osPresets as Record<string, OsPreset>)[name] : undefined;
}

/** The manifest command when no preset says otherwise. */
export function defaultPackageManifestCommand(platform: Platform): string {
  return platform === 'windows' ? windowsManifest : rpmManifest;
}
