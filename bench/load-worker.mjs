// The load generator, forked by bench/run.mjs and bench/soak.mjs (through harness.mjs) so that it
// never shares an event loop with what it measures. It receives one scenario over IPC, runs a
// warm-up and a measured autocannon run, and answers with a summary. Scenario data (pre-signed
// bodies, token pools) comes in a JSON file.
//
// Optional in the message: overallRate (autocannon's overall requests per second, for both runs),
// timeline (answers, and non-2xx answers, per second of the measured run), notifyStart (sends
// { event: 'measuring' } as the measured run starts). warmupSeconds null skips the warm-up.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';

const SESSION_PATH = '/auth/api/v1/authentication-management/session';
const INTROSPECT_PATH = '/auth/api/v1/token/introspect';
const WALLET_LOGIN_PATH = '/api/auth/login';
const JSON_HEADERS = { 'content-type': 'application/json' };
const SAMPLES_PER_STATUS = 3;

/** The first few bodies of each non-2xx status, per run, to say why a scenario failed. */
function makeRecorder() {
  return {
    samples: {},
    /** Answers that were 2xx but wrong (an introspection saying active: false). */
    wrong2xx: 0,
    record(status, body) {
      if (status >= 200 && status < 300) return;
      const list = (this.samples[status] ??= []);
      if (list.length < SAMPLES_PER_STATUS) list.push(String(body).slice(0, 300));
    },
  };
}

/** Each scenario returns autocannon `requests` and a stats object merged into the answer. */
const scenarios = {
  login(data, recorder) {
    let next = 0;
    return {
      stats: {},
      requests: [
        {
          method: 'POST',
          // The floor serves its login that persists the session at a path of its own.
          path: data.path ?? SESSION_PATH,
          headers: JSON_HEADERS,
          setupRequest(req) {
            req.body = data.bodies[next++ % data.bodies.length];
            return req;
          },
          onResponse: (status, body) => recorder.record(status, body),
        },
      ],
    };
  },

  // Every refresh token is presented once: a request takes a token from the queue and its 200
  // puts the child token back, so the queue holds exactly the live ends of the pooled sessions.
  refresh(data, recorder) {
    const queue = [...data.tokens];
    const stats = { poolSize: queue.length, poolExhausted: 0 };
    let lastToken = queue[0];
    return {
      stats,
      requests: [
        {
          method: 'PATCH',
          path: SESSION_PATH,
          setupRequest(req) {
            let token = queue.shift();
            if (token === undefined) {
              stats.poolExhausted += 1;
              token = lastToken;
            }
            lastToken = token;
            req.headers = { authorization: token };
            return req;
          },
          onResponse(status, body) {
            recorder.record(status, body);
            if (status === 200) queue.push(JSON.parse(body).data.refreshToken);
          },
        },
      ],
    };
  },

  introspect(data, recorder) {
    let next = 0;
    const headers = { ...JSON_HEADERS, authorization: `Bearer ${data.bearer}` };
    const bodies = data.tokens.map((token) => JSON.stringify({ token }));
    return {
      stats: {},
      requests: [
        {
          method: 'POST',
          path: INTROSPECT_PATH,
          headers,
          setupRequest(req) {
            req.body = bodies[next++ % bodies.length];
            return req;
          },
          onResponse(status, body) {
            recorder.record(status, body);
            if (status === 200 && !body.includes('"active":true')) {
              recorder.wrong2xx += 1;
              if (recorder.wrong2xx <= SAMPLES_PER_STATUS) (recorder.samples['200-inactive'] ??= []).push(body.slice(0, 300));
            }
          },
        },
      ],
    };
  },

  // Each (wallet, timestamp) is accepted once: when the pre-signed bodies run out the run stops
  // early (its duration says so) rather than measure replays.
  'wallet-login'(data, recorder, control) {
    let next = 0;
    const stats = { poolSize: data.bodies.length, poolExhausted: 0 };
    return {
      stats,
      requests: [
        {
          method: 'POST',
          path: WALLET_LOGIN_PATH,
          headers: JSON_HEADERS,
          setupRequest(req) {
            if (next >= data.bodies.length) {
              stats.poolExhausted += 1;
              control.stop();
              req.body = data.bodies[data.bodies.length - 1];
              return req;
            }
            req.body = data.bodies[next++];
            return req;
          },
          onResponse: (status, body) => recorder.record(status, body),
        },
      ],
    };
  },
};

function runOnce(options, requests, control, timeline) {
  return new Promise((resolve, reject) => {
    const instance = autocannon({ ...options, requests }, (error, result) => (error ? reject(error) : resolve(result)));
    control.stop = () => instance.stop();
    if (timeline) {
      const started = performance.now();
      instance.on('response', (_client, statusCode) => {
        const second = Math.floor((performance.now() - started) / 1000);
        while (timeline.responses.length <= second) {
          timeline.responses.push(0);
          timeline.non2xx.push(0);
        }
        timeline.responses[second] += 1;
        if (statusCode < 200 || statusCode >= 300) timeline.non2xx[second] += 1;
      });
    }
  });
}

const NO_RUN = { requests: { average: 0, total: 0 }, duration: 0, latency: {}, errors: 0, timeouts: 0, non2xx: 0, statusCodeStats: {} };

function summarize(result) {
  const statusCounts = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count]));
  return {
    requestsPerSecond: result.requests.average,
    totalRequests: result.requests.total,
    durationSeconds: result.duration,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, mean: result.latency.average },
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCounts,
  };
}

process.on('message', async (message) => {
  try {
    const data = JSON.parse(readFileSync(message.dataFile, 'utf8'));
    const control = { stop: () => undefined };
    const base = { url: message.url, connections: message.connections, pipelining: 1, timeout: 10 };
    if (message.overallRate) base.overallRate = message.overallRate;
    const build = scenarios[message.scenario];
    if (!build) throw new Error(`unknown scenario ${message.scenario}`);

    const recorder = makeRecorder();
    // One scenario state for both runs: the measured run continues the warm-up's token queue and body cursor.
    const { requests, stats } = build(data, recorder, control);
    const warmup = message.warmupSeconds !== null ? await runOnce({ ...base, duration: message.warmupSeconds }, requests, control) : NO_RUN;
    const warmupSamples = recorder.samples;
    const warmupWrong = recorder.wrong2xx;
    recorder.samples = {};
    recorder.wrong2xx = 0;
    // hrtime is one monotonic clock for every process here: run.mjs uses it to find this window in CPU profiles.
    const windowStartMs = Number(process.hrtime.bigint()) / 1e6;
    if (message.notifyStart) process.send({ event: 'measuring' });
    const timeline = message.timeline ? { responses: [], non2xx: [] } : undefined;
    const measured = await runOnce({ ...base, duration: message.durationSeconds }, requests, control, timeline);
    const windowEndMs = Number(process.hrtime.bigint()) / 1e6;
    process.send({
      ok: true,
      warmup: { ...summarize(warmup), wrong2xx: warmupWrong, non2xxSamples: warmupSamples },
      result: { ...summarize(measured), wrong2xx: recorder.wrong2xx, non2xxSamples: recorder.samples, ...stats, ...(timeline && { perSecond: timeline }) },
      window: { startMs: windowStartMs, endMs: windowEndMs },
    });
  } catch (error) {
    process.send({ ok: false, error: error.stack ?? String(error) });
  } finally {
    process.disconnect();
  }
});
