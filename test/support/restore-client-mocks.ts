/**
 * Registered for the unit project (test/vitest.config.ts), whose files share their worker's modules: a file's
 * `mockClient(SSMClient)` (aws-sdk-client-mock) stubs `send` on the client's prototype for the whole worker, and a
 * later file in the same worker that sends through a real client of that class (with its own middleware, such as the
 * wire capture of aws-model-capture.ts) got the mock's empty answer instead. Which files share a worker depends on
 * the number of workers and the order, so each file's prototype stubs are removed when it ends.
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { RbinClient } from '@aws-sdk/client-rbin';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { afterAll } from 'vitest';

const clientClasses = [AutoScalingClient, EC2Client, EventBridgeClient, IAMClient, KMSClient, RbinClient, S3Client, SNSClient, SSMClient, STSClient];

afterAll(() => {
  for (const clientClass of clientClasses) {
    const prototype = clientClass.prototype as { send?: { restore?: () => void } };
    if (Object.hasOwn(prototype, 'send')) prototype.send?.restore?.();
  }
});
