import { GraphQLScalarType } from 'graphql';
import { DateTimeResolver, URLResolver } from 'graphql-scalars';
import { builder } from './builder.js';

const DateTime = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  description:
    'A moment in time as an ISO 8601 string in UTC with milliseconds, e.g. `2024-11-12T12:00:00.123Z`.',
  // Always the same textual form, whatever the graphql-scalars version returns.
  serialize: (value) => (DateTimeResolver.serialize(value) as Date).toISOString(),
});

const Url = new GraphQLScalarType({
  ...URLResolver.toConfig(),
  description:
    'An absolute URL (RFC 3986). Amplify log and artifact URLs are presigned and expire: fetch them soon after reading them.',
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
