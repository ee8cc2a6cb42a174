/** Reads a pipeline spec from a JSON or YAML file and validates it before anything else happens. */
import fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { PipelineSpec } from '../workflow-safe/spec';
import { parseOrExplain } from '../workflow-safe/validation';

/** The spec in `file` (`.json`, `.yaml` or `.yml`), validated; throws naming every bad field. */
export function loadSpecFile(file: string): PipelineSpec {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the spec file ${file}: ${(err as Error).message}`, { cause: err });
  }
  const json = /\.json$/i.test(file);
  let value: unknown;
  try {
    value = json ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new Error(`${file} is not valid ${json ? 'JSON' : 'YAML'}: ${(err as Error).message}`, { cause: err });
  }
  return parseOrExplain(PipelineSpec, value, file);
}
