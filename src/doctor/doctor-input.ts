/** What every check of `gild doctor` reads with: the project, the clients, and what the target can answer. */
import type { EC2Client } from '../adapters/ec2.ts';
import type { IAMClient } from '../adapters/iam.ts';
import type { KMSClient } from '../adapters/kms.ts';
import type { RbinClient } from '../adapters/rbin.ts';
import type { SSMClient } from '../adapters/ssm.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { PipelineSettings } from '../settings/schema.ts';
import type { AccountCheckCapabilities } from '../target/account-checks.ts';

export interface DoctorInput {
  readonly settings: PipelineSettings;
  readonly images: readonly ResolvedImage[];
  /** Every region an image is built in or copied to, sorted. */
  readonly regions: readonly string[];
  /** Where account-wide reads go (DescribeRegions, STS): the default region, else the first image's build region. */
  readonly homeRegion: string;
  readonly runId: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly capabilities: AccountCheckCapabilities;
  readonly ec2: (region: string) => EC2Client;
  readonly ssm: (region: string) => SSMClient;
  readonly kms: (region: string) => KMSClient;
  readonly rbin: (region: string) => RbinClient;
  readonly iam: IAMClient;
}
