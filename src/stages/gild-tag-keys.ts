/**
 * Every tag key gild may ever write to an AMI or its snapshots, over the AMI's whole life: at the build
 * (src/stages/gild-tags.ts, through Packer), the smoke verdict, publish, revoke, retire, restore, unbin, copies to
 * other regions and accounts, and the marks a failed or kept AMI carries. Owned copies in other accounts carry a
 * subset (the source-only keys are left out) plus `gild:source-ami`, `gild:source-account` and `gild:copied-at`,
 * all listed here.
 *
 * NOTE: why one list, counted as a whole: EC2 allows 50 tags a resource, and a CreateTags that would pass 50 fails
 * (TagLimitExceeded). An AMI published with room for only today's tags would then fail its revoke, its retirement or
 * its restore forever, after the ledger already recorded the intent. So an image may carry only what is left once
 * every key here is counted (src/definition/schema.ts maxUserTags), even though no single AMI carries all of them at
 * once. `Name` is here because gild adds it when the image does not set one. test/unit/gild-tag-keys.test.ts scans
 * src/ for tag keys and fails when one is missing here, so the list cannot drift from what gild writes.
 */
export const gildAmiTagKeys = [
  'Name',
  // the build (gild-tags.ts, render-template.ts)
  'gild:image',
  'gild:version',
  'gild:run-id',
  'gild:base-ami',
  'gild:built-at',
  'gild:fingerprint',
  'gild:status',
  'gild:git-commit',
  'gild:patched-at',
  'gild:prefix',
  // Packer's run_tags (gild:run-id, gild:image, gild:role, Name): modern Packer leaves them on the AMI it makes and
  // its copies (CopyImageTags), and its later CreateTags removes none.
  'gild:role',
  // the smoke test and a failed or kept build
  'gild:tested-at',
  'gild:smoke-skipped',
  'gild:failure',
  'gild:keep-reason',
  'gild:keep-until',
  'gild:resumed-by',
  // publish, copies, protection
  'gild:published-at',
  'gild:source-ami',
  'gild:source-account',
  'gild:copied-at',
  'gild:protected',
  // revoke and what it marks
  'gild:revoked-reason',
  'gild:revoked-at',
  'gild:revoked-by',
  'gild:revoked-replacement',
  'gild:revoked-disable',
  'gild:base-revoked',
  'gild:deprecated-at',
  'gild:disabled-at',
  // retirement, restore, the Recycle Bin
  'gild:retired-at',
  'gild:restored-at',
  'gild:restored-by',
  'gild:restored-reason',
  'gild:unbinned-at',
  'gild:unbinned-by',
  'gild:unbinned-reason',
  'gild:retain',
] as const;

/** EC2's limit: at most 50 tags on one resource (EC2 tag restrictions). */
export const ec2TagsPerResource = 50;
