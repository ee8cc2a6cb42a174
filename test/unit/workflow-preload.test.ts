import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { PRELOADED } from '../../src/workflow-safe/preload';
import { PipelineInput } from '../../src/workflow-safe/run-input';
import { z } from 'zod';
import { testInput } from '../../devstack/testkit/workflow-harness';

const dir = path.join(__dirname, '../../src/workflow-safe');

/** What the SDK does to preloaded modules' exports before any run (reusable-vm.js): freeze, depth first. */
function sdkDeepFreeze(object: unknown, visited = new WeakSet<object>()): void {
  if (object === null || (typeof object !== 'object' && typeof object !== 'function')) return;
  if (visited.has(object) || Object.isFrozen(object)) return;
  visited.add(object);
  if (typeof object === 'object')
    for (const name of [...Object.getOwnPropertyNames(object), ...Object.getOwnPropertySymbols(object)]) {
      try {
        sdkDeepFreeze((object as Record<string | symbol, unknown>)[name], visited);
      } catch {
        // As the SDK: some objects cannot be frozen.
      }
    }
  Object.freeze(object);
}

describe('the modules every workflow run shares (src/workflow-safe/preload.ts)', () => {
  test('lists every file of src/workflow-safe, so none is evaluated again for each cached run', () => {
    const files = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && f !== 'preload.ts')
      .map((f) => f.replace(/\.ts$/, ''));
    assert.deepEqual(Object.keys(PRELOADED).sort(), files.sort());
  });

  test("the schemas still parse after the SDK's deep freeze of what preloaded modules export", () => {
    // zod's modules are preloaded with them (shared, and frozen the same way).
    for (const exports of [...Object.values(PRELOADED), z]) sdkDeepFreeze({ exports });
    assert.ok(Object.isFrozen(PRELOADED['run-input']));
    const parsed = PipelineInput.safeParse(testInput());
    assert.equal(parsed.success, true, parsed.error?.message);
    const refused = PipelineInput.safeParse({ ...testInput(), batch: { id: '../x', source: { bucket: 'B' } } });
    assert.equal(refused.success, false);
    assert.match(refused.error?.message ?? '', /batch/);
  });
});
