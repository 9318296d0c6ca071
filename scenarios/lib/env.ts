// What perf passes to every scenario through the environment (src/load/load-phase.ts).
export const BASE_URL: string = __ENV.PERF_BASE_URL || 'http://127.0.0.1:3000';
export const WS_URL: string = __ENV.PERF_WS_URL || BASE_URL.replace(/^http/, 'ws') + '/ws';
/** Scopes test data to one run, so concurrent or repeated runs never share users. */
export const RUN_ID: string = __ENV.PERF_RUN_ID || 'local';
export const USERS: number = Number(__ENV.PERF_USERS || 15);
