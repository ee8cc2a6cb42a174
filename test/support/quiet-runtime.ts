// Loaded by `npm test` before every test file: keep worker logs to warnings so test output stays readable.
import { DefaultLogger, Runtime } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger(process.env.GLUELINE_TEST_LOG_LEVEL === 'debug' ? 'DEBUG' : 'WARN') });
