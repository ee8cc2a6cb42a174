import fs from 'node:fs';
import path from 'node:path';

/** The checkout's root folder. */
export const repoRoot = path.resolve(__dirname, '..');

/** Path of a dev tool that scripts/bootstrap.sh installed into `.devtools/bin`. */
export function devtool(name: 'temporal' | 'temporal-test-server' | 'moto_server' | 'python'): string {
  const file = path.join(repoRoot, '.devtools', 'bin', name);
  if (!fs.existsSync(file)) {
    throw new Error(
      `${file} is missing: the dev tools are not installed. Run \`npm run setup\` (scripts/bootstrap.sh).`,
    );
  }
  return file;
}
