/**
 * `notify` in pipeline/settings.ts: whom gild tells when a version is published, fails, is revoked, rolled back,
 * restored or retired. SNS topics (every image's, and an image's own) and/or EventBridge events on a bus; each
 * message carries the image, version, regions, AMIs, reason and the report's link (src/notify/notification.ts).
 */
import { z } from 'zod';
import { region } from '../definition/schema.ts';

/** What gild tells people about, as EventBridge's detail-type `gild.image.<event>` and SNS's `event` attribute. */
export const notifyEvents = ['published', 'failed', 'revoked', 'rolled-back', 'restored', 'retired'] as const;
export type NotifyEvent = (typeof notifyEvents)[number];

/** SNS takes topic names of letters, digits, `-` and `_` (and `.fifo` at the end of a FIFO topic), up to 256. */
const topicArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,251}(\.fifo)?$/,
    'is not an SNS topic ARN such as "arn:aws:sns:us-east-1:123456789012:golden-images" (the topic must exist; gild only publishes to it)',
  );

/** EventBridge bus names: letters, digits and `.-_/`, up to 256; `default` is the account's default bus. An ARN names one in another account. */
const busName = z.string().regex(/^([\w./-]{1,256}|arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[\w./-]{1,256})$/, 'is not an EventBridge bus name (such as "default") or bus ARN');

const events = z.array(z.enum(notifyEvents)).min(1, `must list at least one of ${notifyEvents.join(', ')}, or leave \`events\` out for all of them`);

export const notifySettingsSchema = z.strictObject({
  /** Which events are sent; all of them unless said. */
  events: events.default([...notifyEvents]),
  /** Topics told about every image. */
  sns: z.array(topicArn).default([]),
  /** Topics told about one image (by its name), besides `sns`; and the events that image's topics get, if fewer. */
  images: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be an image name'), z.strictObject({ sns: z.array(topicArn).min(1), events: events.optional() })).default({}),
  /**
   * Send each event to EventBridge as well: detail-type `gild.image.<event>`, source `source`, on `bus` in `region`
   * (the image's build region when left out).
   */
  eventBridge: z
    .strictObject({
      bus: busName.default('default'),
      source: z
        .string()
        .regex(/^[A-Za-z0-9][\w.-]{0,255}$/, 'is not an event source such as "gild" or "com.example.gild" (AWS reserves sources starting with "aws.")')
        .refine((source) => !source.startsWith('aws.'), 'starts with "aws.", which AWS reserves for its own events')
        .default('gild'),
      region: region.optional(),
    })
    .optional(),
});

export type NotifySettingsInput = z.input<typeof notifySettingsSchema>;
export type NotifySettings = z.output<typeof notifySettingsSchema>;

/**
 * `notify.images` entries that name no image: a typo there tells nobody, so it is said (a warning: the run still
 * builds and publishes, and every other target is still told).
 */
export function unknownNotifiedImages(notify: NotifySettings | undefined, imageNames: readonly string[]): string[] {
  return Object.keys(notify?.images ?? {})
    .filter((name) => !imageNames.includes(name))
    .map(
      (name) =>
        `pipeline/settings.ts: notify.images.${name}: no image is named "${name}" (images: ${imageNames.join(', ') || 'none'}), so its topics are told nothing. Use an image's name, or remove the entry.`,
    );
}
