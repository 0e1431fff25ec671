import { parse } from '@cdktf/hcl2json';
import fc from 'fast-check';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderImage } from '../../src/render/render-template.ts';
import { decodeTemplateText, evaluatePackerText, renderInputFixture, resolvedImageFixture } from '../support/resolved-image-fixture.ts';

let workDir: string;
beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'gild-roundtrip-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** Any unicode text, with the fragments most likely to break quoting forced in. */
const awkwardText = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'grapheme' }),
      fc.string({ unit: 'binary-ascii' }),
      fc.constantFrom('{', '}}', '{ {', 'e\u0301', '\u{2f800}', '`', '"', '\\', '\n', '\t', '\r', '${x}', '%{x}', '$${x}', '$', '%', '*/', '/*', '#', '//', '<<EOT', '}', '{'),
    ),
    { maxLength: 8 },
  )
  .map((parts) => parts.join(''))
  // "{{" cannot pass through Packer at all and is refused (see escape.ts and test/integration/render-hostile-packer.test.ts).
  .filter((text) => !text.includes('{{'));

/**
 * HCL normalizes every string to Unicode NFC, then Packer evaluates it as a Go
 * template: what Packer ends up with is HCL's text, evaluated.
 */
const asPackerSeesIt = (text: string): string => evaluatePackerText(decodeTemplateText(text));

describe('rendered values', () => {
  it('come back exactly as written, NFD included, from a tag value and an inline shell command (the description never goes through Packer: the share step sets it)', async () => {
    await fc.assert(
      fc.asyncProperty(awkwardText, awkwardText, awkwardText, async (tagValue, description, command) => {
        const image = resolvedImageFixture({ description, provision: [{ kind: 'shell', inline: [command], env: {}, expectDisconnect: false, pauseBefore: undefined }] });
        const input = renderInputFixture(path.join(workDir, 'out'));
        const rendered = await renderImage(image, { ...input, tags: { note: tagValue } });
        const parsed = (await parse('image.pkr.hcl', await readFile(path.join(rendered.dir, 'image.pkr.hcl'), 'utf8'))) as any;
        const source = parsed.source['amazon-ebs'].web[0];
        expect(asPackerSeesIt(source.tags.note)).toBe(tagValue);
        expect(source.ami_description).toBeUndefined();
        expect(asPackerSeesIt(parsed.build[0].provisioner.shell[0].inline[0])).toBe(command);
      }),
      { numRuns: 60 },
    );
  });
});
