/**
 * The size rules of the layout (issue #13): no file in src/ over 400 lines and no function over 80, except
 * where a comment that starts with `Long on purpose:` says why. A newcomer reads a file in one sitting and a
 * function on one screen.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import ts from 'typescript';

const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 80;
const EXCUSE = /Long on purpose:/;

interface Oversize {
  where: string;
  lines: number;
}

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
    );
}

/** Files and functions of `text` over the limits, unless excused by a comment. */
export function oversized(fileName: string, text: string): Oversize[] {
  const found: Oversize[] = [];
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const lineOf = (pos: number) => source.getLineAndCharacterOfPosition(pos).line + 1;
  const fileLines = text.split('\n').length;
  if (fileLines > MAX_FILE_LINES && !EXCUSE.test(text.slice(0, 2000)))
    found.push({ where: fileName, lines: fileLines });
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const lines = lineOf(node.getEnd()) - lineOf(node.getStart(source)) + 1;
      // The excuse sits in the comments before the function (or before the statement that holds it).
      const holder = ts.isVariableDeclaration(node.parent) ? node.parent.parent.parent : node;
      const comments = text.slice(holder.getFullStart(), holder.getStart(source));
      if (lines > MAX_FUNCTION_LINES && !EXCUSE.test(comments)) {
        const name = ts.isVariableDeclaration(node.parent)
          ? node.parent.name.getText(source)
          : ((node as ts.FunctionLikeDeclaration).name?.getText(source) ?? '(anonymous)');
        found.push({ where: `${fileName}:${lineOf(node.getStart(source))} ${name}`, lines });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('code size', () => {
  test('no file in src/ is over 400 lines and no function over 80, unless a comment says why', () => {
    const root = path.join(__dirname, '..', '..');
    const found = sourceFiles(path.join(root, 'src')).flatMap((file) =>
      oversized(path.relative(root, file), fs.readFileSync(file, 'utf8')),
    );
    assert.deepEqual(
      found.map((o) => `${o.where}: ${o.lines} lines`),
      [],
    );
  });

  test('the check finds a long function and accepts one whose comment says why', () => {
    const body = Array.from({ length: 85 }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const long = `export function big() {\n${body}\n}\n`;
    assert.deepEqual(
      oversized('x.ts', long).map((o) => o.where),
      ['x.ts:1 big'],
    );
    assert.deepEqual(oversized('x.ts', `// Long on purpose: one table.\n${long}`), []);
    const arrow = `export const big = () => {\n${body}\n};\n`;
    assert.deepEqual(
      oversized('x.ts', arrow).map((o) => o.where),
      ['x.ts:1 big'],
    );
  });

  test('the check finds a long file', () => {
    const text = Array.from({ length: 401 }, (_, i) => `export const v${i} = ${i};`).join('\n');
    assert.deepEqual(
      oversized('y.ts', text).map((o) => o.lines),
      [401],
    );
  });
});
