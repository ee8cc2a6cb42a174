import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tuningOptions } from '../../src/worker';
import { ConfigError, loadConfig } from '../../src/worker/config';

const VALID = {
  SMTP_URL: 'smtps://glueline:s3cret-pw@smtp.example.com:465',
  TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml',
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('the configuration was accepted');
}

describe('worker configuration', () => {
  test('a missing SMTP_URL is an error naming the variable and the fix', () => {
    const [problem, ...rest] = problemsOf({ TEMPORAL_CONFIG_FILE: VALID.TEMPORAL_CONFIG_FILE });
    assert.deepEqual(rest, []);
    assert.match(problem!, /^SMTP_URL: is required: set it to smtp:\/\/user:password@host:587/);
  });

  test('a bad SMTP_URL is reported without echoing its credentials', () => {
    const [problem] = problemsOf({ ...VALID, SMTP_URL: 'http://glueline:s3cret-pw@smtp.example.com' });
    assert.match(problem!, /^SMTP_URL: \(value hidden: it holds a secret\) is not an smtp:\/\/ or smtps:\/\/ URL/);
    assert.doesNotMatch(problem!, /s3cret-pw/);
  });

  test('a bad metrics address names the variable, the value and the fix', () => {
    const [problem] = problemsOf({ ...VALID, GLUELINE_METRICS_BIND: 'port 9464' });
    assert.equal(
      problem,
      'GLUELINE_METRICS_BIND: "port 9464" is not host:port: use, for example, 0.0.0.0:9464, or unset it to turn metrics off',
    );
  });

  test('a cache size that is not a whole number names the variable, the value and the fix', () => {
    const [problem] = problemsOf({ ...VALID, GLUELINE_MAX_CACHED_WORKFLOWS: '1.5' });
    assert.equal(
      problem,
      'GLUELINE_MAX_CACHED_WORKFLOWS: "1.5" is not a whole number of workflows: use, for example, 100',
    );
  });

  test('GLUELINE_FALLBACK_NOTIFY_EMAIL is a list of addresses, sent from the first unless FROM is set', () => {
    assert.equal(loadConfig(VALID).fallbackNotifyEmail, undefined);
    assert.deepEqual(
      loadConfig({ ...VALID, GLUELINE_FALLBACK_NOTIFY_EMAIL: 'ops@example.com, b@example.com' }).fallbackNotifyEmail,
      {
        to: ['ops@example.com', 'b@example.com'],
        from: 'ops@example.com',
      },
    );
    const both = {
      ...VALID,
      GLUELINE_FALLBACK_NOTIFY_EMAIL: 'ops@example.com',
      GLUELINE_FALLBACK_NOTIFY_FROM: 'g@example.com',
    };
    assert.equal(loadConfig(both).fallbackNotifyEmail?.from, 'g@example.com');
    const [problem] = problemsOf({ ...VALID, GLUELINE_FALLBACK_NOTIFY_EMAIL: 'ops at example' });
    assert.equal(
      problem,
      'GLUELINE_FALLBACK_NOTIFY_EMAIL: "ops at example" is not a comma-separated list of email addresses: use, for example, data-ops@example.com',
    );
  });

  test('every bad variable is reported at once', () => {
    const problems = problemsOf({ ...VALID, GLUELINE_AWS_ENDPOINT: 'localhost:4566', GLUELINE_LOG_LEVEL: 'LOUD' });
    assert.deepEqual(
      problems.map((p) => p.split(':')[0]),
      ['GLUELINE_AWS_ENDPOINT', 'GLUELINE_LOG_LEVEL'],
    );
  });

  test('a minimal environment gets the documented defaults and logs only the SMTP host', () => {
    const config = loadConfig(VALID);
    assert.equal(config.taskQueue, 'glueline');
    assert.equal(config.temporal.namespace, 'default');
    assert.equal(config.temporal.connectionOptions.address, '127.0.0.1:7233');
    assert.equal(config.smtpHost, 'smtp.example.com:465');
    assert.equal(config.shutdownGraceMs, 30_000);
    assert.equal(config.maxCachedWorkflows, 100);
    assert.equal(config.maxConcurrentActivityTaskExecutions, 1000);
    assert.equal(config.heartbeatIntervalMs, 1000);
    assert.equal(config.metricsBind, undefined);
    assert.equal(config.awsEndpoint, undefined);
  });

  test('TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and TEMPORAL_API_KEY reach the connection through envconfig', () => {
    const config = loadConfig({
      ...VALID,
      TEMPORAL_ADDRESS: 'acme.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'acme.a1b2c',
      TEMPORAL_API_KEY: 'key-123',
    });
    assert.equal(config.temporal.connectionOptions.address, 'acme.a1b2c.tmprl.cloud:7233');
    assert.equal(config.temporal.namespace, 'acme.a1b2c');
    assert.equal(config.temporal.connectionOptions.apiKey, 'key-123');
  });

  test('the secrets to scrub from notifications are the SMTP password, the tokens and the AWS secret key', () => {
    const config = loadConfig({
      ...VALID,
      SMTP_URL: 'smtp://glueline:p%40ss@smtp.example.com:587',
      GLUELINE_WEBHOOK_TOKEN: 'hook-token',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'aws-secret',
    });
    assert.deepEqual(config.secretsToRedact, ['p@ss', 'hook-token', 'aws-secret']);
  });

  test('GLUELINE_HEARTBEAT_INTERVAL_MS sets both heartbeat throttles; below a second or above a minute is refused', () => {
    const options = tuningOptions(loadConfig({ ...VALID, GLUELINE_HEARTBEAT_INTERVAL_MS: '2500' }));
    assert.equal(options.maxHeartbeatThrottleInterval, 2500);
    assert.equal(options.defaultHeartbeatThrottleInterval, 2500);
    const problems = [
      ...problemsOf({ ...VALID, GLUELINE_HEARTBEAT_INTERVAL_MS: '200' }),
      ...problemsOf({ ...VALID, GLUELINE_HEARTBEAT_INTERVAL_MS: '120000' }),
    ];
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0]!, /^GLUELINE_HEARTBEAT_INTERVAL_MS: "200" is below 1000/);
    assert.match(problems[1]!, /^GLUELINE_HEARTBEAT_INTERVAL_MS: "120000" is above 60000/);
  });

  test('empty variables count as unset', () => {
    const config = loadConfig({ ...VALID, GLUELINE_METRICS_BIND: '', GLUELINE_WEBHOOK_TOKEN: '' });
    assert.equal(config.metricsBind, undefined);
    assert.equal(config.webhookToken, undefined);
  });
});
