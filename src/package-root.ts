/**
 * Where glueline's own files are, in a checkout (run with tsx from src/) and in an installed package (built
 * into dist/ by tsconfig.build.json, whose rootDir is src/): this file sits one folder below the package root
 * either way, so glue/ and package.json are found from any current directory.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The folder that holds package.json, glue/, specs/ and samples/. */
export const packageRoot = path.resolve(__dirname, '..');

/** The version in glueline's package.json. */
export function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}
