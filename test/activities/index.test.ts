import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createActivities } from '../../src/activities';
import type { GluelineActivities } from '../../src/workflow-safe/activity-types';
import { awsDeps, fakeClients } from '../../devstack/testkit/aws';

describe('createActivities', () => {
  test('builds every activity of the contract from one set of deps', () => {
    const activities = createActivities(awsDeps(fakeClients(() => ({})).aws));
    // Every activity of the contract, checked by the compiler: a new one in GluelineActivities fails tsc here.
    const contract: Record<keyof GluelineActivities, true> = {
      copyObjects: true,
      deleteObjects: true,
      readManifest: true,
      readManifestSummary: true,
      writeCopyManifest: true,
      startGlueJobRun: true,
      waitForGlueJobRun: true,
      stopGlueJobRun: true,
      startCrawler: true,
      waitForCrawler: true,
      executeStatements: true,
      waitForStatement: true,
      cancelStatement: true,
      sendFailureEmail: true,
      postFailureWebhook: true,
      checkFreshness: true,
    };
    const expected = Object.keys(contract) as (keyof GluelineActivities)[];
    assert.deepEqual(Object.keys(activities).sort(), [...expected].sort());
    for (const name of expected) assert.equal(typeof activities[name], 'function');
  });
});
