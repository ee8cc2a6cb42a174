import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { repoRoot } from '../../devstack/paths';
import { SPEC_REFERENCE, specJsonSchema, specReferenceFiles } from '../../scripts/spec-reference';

const specs = path.join(repoRoot, 'specs');
const specFiles = fs.readdirSync(specs).filter((n) => /\.ya?ml$/.test(n));

describe('the spec reference', () => {
  test(`the committed JSON Schema and reference page are what ${SPEC_REFERENCE.command} writes`, async () => {
    for (const { file, text } of await specReferenceFiles()) {
      const committed = fs.readFileSync(path.join(repoRoot, file), 'utf8');
      assert.ok(committed === text, `${file} is stale: run ${SPEC_REFERENCE.command} and commit the result`);
    }
  });

  test('every example spec names the JSON Schema for the YAML language server on its first line', () => {
    for (const name of specFiles) {
      const first = fs.readFileSync(path.join(specs, name), 'utf8').split('\n')[0];
      assert.equal(first, '# yaml-language-server: $schema=../schema/glueline-spec.schema.json', name);
    }
  });

  describe('the JSON Schema, as a JSON Schema validator (an editor) reads it', () => {
    const validate = new Ajv({ strict: false, allErrors: true }).compile(specJsonSchema());
    const local = () =>
      parse(fs.readFileSync(path.join(specs, 'local-sales.yaml'), 'utf8')) as {
        transform: object;
        regions: object[];
      } & Record<string, unknown>;

    test('accepts every example spec', () => {
      for (const name of specFiles) {
        const ok = validate(parse(fs.readFileSync(path.join(specs, name), 'utf8')));
        assert.ok(ok, `${name}: ${JSON.stringify(validate.errors)}`);
      }
    });

    test('marks a misspelt field, a misspelt region and a value out of range', () => {
      const spec = local();
      const bad = {
        ...spec,
        transform: { ...spec.transform, colums: [] },
        regions: [{ ...spec.regions[0], region: 'eu-wset-1' }],
        copy: { concurrency: 0 },
      };
      assert.equal(validate(bad), false);
      const found = (validate.errors ?? []).map((e) => `${e.instancePath} ${e.keyword} ${JSON.stringify(e.params)}`);
      assert.ok(
        found.some((f) => f.startsWith('/transform additionalProperties {"additionalProperty":"colums"}')),
        found.join('\n'),
      );
      assert.ok(
        found.some((f) => f.startsWith('/regions/0/region enum')),
        found.join('\n'),
      );
      assert.ok(
        found.some((f) => f.startsWith('/copy/concurrency minimum')),
        found.join('\n'),
      );
    });

    test('leaves out of required every field that has a default', () => {
      assert.equal(validate({ ...local(), raw: { crawler: 'c' } }), true, JSON.stringify(validate.errors));
    });
  });
});
