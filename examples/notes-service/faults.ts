// Deliberate defects, switched on through NOTES_FAULTS (a JSON object), so that tests can
// show perf catching them. Every fault is off by default; an unknown name or a value of the
// wrong type is a configuration error (the caller exits 2), never silently ignored: a typo
// in a fault name must not make a "perf catches X" test pass for the wrong reason.

export interface Faults {
  /** /status answers 200 but `state: "yellow"`, `components.pg: "degraded"`. */
  statusDegraded: boolean;
  /** GET /api/notes lists every account's notes (data isolation broken). */
  crossUserLeak: boolean;
  /** GET /api/notes sleeps this many milliseconds before answering (0 = off). */
  slowListMs: number;
  /** A WebSocket summary run never sends `summary.end`. */
  wsDropEnd: boolean;
  /** WebSocket events carry owner "0" instead of the caller's uid. */
  wsWrongOwner: boolean;
  /** GET /api/me without a valid key answers 200 `{"uid":null}` instead of 403. */
  unprotectedMe: boolean;
  /** GET /api/me answers 200 as always, but `uid` is a JSON number where openapi.yaml says a string. */
  schemaDrift: boolean;
}

export const NO_FAULTS: Readonly<Faults> = Object.freeze({
  statusDegraded: false,
  crossUserLeak: false,
  slowListMs: 0,
  wsDropEnd: false,
  wsWrongOwner: false,
  unprotectedMe: false,
  schemaDrift: false,
});

export const FAULT_NAMES = Object.keys(NO_FAULTS) as (keyof Faults)[];

/**
 * Parses the NOTES_FAULTS value. Unset or blank means no faults.
 * Throws an Error whose message is meant for a human (printed as is).
 */
export function parseFaults(raw: string | undefined): Faults {
  const faults: Faults = { ...NO_FAULTS };
  if (raw === undefined || raw.trim() === '') return faults;

  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new Error(`NOTES_FAULTS is not valid JSON (${(err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error('NOTES_FAULTS must be a JSON object, e.g. {"slowListMs":500}');
  }

  for (const [name, value] of Object.entries(parsed)) {
    if (!(FAULT_NAMES as string[]).includes(name)) {
      throw new Error(`NOTES_FAULTS: unknown fault "${name}" (known: ${FAULT_NAMES.join(', ')})`);
    }
    const key = name as keyof Faults;
    if (key === 'slowListMs') {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 600_000) {
        throw new Error('NOTES_FAULTS: "slowListMs" must be a number of milliseconds between 0 and 600000');
      }
      faults.slowListMs = value;
    } else {
      if (typeof value !== 'boolean') throw new Error(`NOTES_FAULTS: "${name}" must be true or false`);
      faults[key] = value;
    }
  }
  return faults;
}

/** The faults that are on, for the startup log line. */
export function activeFaults(faults: Faults): string[] {
  return FAULT_NAMES.filter((name) => faults[name] !== NO_FAULTS[name]);
}
