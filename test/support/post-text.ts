/**
 * A POST to a local server (moto's management API) with node:http, answered with its status and text.
 *
 * NOTE: not fetch: the first fetch in a process makes Node load and compile undici and its wasm HTTP parser, 100-200 ms
 * of CPU, and every cli test file runs in a fresh process whose only fetches were moto's resets; the SDK and the
 * wire-check proxy use node:http already.
 */
import { request } from 'node:http';

export function postText(url: string, body?: string): Promise<{ readonly status: number; readonly ok: boolean; readonly text: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: 'POST', headers: { 'content-length': Buffer.byteLength(body ?? '') } }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('error', reject);
      answer.on('end', () => {
        const status = answer.statusCode ?? 0;
        resolve({ status, ok: status >= 200 && status < 300, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    outgoing.on('error', reject);
    outgoing.end(body ?? '');
  });
}
