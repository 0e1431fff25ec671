/** S3, for the evidence store: put an object, read one back (absent is a value, not an error). */
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { awsClientConfig, labelRequestsWithStep } from './aws-client-config.ts';
import { awsCall, awsError } from './aws-call.ts';

export function createS3Client(region: string, env: Readonly<Record<string, string | undefined>>): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  // NOTE: path-style addressing where an endpoint is set: an emulator on 127.0.0.1 has no bucket subdomains.
  return labelRequestsWithStep(new S3Client({ ...awsClientConfig(region, endpoint, env), ...(endpoint ? { forcePathStyle: true } : {}) }));
}

export async function putObject(s3: S3Client, bucket: string, key: string, body: string, contentType: string): Promise<void> {
  await awsCall('store', `s3://${bucket}/${key}`, () => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType })));
}

export async function getObjectText(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const output = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await output.Body?.transformToString('utf8');
  } catch (error) {
    if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw awsError('read', `s3://${bucket}/${key}`, error);
  }
}
