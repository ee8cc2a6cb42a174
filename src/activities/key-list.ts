/**
 * The key-list object a batch's input names (src/workflow-safe/key-list.ts): read, parsed and checked against the
 * count and checksum of the input, or InvalidInput naming the object and what is wrong, before anything is copied.
 */
import { awsErrorName } from '../aws/errors';
import { getObjectText } from '../aws/s3-objects';
import { invalidInput } from '../workflow-safe/failures';
import { s3Uri } from '../workflow-safe/layout';
import { keysChecksum } from '../workflow-safe/manifest-files';
import { KeyListKeys, type KeyListRef } from '../workflow-safe/run-input';
import type { ActivityDeps } from './deps';
import { cancellable, s3Calls } from './s3-calls';

/** The keys the key-list object `ref` lists, when they are the ones the input counted; else InvalidInput. */
export async function keyListKeys(deps: ActivityDeps, ref: KeyListRef): Promise<string[]> {
  const where = s3Uri(ref.bucket, ref.key);
  const fix = 'start the batch again with glueline run, which writes the key list before it starts the run';
  const text = await s3Calls(async () => {
    try {
      return await getObjectText(deps.aws.s3(ref.region), ref, cancellable());
    } catch (err) {
      if (awsErrorName(err) !== 'NoSuchKey') throw err;
      throw invalidInput(`key list ${where} (${ref.region}) does not exist: ${fix}`, { keyList: ref });
    }
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalidInput(`key list ${where} is not JSON (${(err as Error).message}): ${fix}`, { keyList: ref });
  }
  const parsed = KeyListKeys.safeParse(json);
  if (!parsed.success) {
    const problem = parsed.error.issues[0]!;
    throw invalidInput(
      `key list ${where} is not a JSON array of object keys: [${problem.path.join('.')}] ${problem.message}; ${fix}`,
      { keyList: ref },
    );
  }
  const keys = parsed.data;
  const checksum = keysChecksum(keys);
  if (keys.length !== ref.count || checksum !== ref.checksum) {
    throw invalidInput(
      `key list ${where} lists ${keys.length} keys (checksum ${checksum}), not the ${ref.count} ` +
        `(checksum ${ref.checksum}) the run's input names: it was changed since; ${fix}`,
      { keyList: ref },
    );
  }
  return keys;
}
