/**
 * Copies of an AMI into another account: shared, copied there (or, on an emulator that cannot copy across accounts,
 * a stand-in registered), waited for and tagged, safely under a lost answer or a crash at any point.
 */
import { createHash } from 'node:crypto';
import type { DescribeImagesCommandOutput, EC2Client } from '@aws-sdk/client-ec2';
import { CopyImageCommand, RegisterImageCommand, waitForImageAvailable } from '@aws-sdk/client-ec2';
import { WaiterState } from '@smithy/core/client';
import { awsError } from '../aws-call.ts';
import { isRetryableAwsError, retry } from '../retry.ts';
import { createTags, recordToTags } from './client.ts';
import { describeImages, imageSummaryOf, type ImageSummary } from './images.ts';
import { waiterDelays } from './instances.ts';
import { shareWithAccount, withdrawShareFromAccount } from './sharing.ts';

export interface AccountCopyRequest {
  /** The building account's AMI, in the region the copy is made in. */
  readonly source: { readonly ec2: EC2Client; readonly region: string; readonly amiId: string };
  /**
   * The target account's EC2 in the same region. `singleAttemptEc2` sends the copy call once (no SDK retry), so that
   * gild itself reads back before it tries again.
   */
  readonly target: { readonly account: string; readonly ec2: EC2Client; readonly singleAttemptEc2: EC2Client };
  /** The target account's key to encrypt the copy with; left out, the copy is encrypted as its source is. */
  readonly kmsKeyId: string | undefined;
  /** Put on the copy and its snapshots: a copy carries none of its source's tags. */
  readonly tags: Readonly<Record<string, string>>;
  /**
   * Leave the source shared with the account once the copy is available (its launch permissions grant the account
   * anyway). Otherwise the share, needed only while copying, is withdrawn: the account has its own AMI now.
   */
  readonly keepSharing: boolean;
  /**
   * `copy-image`: CopyImage in the target account (real AWS). `register-stand-in`: RegisterImage of an empty image
   * with the source's name and description, for an emulator that cannot copy an AMI shared from another account.
   */
  readonly method: 'copy-image' | 'register-stand-in';
  readonly signal: AbortSignal;
  /** How long to wait for the copy to become available (CopyImage takes minutes); default 60 minutes. */
  readonly timeoutMs?: number;
  readonly pollMs?: number;
}

export interface AccountCopy {
  readonly amiId: string;
  readonly snapshotIds: readonly string[];
  /** `found`: a copy of this source already existed there (a lost answer, or a run that stopped before tagging it). */
  readonly outcome: 'copied' | 'found';
}

/**
 * Gives another account its own copy of an AMI: shares the AMI and its snapshots with the account (in the source
 * region), has the account copy it (the copy is the account's, and outlives the source), waits until it is
 * available, withdraws the share (unless `keepSharing`), and tags it. Idempotent, and safe under a lost answer:
 * - the copy keeps the source's name, which is unique per run and per account and region, so a copy made by an
 *   earlier attempt (whose answer was lost, or whose run stopped before tagging) is found by name and finished,
 *   never made twice;
 * - CopyImage carries a ClientToken derived from the source AMI, the account and the region, so AWS itself returns
 *   the same copy to a retry;
 * - sharing an AMI or snapshot with an account it is already shared with changes nothing.
 */
export async function copyImageIntoAccount(request: AccountCopyRequest): Promise<AccountCopy> {
  const { source, target } = request;
  const [sourceImage] = await describeImages(source.ec2, { imageIds: [source.amiId] });
  if (!sourceImage?.name) throw awsError('copy', `${source.amiId} into account ${target.account}`, new Error(`${source.amiId} does not exist in ${source.region}`));

  let copyId = await findOwnImageByName(target.ec2, sourceImage.name);
  const outcome = copyId ? 'found' : 'copied';
  if (!copyId) {
    await shareWithAccount(source.ec2, source.amiId, target.account, sourceImage.snapshotIds);
    copyId = await createCopy(request, sourceImage);
  }
  const copy = await waitForCopy(target.ec2, copyId, request);
  // NOTE: the share goes before the tags: until tagged, a rerun finds this copy by name and comes back here, so a
  // crash between the two still ends with the share withdrawn; once tagged, nothing would come back for it.
  if (!request.keepSharing) await withdrawShareFromAccount(source.ec2, source.amiId, target.account, sourceImage.snapshotIds);
  // NOTE: a copy CopyImage tagged at creation already carries gild:image, and its snapshots with it (one call); sending
  // it again is what the policy's NeverMoveOwnership deny refuses on AWS (the IAM simulation shows it), so only a copy
  // without it (a stand-in on the emulator) gets it here.
  const ownedAlready = copy.tags['gild:image'] === request.tags['gild:image'];
  const { 'gild:image': _ownership, ...retag } = request.tags;
  await createTags(target.ec2, [copyId, ...copy.snapshotIds], ownedAlready ? retag : request.tags);
  return { amiId: copyId, snapshotIds: copy.snapshotIds, outcome };
}

