// Custom metrics shared by the scenarios. Gates in perf.config.ts name them.
import { Counter, Rate, Trend } from 'k6/metrics';

/** 1 when a response held only the caller's own data, 0 on any crossover. Gated at 100 %. */
export const dataIsolation = new Rate('data_isolation');
/** Resources the load created successfully, tagged `kind`: reconciled with PostgreSQL after load (`database.reconcile.resources`). */
export const resourcesCreated = new Counter('resources_created');
/** Resources the load deleted, tagged `kind`. */
export const resourcesDeleted = new Counter('resources_deleted');

/** 1 when the socket opened and the server greeted with a session within the time budget. */
export const wsSessionEstablished = new Rate('ws_session_established');
/** 1 when a run's agent events arrived complete and in order (runs with a session). Gated at 100 %. */
export const wsEventOrder = new Rate('ws_event_order');
/** 1 when every event of a run carried this user's id and session. Gated at 100 %. */
export const wsEventOwnership = new Rate('ws_event_ownership');
/** From sending `run` to the first agent event. */
export const wsTimeToFirstEvent = new Trend('ws_time_to_first_event', true);
/** From sending `run` to each event, tagged with the event type. */
export const wsEventLatency = new Trend('ws_event_latency', true);
