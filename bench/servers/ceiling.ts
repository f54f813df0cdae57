/**
 * The static ceiling: node:http answering, for each request body it was given, the exact bytes the
 * gateway answered to it. It still reads the whole request body (as the gateway must), so what it
 * measures is the cost of HTTP on this machine: no GraphQL, no upstream. Nothing can be faster.
 *
 * BENCH_ANSWERS names a JSON file: `{ "answers": [{ "request": "<body>", "response": "<body>" }] }`.
 */
import { readFileSync } from 'node:fs';
import { CONTENT_TYPE, readBody, serve } from './common.js';

interface AnswersFile {
  answers: { request: string; response: string }[];
}

const file = process.env.BENCH_ANSWERS;
if (file === undefined || file === '') {
  console.error('ceiling: set BENCH_ANSWERS to the answers file');
  process.exit(2);
}
const { answers } = JSON.parse(readFileSync(file, 'utf8')) as AnswersFile;
const bytes = new Map(answers.map((a) => [a.request, Buffer.from(a.response, 'utf8')] as const));
const notFound = Buffer.from('{"errors":[{"message":"ceiling: unknown request body"}]}');

serve('static ceiling', (req, res) => {
  readBody(req).then(
    (body) => {
      const answer = bytes.get(body);
      res.writeHead(answer === undefined ? 404 : 200, {
        'content-type': CONTENT_TYPE,
        'content-length': (answer ?? notFound).length,
      });
      res.end(answer ?? notFound);
    },
    () => res.destroy(),
  );
});
