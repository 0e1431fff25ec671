#!/usr/bin/env node
// NOTE: gild's engine and the organisation's images are both TypeScript. jiti
// transpiles them on load (with an on-disk cache), so `npx gild` works straight
// after `npm ci` with no build step and no dist/ folder to keep in sync.
import { importTypeScript } from './load-typescript.js';

// NOTE: the AWS SDK warns on every command under Node 20 that its releases from
// January 2027 need Node 22. gild supports Node 20, 22 and 24 (package.json
// engines) and pins the SDK, so the warning is noise in gild's output and
// reports. This is the SDK's documented switch for it; a user who sets the
// variable keeps their choice. Other warnings are left alone.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { main } = await importTypeScript(import.meta.url, '../cli.ts');
await main(process.argv.slice(2));
