/**
 * A copy of an AMI into another region of the same account (CopyImage), made by gild rather than by Packer's
 * `ami_regions`, so that it runs beside the smoke test instead of before it. Idempotent: the client token is a
 * function of the source and the region, so a retried or repeated CopyImage answers the copy the first one started;
 * a lost answer is recognised by reading the copy back by its name (AMI names are unique per account and region).
 */
import { createHash } from 'node:crypto';
import { CopyImageCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { awsError } from './aws-call.ts';
import { describeImages, type ImageSummary } from './ec2.ts';

export interface RegionCopyRequest {
  /** The client in the region the copy is made in. */
  readonly ec2: EC2Client;
  readonly region: string;
  readonly sourceRegion: string;
  readonly sourceAmiId: string;
  readonly name: string;
  readonly description: string | undefined;
  /** Encrypts the copy with this key (the region's); the source's own encryption otherwise. */
  readonly kmsKeyId: string | undefined;
  /** On the copy and its snapshots from the moment they exist: a copy a run never finished is still gild's. */
  readonly tags: Readonly<Record<string, string>>;
}

/** Deterministic, so that AWS answers a repeated CopyImage with the copy the first attempt started. */
export function regionCopyClientToken(sourceAmiId: string, region: string): string {
  return createHash('sha256').update(`gild region copy ${sourceAmiId} ${region}`).digest('hex').slice(0, 64);
}

/** The account's copy of that name in the region, unless it failed (a failed copy is not one to finish). */
export async function findRegionCopy(ec2: EC2Client, name: string): Promise<ImageSummary | undefined> {
  const found = await describeImages(ec2, { owners: ['self'], filters: [{ Name: 'name', Values: [name] }], includeDeprecated: true });
  return found.filter((image) => image.state !== 'failed').sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0];
}

/** Starts the copy (or finds the one already started) and returns its AMI ID; it is `pending` until AWS finishes it. */
export async function startRegionCopy(request: RegionCopyRequest): Promise<{ amiId: string; outcome: 'started' | 'found' }> {
  const existing = await findRegionCopy(request.ec2, request.name);
  if (existing) return { amiId: existing.amiId, outcome: 'found' };
  const tagList = Object.entries(request.tags).map(([Key, Value]) => ({ Key, Value }));
  try {
    const answer = await request.ec2.send(
      new CopyImageCommand({
        SourceRegion: request.sourceRegion,
        SourceImageId: request.sourceAmiId,
        Name: request.name,
        ...(request.description ? { Description: request.description } : {}),
        ClientToken: regionCopyClientToken(request.sourceAmiId, request.region),
        TagSpecifications: [
          { ResourceType: 'image', Tags: tagList },
          { ResourceType: 'snapshot', Tags: tagList },
        ],
        ...(request.kmsKeyId ? { Encrypted: true, KmsKeyId: request.kmsKeyId } : {}),
      }),
    );
    if (!answer.ImageId) throw new Error('the answer named no AMI');
    return { amiId: answer.ImageId, outcome: 'started' };
  } catch (error) {
    // A lost answer: the copy may exist although the call failed (the SDK's retries carried the same token).
    const found = await findRegionCopy(request.ec2, request.name).catch(() => undefined);
    if (found) return { amiId: found.amiId, outcome: 'found' };
    throw awsError('copy', `${request.sourceAmiId} (${request.sourceRegion}) to ${request.region}`, error);
  }
}
