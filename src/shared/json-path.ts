/**
 * THE JSON-path getter of perf (pure TypeScript: imported by Node code and by k6 bundles alike).
 *
 * A path is dotted property names, each optionally followed by array indexes: `accessToken`,
 * `data.token`, `items[0].id`, `matrix[1][2]`, `[0].id` (an index first, on an array answer).
 * Property names are anything but `.` and `[` (`x-request-id` and `$ref` work). The empty
 * path is the value itself. A step into null, undefined, a primitive, a missing property or an
 * index out of range gives `undefined`; `getPath` never throws for a value, only for a path
 * that is not one (`a..b`, `a[x]`, `a[`).
 */

type Step = string | number;

const cache = new Map<string, Step[]>();
const SEGMENT = /^([^.[\]]*)((?:\[\d+\])*)$/;

/** The steps of `path`, parsed once (the k6 side calls this for every frame). */
export function parsePath(path: string): Step[] {
  const known = cache.get(path);
  if (known) return known;
  const steps: Step[] = [];
  if (path !== '') {
    const segments = path.split('.');
    segments.forEach((segment, i) => {
      const m = SEGMENT.exec(segment);
      // Only the first segment may be an index alone (`[0].id`); `a..b` and a trailing `.` are typos.
      if (!m || (m[1] === '' && (i > 0 || m[2] === ''))) {
        throw new Error(`invalid JSON path "${path}": expected dotted names with optional [n] indexes, such as data.items[0].id`);
      }
      if (m[1]) steps.push(m[1]);
      for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) steps.push(Number(idx[1]));
    });
  }
  if (cache.size < 1000) cache.set(path, steps);
  return steps;
}

/** The value at `path` in `obj`, or undefined when any step is missing. */
export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const step of parsePath(path)) {
    if (cur === null || cur === undefined) return undefined;
    if (typeof step === 'number') {
      if (!Array.isArray(cur)) return undefined;
      cur = cur[step];
    } else {
      if (typeof cur !== 'object') return undefined;
      if (!Object.prototype.hasOwnProperty.call(cur, step)) return undefined;
      cur = (cur as Record<string, unknown>)[step];
    }
  }
  return cur;
}
