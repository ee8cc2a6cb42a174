import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createActivities } from '../../src/activities';
import type { GluelineActivities } from '../../src/workflow-safe/activity-types';
import { awsDeps, fakeClients } from '../../devstack/testkit/aws';

describe('createActivities', () => {
  test('builds every activity of the contract from one set of deps', () => {
    const activities = createActivities(awsDeps(fakeClients(() => ({})).aws));
    const expected: (keyof GluelineActivities)[] = [
      'copyObjects',
      'deleteObjects',
      'readManifest',
      'writeCopyManifest',
      'startGlueJobRun',
      'waitForGlueJobRun',
      'stopGlueJobRun',
      'startCrawler',
      'waitForCrawler',
      'executeStatements',
      'waitForStatement',
      'cancelStatement',
      'sendFailureEmail',
      'postFailureWebhook',
    ];
    assert.deepEqual(Object.keys(activities).sort(), [...expected].sort());
    for (const name of expected) assert.equal(typeof activities[name], 'function');
  });
});
