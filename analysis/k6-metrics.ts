import type { MetricType } from './metric-store.ts';

/**
 * k6's built-in metrics and their types: the one list perf keeps of them. Every k6 run has
 * these (so a threshold on one is always valid), a CSV sample of one needs no summary to
 * be typed, and a `count` gate on a Counter sums values rather than counting samples.
 */
export const K6_BUILTIN_METRICS: Readonly<Record<string, MetricType>> = {
  http_reqs: 'counter',
  http_req_duration: 'trend',
  http_req_blocked: 'trend',
  http_req_connecting: 'trend',
  http_req_tls_handshaking: 'trend',
  http_req_sending: 'trend',
  http_req_waiting: 'trend',
  http_req_receiving: 'trend',
  http_req_failed: 'rate',
  iterations: 'counter',
  iteration_duration: 'trend',
  dropped_iterations: 'counter',
  vus: 'gauge',
  vus_max: 'gauge',
  data_sent: 'counter',
  data_received: 'counter',
  checks: 'rate',
  ws_connecting: 'trend',
  ws_session_duration: 'trend',
  ws_sessions: 'counter',
  ws_msgs_sent: 'counter',
  ws_msgs_received: 'counter',
  ws_ping: 'trend',
};

export function isK6Builtin(metric: string): boolean {
  return Object.hasOwn(K6_BUILTIN_METRICS, metric);
}

export function isK6Counter(metric: string): boolean {
  return K6_BUILTIN_METRICS[metric] === 'counter';
}

/** k6's built-in types, overridden by `types` (from a summary or the sample file itself). */
export function typesWithBuiltins(types: Map<string, MetricType>): Map<string, MetricType> {
  const all = new Map<string, MetricType>(Object.entries(K6_BUILTIN_METRICS));
  for (const [k, v] of types) all.set(k, v);
  return all;
}
