/**
 * The organisation's pipeline settings. Every image inherits these; an image
 * definition can override retention and smoke settings for itself.
 */
import { defineSettings } from 'gild';

export default defineSettings({
  // Where app teams find AMIs: /golden/<image>/latest and /golden/<image>/versions/<x.y.z>.
  ssmPrefix: '/golden',
  // Keep the newest 3 versions of every image in every region; older ones are retired.
  retention: { keep: 3 },
  // Channels app teams can follow (/golden/<image>/channels/<name>); they move only with `gild promote`.
  // soakDays: how long a version must have been published before it may be promoted there.
  channels: { stable: { soakDays: 0 } },
  // Images built at once. Each build holds an EC2 instance and a Packer process.
  concurrency: 2,
  // The seed's tagging best practice: who owns it, what it is for, where it runs.
  requiredTags: ['owner', 'app', 'environment'],
  // Public AMIs are off for the organisation; a definition cannot turn them on alone.
  allowPublicImages: false,
  smoke: {
    instanceTypes: ['t3.micro'],
    // The SSM agent needs this profile (AmazonSSMManagedInstanceCore); see pipeline/iam-policy.json.
    instanceProfile: 'gild-smoke',
    checkTimeoutSeconds: 300,
    timeoutSeconds: 1800,
  },
  // Build and smoke instances that gild tagged and that are older than this are terminated at the start of a run.
  sweepAfterMinutes: 120,
  // A nightly run rebuilds images whose base AMI changed; this rebuilds the rest weekly for OS patches.
  rebuildAfterDays: 7,
});
