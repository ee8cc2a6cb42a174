/**
 * Headless Chromium for the tests that look at the Temporal UI: Debian's `chromium` package (which
 * `scripts/bootstrap.sh` installs), driven by playwright-core. No browser download of Playwright's own.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { stackDir } from './stack';

/** The Chromium binary: GLUELINE_CHROMIUM, or Debian's. */
export const chromiumPath = process.env.GLUELINE_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Launches headless Chromium with a fresh profile (Playwright makes a new empty user-data-dir per launch).
 * Without the background-networking flags Chromium keeps dialling Google's hosts, which a closed network refuses.
 */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(chromiumPath))
    throw new Error(
      `no Chromium at ${chromiumPath}: run scripts/bootstrap.sh (as root it installs Debian's chromium), ` +
        'or set GLUELINE_CHROMIUM to a Chromium binary.',
    );
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Where a test's screenshot of the UI goes: `<stack dir>/ui/<name>` (git-ignored, under .devstack/). */
export function screenshotPath(name: string): string {
  const dir = path.join(stackDir, 'ui');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}
