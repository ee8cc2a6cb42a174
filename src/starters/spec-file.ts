/** Reads a pipeline spec from a JSON or YAML file and validates it before anything else happens. */
import fs from 'node:fs';
import { isMap, isNode, isPair, isScalar, isSeq, LineCounter, parse as parseYaml, parseDocument } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import { PipelineSpec } from '../workflow-safe/spec';
import { parseOrExplain, SpecValidationError, type Locate } from '../workflow-safe/validation';
import { inlineSqlFiles } from './sql-file';

/**
 * Where each path of a YAML (or JSON: YAML reads it too) text is written: the key of a field (so an
 * unknown or bad field points at its name), the item of a list. Undefined when the text does not parse.
 */
export function yamlLocator(text: string): Locate | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, keepSourceTokens: false, uniqueKeys: false });
  if (doc.errors.length) return undefined;
  return (path) => {
    let node: unknown = doc.contents;
    let at: YamlNode | undefined = isNode(node) ? node : undefined;
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
        if (!pair) return undefined;
        at = isNode(pair.key) ? pair.key : undefined;
        node = pair.value;
      } else if (isSeq(node) && typeof key === 'number') {
        node = node.items[key];
        at = isNode(node) ? node : isPair(node) && isNode(node.key) ? node.key : undefined;
      } else return undefined;
    }
    const offset = at?.range?.[0];
    if (offset === undefined) return undefined;
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
}

/**
 * The spec in `file` (`.json`, `.yaml` or `.yml`), its `{ sqlFile }` items read (relative to it), validated; throws
 * naming every bad field, with its line.
 */
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
  const locate = yamlLocator(text);
  const unread = inlineSqlFiles(value, file, locate);
  if (unread.length) throw new SpecValidationError(file, unread);
  return parseOrExplain(PipelineSpec, value, file, locate);
}
