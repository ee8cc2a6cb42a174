/**
 * `.env` in the current directory, loaded by every glueline process (the CLI and the worker) so one file
 * points them all at a stack or an account (.env.example lists the variables). A variable already set in the
 * environment wins, even when empty: a shell's `export` or a container's settings override the file.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Loads `<dir>/.env` into process.env when it exists, without overriding. @returns the file loaded, if any */
export function loadDotEnv(dir: string = process.cwd()): string | undefined {
  const file = path.join(dir, '.env');
  if (!fs.existsSync(file)) return undefined;
  try {
    // Node's own parser (20.12+), the same as `node --env-file`; it leaves variables already set alone.
    process.loadEnvFile(file);
  } catch (err) {
    throw new Error(`cannot load ${file}: ${(err as Error).message}. Fix or remove the file.`, { cause: err });
  }
  return file;
}
