/**
 * The SDK stays behind the adapters: no file under src/ outside src/adapters/ imports `@aws-sdk/*` or `@smithy/*`,
 * types included (an SDK type above the adapters is how `Image` once leaked into ten stages). The adapters speak
 * gild's types; a client's type is re-exported by its adapter. Reads the source tree with TypeScript's own import
 * scanner, so `import type`, `export … from` and `import()` all count. Also holds the EC2 adapter's rooms small.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const src = path.join(root, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return /\.(ts|mts|js|mjs)$/.test(entry.name) ? [file] : [];
  });
}

/** Every module a source text imports or re-exports, statically, by type or dynamically. */
function importedModules(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((file) => file.fileName);
}

const isSdk = (specifier: string) => specifier.startsWith('@aws-sdk/') || specifier.startsWith('@smithy/');

describe('the SDK stays behind the adapters', () => {
  it('finds SDK imports of every form (the scan this test relies on)', () => {
    const text = [
      "import type { Image } from '@aws-sdk/client-ec2';",
      "export { SSMClient } from '@aws-sdk/client-ssm';",
      "const kms = await import('@aws-sdk/client-kms');",
      "import { isTransientError } from '@smithy/core/retry';",
      "import { describeImages } from '../adapters/ec2.ts';",
    ].join('\n');
    expect(importedModules(text).filter(isSdk)).toEqual(['@aws-sdk/client-ec2', '@aws-sdk/client-ssm', '@aws-sdk/client-kms', '@smithy/core/retry']);
  });

  it('no file under src/ outside src/adapters/ imports @aws-sdk/* or @smithy/* (types included)', () => {
    const files = sourceFiles(src).filter((file) => !file.startsWith(path.join(src, 'adapters') + path.sep));
    expect(files.length).toBeGreaterThan(100);
    const offenders = files.flatMap((file) =>
      importedModules(readFileSync(file, 'utf8'))
        .filter(isSdk)
        .map((specifier) => `${path.relative(root, file)}: ${specifier}`),
    );
    expect(offenders).toEqual([]);
  });

  it('the adapters do import the SDK (the scan reads the files it should)', () => {
    const adapters = sourceFiles(path.join(src, 'adapters'));
    expect(adapters.some((file) => importedModules(readFileSync(file, 'utf8')).some(isSdk))).toBe(true);
  });

  it('each file of the EC2 adapter is under 300 lines', () => {
    const files = sourceFiles(path.join(src, 'adapters', 'ec2'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    const long = files.map((file) => ({ file: path.relative(root, file), lines: readFileSync(file, 'utf8').split('\n').length })).filter(({ lines }) => lines >= 300);
    expect(long).toEqual([]);
  });
});
