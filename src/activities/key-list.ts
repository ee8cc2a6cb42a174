/**
 * The key-list object a batch's input names (src/workflow-safe/key-list.ts): read, parsed and checked against the
 * count and checksum of the input, or InvalidInput naming the object and what is wrong, before anything is copied.
 */
import { invalidInput } from '../workflow-safe/failures';
import { s3Uri } from '../workflow-safe/layout';
import { KeyListKeys, type KeyListRef } from '../workflow-safe/run-input';
import type { ActivityDeps } from './deps';
import { checkListed, problemText, readJsonObject, type ObjectProblem } from './listed-object';

/** The keys the key-list object `ref` lists, when they are the ones the input counted; else InvalidInput. */
export async function keyListKeys(deps: ActivityDeps, ref: KeyListRef): Promise<string[]> {
  const words = { shape: 'a JSON array of object keys', items: 'keys', expected: "the run's input names" };
  const fail = (problem: ObjectProblem) =>
    invalidInput(
      `key list ${s3Uri(ref.bucket, ref.key)} (${ref.region}) ${problemText(problem, words)}` +
        `${problem.kind === 'other-keys' || problem.kind === 'rewritten' ? ': it was changed since' : ''}; ` +
        'start the batch again with glueline run, which writes the key list before it starts the run',
      { keyList: ref },
    );
  const keys = (await readJsonObject(deps, ref, KeyListKeys, fail)).value;
  checkListed(keys, ref, fail);
  return keys;
}
