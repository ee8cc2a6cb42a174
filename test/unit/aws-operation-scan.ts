/**
 * Finds the AWS operations a process can send: every `new <Op>Command(...)` of an AWS SDK client in the code
 * reachable from its entry file. Reachability is by declaration, not by module: from the entry file's top-level
 * statements, each identifier a reached declaration names reaches the declaration it resolves to (in its own
 * file, or through a relative import), so a command that only reads one object of a module that can also
 * delete does not need the delete. A module's statements that run on import (anything but a function, class,
 * type or a variable initialised with a function) are reached whenever the module is. Any identifier counts,
 * property names included: the walk may reach more than is called, never less.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { SERVICE_OF_PACKAGE, TAGGING_OPERATIONS } from '../../src/provisioning/iam-actions';

const SRC = path.resolve(__dirname, '../../src');

/** The module file a relative import names, or undefined for a package. */
function resolveImport(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), specifier.replace(/\.js$/, ''));
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(candidate)) return candidate;
  throw new Error(`${from}: cannot resolve import '${specifier}'`);
}

/** What one module declares, imports and runs on import. */
interface ModuleInfo {
  /** Top-level declarations by name (a name may have several, e.g. an overload or a const and a type). */
  declarations: Map<string, ts.Node[]>;
  /** Local name → the module and exported name it is bound to ('*' for a namespace import). */
  imports: Map<string, { file: string; name: string }>;
  /** Exported name → the local name it exports, or the module and name it re-exports. */
  exports: Map<string, { local: string } | { file: string; name: string }>;
  /** The statements that run when the module is imported. */
  onImport: ts.Node[];
  /** SDK command class name → IAM service prefix, for this module's imports of `@aws-sdk/client-*`. */
  commandService: Map<string, string>;
}

const lazyInitialiser = (init: ts.Expression | undefined) =>
  init === undefined || ts.isArrowFunction(init) || ts.isFunctionExpression(init);

/** Long on purpose: one pass over a module's top-level statements, one branch per kind of statement. */
function readModule(file: string): ModuleInfo {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const info: ModuleInfo = {
    declarations: new Map(),
    imports: new Map(),
    exports: new Map(),
    onImport: [],
    commandService: new Map(),
  };
  const declare = (name: string, node: ts.Node) =>
    info.declarations.set(name, [...(info.declarations.get(name) ?? []), node]);
  const exported = (node: ts.Node) =>
    ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      const specifier = (statement.moduleSpecifier as ts.StringLiteral).text;
      const service = SERVICE_OF_PACKAGE[specifier];
      if (specifier.startsWith('@aws-sdk/client-') && !service) {
        throw new Error(`${file}: ${specifier} has no IAM service prefix in SERVICE_OF_PACKAGE`);
      }
      const target = resolveImport(file, specifier);
      const clause = statement.importClause;
      const bindings = clause?.namedBindings;
      if (target && !clause) info.imports.set(`<side effect ${target}>`, { file: target, name: '*' });
      if (bindings && ts.isNamespaceImport(bindings) && target) {
        info.imports.set(bindings.name.text, { file: target, name: '*' });
      }
      if (bindings && ts.isNamedImports(bindings)) {
        for (const b of bindings.elements) {
          const name = (b.propertyName ?? b.name).text;
          if (target) info.imports.set(b.name.text, { file: target, name });
          if (service) info.commandService.set(b.name.text, service);
        }
      }
      continue;
    }
    if (ts.isExportDeclaration(statement)) {
      const target = statement.moduleSpecifier
        ? resolveImport(file, (statement.moduleSpecifier as ts.StringLiteral).text)
        : undefined;
      if (statement.moduleSpecifier && !target) continue;
      const clause = statement.exportClause;
      if (!clause || !ts.isNamedExports(clause)) throw new Error(`${file}: export * is not followed by the scan`);
      for (const e of clause.elements) {
        const name = (e.propertyName ?? e.name).text;
        info.exports.set(e.name.text, target ? { file: target, name } : { local: name });
      }
      continue;
    }
    if (ts.isVariableStatement(statement)) {
      for (const d of statement.declarationList.declarations) {
        for (const name of bindingNames(d.name)) {
          declare(name, d);
          if (exported(statement)) info.exports.set(name, { local: name });
        }
        if (!lazyInitialiser(d.initializer)) info.onImport.push(d);
      }
      continue;
    }
    const named =
      ts.isFunctionDeclaration(statement) ||
      ts.isClassDeclaration(statement) ||
      ts.isInterfaceDeclaration(statement) ||
      ts.isTypeAliasDeclaration(statement) ||
      ts.isEnumDeclaration(statement);
    if (named && statement.name) {
      declare(statement.name.text, statement);
      if (exported(statement)) info.exports.set(statement.name.text, { local: statement.name.text });
      // A class's static members and decorators run on import.
      if (ts.isClassDeclaration(statement) || ts.isEnumDeclaration(statement)) info.onImport.push(statement);
      continue;
    }
    info.onImport.push(statement);
  }
  return info;
}

