/**
 * OS presets: a short name for the base image of each OS that EC2 supports.
 * Where AWS publishes a public SSM parameter, the preset uses it (AWS keeps it
 * pointing at the newest patched AMI); otherwise the vendor's owner account
 * and a name pattern, newest first.
 */
import type { BaseSource } from './resolved-image.ts';

export interface OsPreset {
  readonly description: string;
  readonly platform: 'linux' | 'windows';
  /** The base for each architecture the OS ships for. */
  readonly base: Partial<Record<'x86_64' | 'arm64', BaseSource>>;
  /** The login user Packer's SSH communicator uses. */
  readonly sshUsername: string;
  /** The command that lists installed packages, for the smoke manifest. */
  readonly packageManifestCommand: string;
}

const ssm = (parameter: string): BaseSource => ({ kind: 'ssm', parameter });
const filter = (owner: string, name: string): BaseSource => ({ kind: 'filter', owners: [owner], name, includeDeprecated: false });

const rpm = "rpm -qa --qf '%{NAME} %{VERSION}-%{RELEASE}.%{ARCH}\\n' | sort";
const dpkg = "dpkg-query -W -f='${Package} ${Version}\\n' | sort";
const windowsPackages = 'Get-Package | Sort-Object Name | ForEach-Object { "$($_.Name) $($_.Version)" }';

export const osPresets = {
  'amazon-linux-2023': {
    description: 'Amazon Linux 2023',
    platform: 'linux',
    base: {
      x86_64: ssm('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64'),
      arm64: ssm('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64'),
    },
    sshUsername: 'ec2-user',
    packageManifestCommand: rpm,
  },
  'amazon-linux-2': {
    description: 'Amazon Linux 2',
    platform: 'linux',
    base: {
      x86_64: ssm('/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2'),
      arm64: ssm('/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-arm64-gp2'),
    },
    sshUsername: 'ec2-user',
    packageManifestCommand: rpm,
  },
  'ubuntu-24.04': {
    description: 'Ubuntu 24.04 LTS (Noble)',
    platform: 'linux',
    base: {
      x86_64: ssm('/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id'),
      arm64: ssm('/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id'),
    },
    sshUsername: 'ubuntu',
    packageManifestCommand: dpkg,
  },
} satisfies Record<string, OsPreset>;

export type OsPresetName = keyof typeof osPresets;

export function findPreset(name: string): OsPreset | undefined {
  return (osPresets as Record<string, OsPreset>)[name];
}
