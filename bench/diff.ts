/**
 * Shows how two answers differ: both pretty-printed as JSON (or as text when not JSON), then the
 * differing middle between their common first and last lines, marked - and +.
 */
function pretty(text: string): string[] {
  try {
    return JSON.stringify(JSON.parse(text), null, 2).split('\n');
  } catch {
    return text.split('\n');
  }
}

export function describeDifference(
  expectedLabel: string,
  expected: string,
  actualLabel: string,
  actual: string,
  maxLines = 40,
): string {
  const a = pretty(expected);
  const b = pretty(actual);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const lines = [`--- ${expectedLabel}`, `+++ ${actualLabel}`, `@@ line ${start + 1} @@`];
  for (const line of a.slice(Math.max(0, start - 3), start)) lines.push(`  ${line}`);
  for (const line of a.slice(start, endA).slice(0, maxLines)) lines.push(`- ${line}`);
  if (endA - start > maxLines) lines.push(`- ... ${endA - start - maxLines} more lines`);
  for (const line of b.slice(start, endB).slice(0, maxLines)) lines.push(`+ ${line}`);
  if (endB - start > maxLines) lines.push(`+ ... ${endB - start - maxLines} more lines`);
  return lines.join('\n');
}
