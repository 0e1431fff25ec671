/**
 * A POST to the emulator (moto's IAM for the instance-profile set-up, its management API in tests) with node:http,
 * answered with its status and text.
 *
 * NOTE: not fetch: the first fetch in a process makes Node load and compile undici and its wasm HTTP parser, 60-200 ms
 * of CPU, in every emulator run and in every cli test file's fresh process; the SDK's clients load node:http already.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** What fetch's undici never did in under 300 s: a stuck server fails the test that asked, with its address. */
const answerTimeoutMs = 30_000;

export function postText(
  url: string,
  body?: string,
  timeoutMs = answerTimeoutMs,
  headers: Readonly<Record<string, string>> = {},
): Promise<{ readonly status: number; readonly ok: boolean; readonly text: string }> {
  const request = new URL(url).protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body ?? '') } }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('error', reject);
      answer.on('end', () => {
        const status = answer.statusCode ?? 0;
        resolve({ status, ok: status >= 200 && status < 300, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    // NOTE: node:http has no timeout of its own; setTimeout only emits after that long with no byte either way.
    outgoing.setTimeout(timeoutMs, () => outgoing.destroy(new Error(`POST ${url}: no answer within ${timeoutMs} ms (is the server there stuck?)`)));
    outgoing.on('error', reject);
    outgoing.end(body ?? '');
  });
}
