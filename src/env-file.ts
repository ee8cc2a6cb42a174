/**
 * `.env` in the current directory, loaded by every glueline process (the CLI and the worker) so one file
 * points them all at a stack or an account (.env.example lists the variables). A variable already set in the
 * environment wins, even when empty: a shell's `export` or a container's settings override the file.
 * GLUELINE_ENV_FILE names another file, or `none` for no file (what tests use, to see only their own settings).
 */
import fs from 'node:fs';
import path from 'node:path';

/** Loads `.env` (or GLUELINE_ENV_FILE) into process.env when it exists, without overriding. @returns the file loaded */
export function loadDotEnv(dir: string = process.cwd()): string | undefined {
  const chosen = process.env.GLUELINE_ENV_FILE;
  if (chosen === 'none') return undefined;
  const file = path.resolve(dir, chosen || '.env');
  if (!chosen && !fs.existsSync(file)) return undefined;
  try {
    // Node's own parser (20.12+), the same as `node --env-file`; it leaves variables already set alone.
    process.loadEnvFile(file);
  } catch (err) {
    throw new Error(
      `cannot load ${file}${chosen ? ' (GLUELINE_ENV_FILE)' : ''}: ${(err as Error).message}. ` +
        `Fix or remove the file${chosen ? ', or unset GLUELINE_ENV_FILE' : ''}.`,
      { cause: err },
    );
  }
  return file;
}
