import type { MetricStore } from './metric-store.ts';

/**
 * The backstop behind the bundler's k6-module shims (bundler/k6-shims/): a tag value of a raw
 * k6 sample that holds a secret (a `?token=` in a URL-derived `name`, a JWT, a URL password,
 * a secret perf registered) never reaches a file perf writes from the analysis, and the run
 * says where it came from so the scenario can be fixed.
 *
 * `screenSecretTags` replaces each such value in the store's series by its redacted form (so
 * the analysis file, the verdict and the gates only ever see that) and returns one finding per
 * metric × tag × redacted value, with the exact secret strings found, which the caller scrubs
 * from the raw sample file (src/redact/redact-file.ts).
 */
export interface SecretTag {
  metric: string;
  tag: string;
  /** The value as it is kept: redacted. */
  value: string;
  /** The secrets found in the value, as they stood in it. */
  secrets: string[];
}

/** What finds and redacts secrets (src/redact/redact.ts `Redactor`). */
export interface SecretFinder {
  secretsIn(s: string): string[];
  redactString(s: string): string;
}

export function screenSecretTags(store: MetricStore, finder: SecretFinder): SecretTag[] {
  const found = new Map<string, SecretTag>();
  for (const series of store.series.values()) {
    for (const [tag, value] of Object.entries(series.tags)) {
      const secrets = finder.secretsIn(value);
      if (secrets.length === 0) continue;
      const redacted = finder.redactString(value);
      series.tags = { ...series.tags, [tag]: redacted };
      const key = `${series.metric}\0${tag}\0${redacted}`;
      const prev = found.get(key);
      if (prev) prev.secrets = [...new Set([...prev.secrets, ...secrets])];
      else found.set(key, { metric: series.metric, tag, value: redacted, secrets });
    }
  }
  return [...found.values()];
}

/**
 * The run's reasons for a scenario's findings, one per tag and value (the metrics listed):
 * scenario, metric, tag, and how to fix the scenario. The value is quoted so that the run's
 * redactor, which sees these lines too, stops at the quote.
 */
export function secretTagReasons(scenario: string, found: SecretTag[]): string[] {
  const byValue = new Map<string, { tag: string; value: string; metrics: string[] }>();
  for (const t of found) {
    const key = `${t.tag}\0${t.value}`;
    const entry = byValue.get(key) ?? { tag: t.tag, value: t.value, metrics: [] };
    entry.metrics.push(t.metric);
    byValue.set(key, entry);
  }
  return [...byValue.values()].map(
    (e) =>
      `${scenario}: the "${e.tag}" tag of ${e.metrics.join(', ')} holds a secret ("${e.value}", redacted in the run folder). ` +
      `Fix the scenario: give the request a name of its own (params { tags: { ${e.tag}: '<endpoint>' } }), or send the credential in a header, not in the URL`,
  );
}
