/**
 * `frontend.ignoreRequests`: URL patterns of requests whose failure does not fail a page (a
 * missing `/favicon.ico`, a third-party tracker that is blocked in CI).
 *
 * Contract of `urlMatcher(patterns)(url)`:
 * - a pattern with `://` is matched against the whole URL without its query and fragment
 *   (`https://cdn.example.com/**`); any other pattern against the URL's path only (`/favicon.ico`);
 * - `**` matches any characters (also `/`), `*` any characters within one path segment; every
 *   other character is literal; the whole string must match (`/favicon.ico` does not ignore
 *   `/favicon.ico.bak`);
 * - no pattern matches nothing: an empty list ignores nothing.
 */

export type UrlMatcher = (url: string) => boolean;

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (ch === '*') re += '[^/]*';
    else re += ch.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The URL without query and fragment; `path` only when asked. Unparsable URLs are taken as they are. */
function stripped(url: string, pathOnly: boolean): string {
  try {
    const u = new URL(url);
    return pathOnly ? u.pathname : `${u.origin}${u.pathname}`;
  } catch {
    return url.replace(/[?#].*$/, '');
  }
}

export function urlMatcher(patterns: readonly string[]): UrlMatcher {
  const compiled = patterns.map((p) => ({ whole: p.includes('://'), re: globToRegExp(p) }));
  if (!compiled.length) return () => false;
  return (url) => compiled.some((c) => c.re.test(stripped(url, !c.whole)));
}
