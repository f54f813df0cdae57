/**
 * The live board the demo serves at `/board`: one static HTML page with a few lines of script
 * (board.html, no build step) that lists each app's branches with their latest job and keeps them
 * live through `jobsUpdated` (one subscription for every unfinished job), and the graphql-sse
 * client's browser bundle it loads. It is also the worked example of consuming the subscription,
 * and a partial answer, from a frontend: an app or a branch that could not be read is a null entry
 * with an error, and the board shows the others with a line saying what is missing.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const BOARD_PATH = '/board';

export interface Board {
  /**
   * Answers `/board`, `/board/graphql-sse.js` and `/favicon.ico` (204: the demo has no icon, and a
   * browser asking for one should not log a 404); false for any other path (not handled).
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

/** Reads the page and the client bundle once, when the demo starts. */
export function createBoard(): Board {
  const page = readFileSync(new URL('./board.html', import.meta.url));
  // graphql-sse's package exports list no browser bundle path; it sits beside its lib/ folder.
  const library = createRequire(import.meta.url).resolve('graphql-sse');
  const client = readFileSync(join(dirname(library), '..', 'umd', 'graphql-sse.min.js'));
  const send = (res: ServerResponse, type: string, body: Buffer) => {
    res.writeHead(200, {
      'content-type': type,
      'content-length': body.length,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    res.end(body);
  };
  return {
    handle(req, res) {
      const path = (req.url ?? '/').split('?', 1)[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      if (path === BOARD_PATH || path === `${BOARD_PATH}/`) {
        send(res, 'text/html; charset=utf-8', page);
        return true;
      }
      if (path === '/favicon.ico') {
        res.writeHead(204, { 'cache-control': 'max-age=86400' });
        res.end();
        return true;
      }
      if (path === `${BOARD_PATH}/graphql-sse.js`) {
        send(res, 'text/javascript; charset=utf-8', client);
        return true;
      }
      return false;
    },
  };
}