function bindingNames(name: ts.BindingName): string[] {
  if (ts.isIdentifier(name)) return [name.text];
  return name.elements.flatMap((e) => (ts.isOmittedExpression(e) ? [] : bindingNames(e.name)));
}

/** Whether a command's input has a Tagging parameter; an input the scan cannot read may have one. */
function mayTag(command: ts.NewExpression): boolean {
  const input = command.arguments?.[0];
  if (!input || !ts.isObjectLiteralExpression(input)) return true;
  return input.properties.some(
    (p) => ts.isSpreadAssignment(p) || (p.name !== undefined && ts.isIdentifier(p.name) && p.name.text === 'Tagging'),
  );
}

/**
 * Every AWS operation (`<service>:<Operation>`) the code reachable from `entry` (a path under src/) can send.
 * Long on purpose: one work-list walk; splitting it would pass its four sets around.
 */
export function operationsReachableFrom(entry: string): string[] {
  const modules = new Map<string, ModuleInfo>();
  const moduleOf = (file: string) => {
    let info = modules.get(file);
    if (!info) modules.set(file, (info = readModule(file)));
    return info;
  };
  const operations = new Set<string>();
  const reachedNodes = new Set<ts.Node>();
  const reachedNames = new Set<string>();
  const work: { file: string; node: ts.Node }[] = [];
  const reachModule = (file: string) => {
    if (reachedNames.has(`${file}#<module>`)) return;
    reachedNames.add(`${file}#<module>`);
    for (const node of moduleOf(file).onImport) work.push({ file, node });
  };
  /** Reach what `name` means in `file`: its own declaration, or what an import binds it to. */
  const reachLocal = (file: string, name: string) => {
    if (reachedNames.has(`${file}#local:${name}`)) return;
    reachedNames.add(`${file}#local:${name}`);
    const info = moduleOf(file);
    for (const node of info.declarations.get(name) ?? []) work.push({ file, node });
    const bound = info.imports.get(name);
    if (bound) reachExport(bound.file, bound.name);
  };
  const reachExport = (file: string, name: string) => {
    if (!file.startsWith(SRC) || reachedNames.has(`${file}#${name}`)) return;
    reachedNames.add(`${file}#${name}`);
    reachModule(file);
    const info = moduleOf(file);
    if (name === '*') {
      for (const exportedName of info.exports.keys()) reachExport(file, exportedName);
      return;
    }
    const target = info.exports.get(name);
    if (!target) throw new Error(`${file} has no export ${name} the scan can follow`);
    if ('local' in target) reachLocal(file, target.local);
    else reachExport(target.file, target.name);
  };
  const entryFile = path.join(SRC, entry);
  reachModule(entryFile);
  for (const [, bound] of moduleOf(entryFile).imports) if (bound.name === '*') reachExport(bound.file, '*');
  for (const name of moduleOf(entryFile).declarations.keys()) reachLocal(entryFile, name);
  while (work.length) {
    const { file, node } = work.pop()!;
    if (reachedNodes.has(node)) continue;
    reachedNodes.add(node);
    const info = moduleOf(file);
    const visit = (n: ts.Node) => {
      if (ts.isIdentifier(n)) reachLocal(file, n.text);
      if (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && n.expression.text.endsWith('Command')) {
        const service = info.commandService.get(n.expression.text);
        const operation = `${service}:${n.expression.text.replace(/Command$/, '')}`;
        if (service)
          operations.add(TAGGING_OPERATIONS.has(operation) && mayTag(n) ? `${operation}+Tagging` : operation);
      }
      ts.forEachChild(n, visit);
    };
    visit(node);
  }
  return [...operations].sort();
}

/** The operations of every module imported from `entry`, transitively: what the scan found before it went by
 * declaration, kept to show that the finer walk only leaves out what no reached declaration names. */
export function operationsOfImportedModules(entry: string): string[] {
  const seen = new Set<string>();
  const operations = new Set<string>();
  const queue = [path.join(SRC, entry)];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file) || !file.startsWith(SRC)) continue;
    seen.add(file);
    const info = readModule(file);
    const source = fs.readFileSync(file, 'utf8');
    for (const [name, service] of info.commandService) {
      if (name.endsWith('Command') && new RegExp(`new ${name}\\b`).test(source)) {
        operations.add(`${service}:${name.replace(/Command$/, '')}`);
      }
    }
    for (const bound of info.imports.values()) queue.push(bound.file);
    for (const target of info.exports.values()) if ('file' in target) queue.push(target.file);
  }
  return [...operations].sort();
}
