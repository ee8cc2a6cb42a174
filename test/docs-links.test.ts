/**
 * The docs stay a map a clone can follow: every relative link in README.md, docs/ and every README.md beside the
 * code resolves to a file (and heading) inside the repository, and README.md stays at most 15 KB.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '../devstack/paths';

/** The README's size limit: a map, not a manual. */
const README_MAX_BYTES = 15 * 1024;

/** Folders never searched for docs: installed or generated, not the project's own. */
const SKIPPED_DIRS = new Set(['node_modules', '.devtools', '.devstack', '.git', 'dist']);

/** README.md, docs/**\/*.md and every README.md in the repository, relative to `root`. */
function docFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name) && !rel.startsWith(path.join('bench', 'results'))) walk(rel);
      } else if (entry.name === 'README.md' || (rel.startsWith(`docs${path.sep}`) && entry.name.endsWith('.md'))) {
        found.push(rel);
      }
    }
  };
  walk('.');
  return found.map((f) => path.normalize(f)).sort();
}

/** Markdown without fenced code blocks and inline code, where `[x](y)` is not a link. */
function withoutCode(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor for each heading of a Markdown file (lowercase, punctuation dropped, spaces to dashes, -N for repeats). */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').split('\n')) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const text = heading[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/**
 * Every problem with the relative links of `files` (paths relative to `root`): a target outside `root`, an absolute
 * path, a missing file, or an anchor no heading of the target has. Links with a scheme (https:, mailto:) are not
 * checked. Returns one line per problem naming the file, the link and why.
 */
export function linkProblems(root: string, files: string[]): string[] {
  const problems: string[] = [];
  const rootAbs = path.resolve(root);
  for (const file of files) {
    const text = fs.readFileSync(path.join(rootAbs, file), 'utf8');
    for (const match of withoutCode(text).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const link = match[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue;
      const [target = '', anchor] = link.split('#', 2) as [string, string | undefined];
      if (target.startsWith('/')) {
        problems.push(`${file}: ${link}: an absolute path; use a path relative to ${file}`);
        continue;
      }
      const resolved =
        target === '' ? path.join(rootAbs, file) : path.resolve(rootAbs, path.dirname(file), decodeURI(target));
      const inside = path.relative(rootAbs, resolved);
      if (inside.startsWith('..') || path.isAbsolute(inside)) {
        problems.push(`${file}: ${link}: points outside the repository (to ${resolved}); a clone does not have it`);
        continue;
      }
      if (!fs.existsSync(resolved)) {
        problems.push(`${file}: ${link}: ${inside} does not exist`);
        continue;
      }
      if (anchor !== undefined && resolved.endsWith('.md')) {
        const anchors = headingAnchors(fs.readFileSync(resolved, 'utf8'));
        if (!anchors.has(anchor))
          problems.push(`${file}: ${link}: ${inside} has no heading #${anchor} (it has: ${[...anchors].join(', ')})`);
      }
    }
  }
  return problems;
}

describe('docs links', () => {
  test('the docs include README.md, docs/ and the READMEs beside the code', () => {
    const files = docFiles(repoRoot);
    for (const expected of ['README.md', 'docs/architecture.md', 'devstack/README.md', 'glue/README.md'])
      assert.ok(files.includes(path.normalize(expected)), `${expected} not found among ${files.join(', ')}`);
    assert.ok(!files.some((f) => f.split(path.sep).includes('node_modules')), 'node_modules must be skipped');
  });

  test('every relative link resolves inside the repository', () => {
    assert.deepEqual(linkProblems(repoRoot, docFiles(repoRoot)), []);
  });

  test('README.md is a map: at most 15 KB', () => {
    const bytes = fs.statSync(path.join(repoRoot, 'README.md')).size;
    assert.ok(
      bytes <= README_MAX_BYTES,
      `README.md is ${bytes} bytes; move reference material to docs/ (limit ${README_MAX_BYTES})`,
    );
  });

  test('the checker finds a link outside the repository, a missing file, a missing anchor and an absolute path', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'docs-links-'));
    try {
      fs.mkdirSync(path.join(root, 'docs'));
      fs.writeFileSync(path.join(root, 'docs', 'guide.md'), '# Guide\n\n## Running it (`npm run x`)\n');
      fs.writeFileSync(
        path.join(root, 'README.md'),
        [
          '[ok](docs/guide.md) [ok anchor](docs/guide.md#running-it-npm-run-x) [web](https://example.com)',
          '[shared](../shared/DESIGN.md) [missing](docs/nope.md) [bad anchor](docs/guide.md#nowhere) [abs](/etc/hosts)',
          '`[in code](not/checked.md)`',
          '```',
          '[in a block](not/checked/either.md)',
          '```',
        ].join('\n'),
      );
      const problems = linkProblems(root, ['README.md', path.join('docs', 'guide.md')]);
      assert.equal(problems.length, 4, problems.join('\n'));
      assert.match(problems[0]!, /\.\.\/shared\/DESIGN\.md: points outside the repository/);
      assert.match(problems[1]!, /docs\/nope\.md does not exist/);
      assert.match(problems[2]!, /has no heading #nowhere/);
      assert.match(problems[3]!, /\/etc\/hosts: an absolute path/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('anchors follow GitHub: punctuation dropped, repeats numbered', () => {
    assert.deepEqual(
      [...headingAnchors('# Reliability (`npm run reliability`)\n## A: b\n## A: b\n```\n# not a heading\n```\n')],
      ['reliability-npm-run-reliability', 'a-b', 'a-b-1'],
    );
  });
});
