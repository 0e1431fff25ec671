/**
 * Registered for every test file (test/vitest.config.ts setupFiles): a request
 * that broke one of AWS's rules at the wire fails the test during which it
 * arrived, naming the operation, member, value, rule and sender — also when a
 * spawned gild or Packer process sent it and swallowed the refusal. With
 * GILD_WIRE_CHECK_SUMMARY set to a file, each test file appends what was
 * checked there (one JSON line), for reports. Likewise an AWS write a gild
 * process made outside every runner step fails the test (step-ledger.ts);
 * GILD_STEP_LEDGER collects who made each write.
 */
import { appendFileSync } from 'node:fs';
import { afterAll, afterEach } from 'vitest';
import { undocumentedFilterOperations, uncompilablePatterns } from './aws-model-check.ts';
import { assertNoWireViolations, clearWireLedger, wireLedger } from './aws-model-proxy.ts';
import { appendRequestLedger, appendStepLedger, assertNoStrayWrites, clearFileLedgers } from './step-ledger.ts';

let file = '';

afterEach(({ task }) => {
  file = task.file.filepath;
  assertNoWireViolations('during this test');
  assertNoStrayWrites('during this test');
});

afterAll(() => {
  const summary = process.env.GILD_WIRE_CHECK_SUMMARY;
  if (summary && (wireLedger.checked > 0 || wireLedger.unchecked > 0)) {
    appendFileSync(
      summary,
      `${JSON.stringify({
        file,
        checked: wireLedger.checked,
        unchecked: wireLedger.unchecked,
        bySender: Object.fromEntries(wireLedger.bySender),
        byOperation: Object.fromEntries(wireLedger.byOperation),
        undocumentedFilterOperations: [...undocumentedFilterOperations],
        uncompilablePatterns: [...uncompilablePatterns],
      })}\n`,
    );
  }
  appendStepLedger(file);
  appendRequestLedger(file);
  try {
    assertNoWireViolations('outside any test (in a beforeAll or after the last test)');
    assertNoStrayWrites('outside any test (in a beforeAll or after the last test)');
  } finally {
    // NOTE: the ledgers are module state, and a cli file's worker process runs the next file too (isolate: false):
    // what this file checked and wrote is said above, and is not the next file's.
    clearWireLedger();
    clearFileLedgers();
  }
});
