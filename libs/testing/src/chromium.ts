import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** The command that installs the browser the console tests and bench drive (Debian's Chromium). */
export const CHROMIUM_INSTALL = 'apt-get update && apt-get install -y chromium';

/** Debian's Chromium (or CHROMIUM_PATH); without one, an error that says exactly how to install it. */
export function chromiumPath(): string {
  const found = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(
    (p): p is string => Boolean(p) && existsSync(p as string),
  );
  if (!found)
    throw new Error(
      `No Chromium for the console tests. Install it with:\n  ${CHROMIUM_INSTALL}\n(or set CHROMIUM_PATH to a Chromium/Chrome binary)`,
    );
  return found;
}

/** Headless Chromium through playwright-core (root needs --no-sandbox). */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-dev-shm-usage'], headless: true });
}
