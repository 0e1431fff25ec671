/**
 * The emulator's POST (src/local/post-text.ts) gives up on a server that takes the request and never answers,
 * naming the address, where it used to wait for ever (fetch gave up after 300 s).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { postText } from '../../src/local/post-text.ts';

describe('postText', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
    server = createServer(handler);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/moto-api/reset`;
  }

  it('gives up on a server that never answers, naming the address', async () => {
    const url = await listen(() => {
      // takes the request, never answers
    });
    await expect(postText(url, '', 200)).rejects.toThrow(`POST ${url}: no answer within 200 ms`);
  });

  it('answers with the status and text of a server that answers', async () => {
    const url = await listen((request, response) => {
      request.resume();
      request.on('end', () => response.writeHead(200).end('{"reset":true}'));
    });
    expect(await postText(url, 'x', 200)).toEqual({ status: 200, ok: true, text: '{"reset":true}' });
  });
});
