/**
 * Reads a variable the Dockerfile sets with `ENV` (also on an `ENV` line's continuation lines:
 * `ENV A="x" \` then `    B="y"`), so the bench runs its targets and the Kubernetes test checks
 * the Deployment against the image's own values. Returns the value without quotes, or `undefined`
 * when the Dockerfile does not set it.
 */
export function dockerfileEnv(dockerfile: string, name: string): string | undefined {
  const line = new RegExp(`^\\s*(?:ENV\\s+)?${name}="?([^"\\n\\\\]*?)"?\\s*\\\\?$`, 'm');
  return line.exec(dockerfile)?.[1]?.trim();
}
