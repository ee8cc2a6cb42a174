// @ts-check
/**
 * Bench only (P5), loaded into the production worker process with `--require`: an HTTP endpoint on 127.0.0.1 that,
 * on each request, runs a full garbage collection in every isolate of the process (the main thread and each worker
 * thread, the workflow threads among them) through the in-process inspector, and answers with each one's V8 heap in
 * use afterwards. RSS sampled between collections counts garbage not yet collected, which makes a per-run figure
 * swing by hundreds of KiB; after this it counts what the runs hold. It prints `gc-probe listening on <port>`.
 * Plain CommonJS: worker threads inherit the process's `--require`, and there it does nothing.
 */
'use strict';
const http = require('node:http');
const { Session } = require('node:inspector/promises');
const { isMainThread } = require('node:worker_threads');

if (isMainThread) {
  const session = new Session();
  session.connect();

  /** Attached worker threads, by inspector session id. */
  const workers = new Set();
  /** @type {Map<number, (message: { result?: any, error?: unknown }) => void>} */
  const pending = new Map();
  let nextId = 1;

  session.on('NodeWorker.attachedToWorker', (m) => workers.add(m.params.sessionId));
  session.on('NodeWorker.detachedFromWorker', (m) => workers.delete(m.params.sessionId));
  session.on('NodeWorker.receivedMessageFromWorker', (m) => {
    const message = JSON.parse(m.params.message);
    if (message.id === undefined) return;
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  });

  /** @type {(sessionId: string, method: string) => Promise<any>} */
  const toWorker = (sessionId, method) => {
    const id = nextId++;
    const answer = new Promise((resolve, reject) =>
      pending.set(id, (m) => (m.error ? reject(new Error(JSON.stringify(m.error))) : resolve(m.result))),
    );
    void session.post('NodeWorker.sendMessageToWorker', { sessionId, message: JSON.stringify({ id, method }) });
    return answer;
  };

  /** A full collection everywhere, then the heap in use per isolate (bytes). */
  const collect = async () => {
    await session.post('HeapProfiler.collectGarbage');
    const main = (await session.post('Runtime.getHeapUsage')).usedSize;
    const used = [];
    for (const sessionId of workers) {
      await toWorker(sessionId, 'HeapProfiler.collectGarbage');
      used.push((await toWorker(sessionId, 'Runtime.getHeapUsage')).usedSize);
    }
    return { main, workers: used };
  };

  void session.post('NodeWorker.enable', { waitForDebuggerOnStart: false });
  const server = http.createServer((_req, res) => {
    collect().then(
      (heaps) => res.end(JSON.stringify(heaps)),
      (err) => {
        res.statusCode = 500;
        res.end(String(err));
      },
    );
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    console.log(`gc-probe listening on ${typeof address === 'object' && address ? address.port : '?'}`);
  });
  // The probe must not keep the worker alive once it shuts down.
  server.unref();
}
