import type { InfluxSession } from '../influx/influx.ts';
import { checkPoint, phaseBeginPoint, phaseEndPoint, runBeginPoint, windowPoints } from '../influx/influx-points.ts';
import type { Redactor } from '../redact/redact.ts';
import type { Reporter } from './reporter.ts';

/**
 * Coordinator events into InfluxDB, as annotation points on the run's time axis: run and
 * phase begin/end, every check's result, and the load phase's per-window figures. Enabled
 * by configuration (an InfluxDB URL), not by `--reporter`: run.ts adds it next to the
 * selected reporters.
 *
 * Every hook only queues points (InfluxSession.enqueue is synchronous), so a slow or dead
 * InfluxDB never slows a phase. The gate summaries and the run's end are written by
 * `InfluxSession.finish()` before the verdict is written, because the verdict must say
 * whether they arrived; `onRunEnd` (after the verdict) only stops the writer.
 */
export function influxReporter(session: InfluxSession, runId: string, redactor: Redactor): Reporter {
  return {
    name: 'influx',
    onRunBegin(info) {
      session.enqueue([runBeginPoint(runId, info.phases)]);
    },
    onPhaseBegin(phase) {
      session.enqueue([phaseBeginPoint(runId, phase)]);
    },
    onCheckEnd(phase, check) {
      session.enqueue([checkPoint(runId, phase, check, redactor)]);
    },
    onPhaseEnd(phase) {
      session.enqueue([phaseEndPoint(runId, phase, redactor), ...windowPoints(runId, phase)]);
    },
    onRunEnd() {
      session.close();
    },
  };
}
