/**
 * The EC2 adapter: small verbs over the SDK, one file per resource in ec2/. Pagination, waiters and retries live
 * there so that stages read as intent; every call's failure is wrapped with what was being done, keeping the SDK
 * error as `cause`; what the verbs take and return is gild's own types, never the SDK's.
 *
 * NOTE: this file only gathers them, so that a caller imports from one place whichever resource it needs.
 */
export { createEc2Client, createTags, recordToTags, tagsToRecord, tagValue, type EC2Client, type Ec2Filter } from './ec2/client.ts';
export * from './ec2/images.ts';
export * from './ec2/instances.ts';
export * from './ec2/sharing.ts';
export * from './ec2/copies.ts';
export * from './ec2/image-uses.ts';
export * from './ec2/temporary-resources.ts';
export * from './ec2/key-pairs.ts';
