import { GraphQLScalarType } from 'graphql';
import { DateTimeResolver, URLResolver } from 'graphql-scalars';
import { isPrintableTime } from '../upstream/wire-check.js';
import { builder } from './builder.js';

/**
 * Each Date's RFC 3339 text with the epoch ms it was printed from, kept as long as the Date lives:
 * a finished job's times come from the caches, the same Date objects answer after answer, and
 * toISOString was the largest single cost of a 20-job history page (6% of its CPU). The ms check
 * keeps the text true even if a Date were changed after it was printed.
 */
const printedTimes = new WeakMap<Date, { ms: number; text: string }>();

const DateTime = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  description:
    'A moment in time as an RFC 3339 (ISO 8601) string in UTC with milliseconds, e.g. `2024-11-12T12:00:00.123Z`.',
  // Only a Date that prints as RFC 3339 (`YYYY-MM-DDTHH:mm:ss.sssZ`, years 0000-9999): toISOString
  // would print a year above 9999 as `+055840-…`, which no DateTime parser accepts. The upstream
  // boundary already reads such values as null; anything else reaching here is a bug, answered as a
  // field error rather than as a string that is not a DateTime.
  serialize: (value) => {
    if (value instanceof Date) {
      const printed = printedTimes.get(value);
      const ms = value.getTime();
      if (printed !== undefined && printed.ms === ms) return printed.text;
      if (isPrintableTime(value)) {
        const text = value.toISOString();
        printedTimes.set(value, { ms, text });
        return text;
      }
    }
    throw new TypeError(
      'DateTime cannot represent a value that is not a time in the years 0000-9999',
    );
  },
});

const Url = new GraphQLScalarType({
  ...URLResolver.toConfig(),
  description:
    'An absolute URL (RFC 3986). On AWS, the log, artifact and screenshot URLs of a job are presigned: anyone holding one can download the file until it expires, so fetch it soon after reading it and do not share it. The gateway keeps an answer holding one in its caches no longer than the first one works, less a minute, and marks it `Cache-Control: private`.',
  // Validated like graphql-scalars' URL, but returned exactly as Amplify sent it: re-encoding a
  // presigned URL could break its signature.
  serialize: (value) => {
    if (typeof value !== 'string' || !URL.canParse(value)) {
      throw new TypeError('URL cannot represent a value that is not an absolute URL');
    }
    return value;
  },
});

builder.addScalarType('DateTime', DateTime);
builder.addScalarType('URL', Url);
