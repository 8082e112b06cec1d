/**
 * Tests that need a system tool (Chromium, strace) run wherever the tool is, and fail loudly where
 * it is missing: a silent skip once hid that a test never ran. Only an explicit `<VAR>=1` in the
 * environment skips them.
 */

/**
 * Why the tests needing `tool` are skipped (`envVar` is 1), or undefined when they run. Throws
 * when the tool is missing and no skip was asked for.
 */
export function optOutReason(
  envVar: string,
  available: boolean,
  tool: string,
  install: string,
): string | undefined {
  if (process.env[envVar] === '1') return `${envVar}=1`;
  if (available) return undefined;
  throw new Error(`${tool} is missing (${install}); install it, or set ${envVar}=1 to skip these tests`);
}
