import { parse } from '@cdktf/hcl2json';
import { describe, expect, it } from 'vitest';
import { formatHcl } from '../../src/render/format-hcl.ts';
import { attribute, block, hclBody, hclString, hclValue } from '../../src/render/hcl.ts';
import { decodeTemplateText } from '../support/resolved-image-fixture.ts';

async function parsedValue(quoted: string): Promise<unknown> {
  const parsed = (await parse('value.hcl', `value = ${quoted}\n`)) as { value: string };
  return decodeTemplateText(parsed.value);
}

describe('hclString', () => {
  it.each([
    ['plain text', 'plain text', '"plain text"'],
    ['quotes and backslashes', 'say "hi" C:\\temp', '"say \\"hi\\" C:\\\\temp"'],
    ['newlines, tabs and carriage returns', 'a\nb\tc\rd', '"a\\nb\\tc\\rd"'],
    ['other control characters', 'bell\u0007 del\u007f', '"bell\\u0007 del\\u007f"'],
    ['interpolations, which stay literal', '${var.secret}', '"$${var.secret}"'],
    ['directives, which stay literal', '%{ if true }', '"%%{ if true }"'],
    ['an already doubled dollar', '$${x}', '"$$${x}"'],
    ['unicode, untouched', 'café 東京 🚀', '"café 東京 🚀"'],
  ])('escapes %s', (_name, value, expected) => {
    expect(hclString(value)).toBe(expected);
  });

  it.each(['say "hi"', 'C:\\temp\\', 'line\nline', '${x}', '%{x}', '$${x}', '$$', 'tail$', 'tail%', '*/', '<b>&amp;</b>'])('round-trips %j through an HCL parser', async (value) => {
    expect(await parsedValue(hclString(value))).toBe(value);
  });

  it('cannot keep text that is not in NFC, because HCL normalizes every string', async () => {
    expect(await parsedValue(hclString('e\u0301'))).toBe('\u00e9');
  });
});

describe('hclValue', () => {
  it('keeps lists on one line and puts each map key on its own line', () => {
    expect(hclValue(['a', 1, true])).toBe('["a", 1, true]');
    expect(hclValue({ 'gild:image': 'web', Name: 'x' })).toBe('{\n"gild:image" = "web"\n"Name" = "x"\n}');
    expect(hclValue({})).toBe('{}');
  });

  it('refuses numbers HCL cannot hold', () => {
    expect(() => hclValue(Number.NaN)).toThrow(/not a number HCL can hold/);
  });
});

describe('formatHcl', () => {
  it('indents nested blocks and aligns the = of consecutive attributes, as packer fmt does', () => {
    const text = hclBody([
      attribute('region', 'us-east-1'),
      attribute('instance_type', 't3.micro'),
      attribute('tags', { a: 'b', long_key: 'c' }),
      block('metadata_options', [attribute('http_tokens', 'required'), attribute('http_endpoint', 'enabled')]),
    ]);
    expect(formatHcl(`source "amazon-ebs" "web" {\n${text}\n}`)).toMatchInlineSnapshot(`
      "source "amazon-ebs" "web" {
        region        = "us-east-1"
        instance_type = "t3.micro"
        tags = {
          "a"        = "b"
          "long_key" = "c"
        }
        metadata_options {
          http_tokens   = "required"
          http_endpoint = "enabled"
        }
      }
      "
    `);
  });

  it('does not count brackets, = or # inside strings', () => {
    expect(formatHcl('a {\nx = "{ [ # = ${"}"}"\nlonger = 1\n}')).toBe('a {\n  x      = "{ [ # = ${"}"}"\n  longer = 1\n}\n');
  });

  it('drops blank lines left at the edges of blocks and collapses repeated ones', () => {
    expect(formatHcl('a {\n\n  x = 1\n\n\n  y = 2\n\n}\n\n')).toBe('a {\n  x = 1\n\n  y = 2\n}\n');
  });

  it('counts a key with combining characters by its characters, not its code units', () => {
    expect(formatHcl('tags = {\n"cafe\u0301" = 1\n"東京" = 2\n"abcdefg" = 3\n}')).toBe('tags = {\n  "cafe\u0301"    = 1\n  "東京"      = 2\n  "abcdefg" = 3\n}\n');
  });

  it('leaves heredoc bodies alone', () => {
    expect(formatHcl('a {\nx = <<EOT\n  keep   = me\nEOT\ny = 1\n}')).toBe('a {\n  x = <<EOT\n  keep   = me\nEOT\n  y = 1\n}\n');
  });
});
