import { parse } from '@cdktf/hcl2json';
import fc from 'fast-check';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderImage } from '../../src/render/render-template.ts';
import { decodeTemplateText, renderInputFixture, resolvedImageFixture } from '../support/resolved-image-fixture.ts';

let workDir: string;
beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'gild-roundtrip-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** Any unicode text, with the fragments most likely to break quoting forced in. */
const awkwardText = fc
  .array(fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary-ascii' }), fc.constantFrom('"', '\\', '\n', '\t', '\r', '${x}', '%{x}', '$${x}', '$', '%', '*/', '/*', '#', '//', '<<EOT', '}', '{')), { maxLength: 8 })
  .map((parts) => parts.join(''));

/**
 * NOTE: HCL normalizes every string to Unicode NFC after decoding escapes (so
 * `\u` escapes cannot preserve e.g. U+2F800), and Packer sees what HCL sees.
 * Exactly-as-written therefore means: as written, in NFC.
 */
const asHclSeesIt = (text: string): string => text.normalize('NFC');

describe('rendered values', () => {
  it('come back exactly as written (in NFC) from a tag value, the description and an inline shell command', async () => {
    await fc.assert(
      fc.asyncProperty(awkwardText, awkwardText, awkwardText, async (tagValue, description, command) => {
        const image = resolvedImageFixture({ description, provision: [{ kind: 'shell', inline: [command], env: {}, expectDisconnect: false, pauseBefore: undefined }] });
        const input = renderInputFixture(path.join(workDir, 'out'));
        const rendered = await renderImage(image, { ...input, tags: { note: tagValue } });
        const parsed = (await parse('image.pkr.hcl', await readFile(path.join(rendered.dir, 'image.pkr.hcl'), 'utf8'))) as any;
        const source = parsed.source['amazon-ebs'].web[0];
        expect(decodeTemplateText(source.tags.note)).toBe(asHclSeesIt(tagValue));
        expect(decodeTemplateText(source.snapshot_tags.note)).toBe(asHclSeesIt(tagValue));
        expect(decodeTemplateText(source.ami_description)).toBe(asHclSeesIt(description));
        expect(decodeTemplateText(parsed.build[0].provisioner.shell[0].inline[0])).toBe(asHclSeesIt(command));
      }),
      { numRuns: 60 },
    );
  });
});