/**
 * The account's own AMI of that name (AMI names are unique per account and region), if any. A failed copy is not
 * one to finish: waiting on it would fail every run (the plan deregisters it before copying again).
 */
async function findOwnImageByName(ec2: EC2Client, name: string): Promise<string | undefined> {
  const found = await describeImages(ec2, { owners: ['self'], filters: [{ Name: 'name', Values: [name] }], includeDeprecated: true });
  return found.filter((image) => image.state !== 'failed').sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0]?.amiId;
}

const copyRetry = { attempts: 4, baseDelayMs: 1000, maxDelayMs: 8000 };

async function createCopy(request: AccountCopyRequest, sourceImage: ImageSummary): Promise<string> {
  const { source, target } = request;
  const { name, description } = sourceImage;
  // NOTE: deterministic, so that AWS answers a retried CopyImage with the copy the first attempt started.
  const clientToken = createHash('sha256').update(`${source.amiId} ${target.account} ${source.region}`).digest('hex').slice(0, 64);
  // NOTE: tagged from the moment it exists, so that a copy a run never got to finish is gild's and seen as such by the
  // next run's plan (retired with its version), even once a newer version is distributed. Tagged again when available.
  const tagSpecifications = [
    { ResourceType: 'image' as const, Tags: recordToTags(request.tags) },
    { ResourceType: 'snapshot' as const, Tags: recordToTags(request.tags) },
  ];
  const send = async () =>
    request.method === 'copy-image'
      ? (
          await target.singleAttemptEc2.send(
            new CopyImageCommand({
              SourceRegion: source.region,
              SourceImageId: source.amiId,
              Name: name,
              ...(description ? { Description: description } : {}),
              ClientToken: clientToken,
              TagSpecifications: tagSpecifications,
              ...(request.kmsKeyId ? { Encrypted: true, KmsKeyId: request.kmsKeyId } : {}),
            }),
          )
        ).ImageId
      : // NOTE: moto (5.2.1) ignores RegisterImage's TagSpecifications; on it, the tags after the wait are the only ones.
        (await target.singleAttemptEc2.send(new RegisterImageCommand({ Name: name, ...(description ? { Description: description } : {}), TagSpecifications: tagSpecifications.slice(0, 1) }))).ImageId;
  try {
    return await retry(
      async () => {
        try {
          const amiId = await send();
          if (!amiId) throw new Error('the answer named no AMI');
          return amiId;
        } catch (error) {
          // A lost answer: the copy may exist although the call failed. Read back before anything else.
          const found = await findOwnImageByName(target.ec2, name).catch(() => undefined);
          if (found) return found;
          throw error;
        }
      },
      { ...copyRetry, retryable: isRetryableAwsError, signal: request.signal },
    );
  } catch (error) {
    throw awsError(request.method === 'copy-image' ? 'copy' : 'register a stand-in copy of', `${source.amiId} (${source.region}) into account ${target.account}`, error);
  }
}

/** The copy once available, with the SDK's image waiter polling (CopyImage takes minutes on AWS). */
async function waitForCopy(ec2: EC2Client, amiId: string, request: AccountCopyRequest): Promise<ImageSummary> {
  const what = `${request.source.amiId} into account ${request.target.account}`;
  const timeoutMs = request.timeoutMs ?? 60 * 60_000;
  const seconds = timeoutMs / 1000;
  const result = await waitForImageAvailable({ client: ec2, abortSignal: request.signal, maxWaitTime: seconds, ...waiterDelays(request.pollMs ?? 15_000, seconds) }, { ImageIds: [amiId] });
  const image = ((result.reason as DescribeImagesCommandOutput | undefined)?.Images ?? []).map(imageSummaryOf).find((candidate) => candidate.amiId === amiId);
  if (result.state === WaiterState.SUCCESS && image) return image;
  if (result.state === WaiterState.ABORTED) throw awsError('copy', what, new Error(`the wait for the copy ${amiId} was interrupted; the next run waits for it again`));
  if (result.state === WaiterState.FAILURE) throw awsError('copy', what, new Error(`the copy ${amiId} is ${image?.state ?? 'failed'}: ${image?.stateReason ?? 'no reason given'}`));
  throw awsError('copy', what, new Error(`the copy ${amiId} was not available after ${Math.round(timeoutMs / 60_000)} minutes; the next run waits for it again`));
}
