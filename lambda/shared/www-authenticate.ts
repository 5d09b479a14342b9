/**
 * `WWW-Authenticate` challenges (RFC 9110 §11.6.1): `Bearer realm="...",service="...",scope="..."` from token-auth
 * registries (Docker Hub, ghcr.io, public.ecr.aws), `Basic realm="..."` from others (private ECR, htpasswd). Several
 * challenges may share one header value (fetch joins repeated headers with ", ").
 */

/** One challenge: its scheme (lower-cased) and its parameters (names lower-cased). */
export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;

/** The challenges of a header value; what cannot be parsed ends the list (a lenient reader, as clients are). */
export function parseChallenges(header: string | null | undefined): Challenge[] {
  const challenges: Challenge[] = [];
  if (!header) return challenges;
  let i = 0;
  const skip = (pattern: RegExp): void => {
    while (i < header.length && pattern.test(header[i])) i++;
  };
  const token = (): string | undefined => {
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(header);
    if (!m) return undefined;
    i = TOKEN.lastIndex;
    return m[0];
  };
  const quoted = (): string => {
    let value = '';
    i++; // the opening quote
    while (i < header.length && header[i] !== '"') {
      if (header[i] === '\\' && i + 1 < header.length) i++;
      value += header[i++];
    }
    i++; // the closing quote
    return value;
  };

  while (i < header.length) {
    skip(/[\s,]/);
    const scheme = token();
    if (!scheme) break;
    // Parameter names are the registry's: no prototype, so that `__proto__=...` is kept and `constructor` is absent.
    const params = Object.create(null) as Record<string, string>;
    // Parameters follow, separated by commas, until a token not followed by '=' starts the next challenge.
    for (;;) {
      skip(/[\s,]/);
      const start = i;
      const name = token();
      if (!name) break;
      skip(/\s/);
      if (header[i] !== '=') {
        i = start;
        break;
      }
      i++;
      skip(/\s/);
      const value = header[i] === '"' ? quoted() : token() ?? '';
      params[name.toLowerCase()] = value;
    }
    challenges.push({ scheme: scheme.toLowerCase(), params });
  }
  return challenges;
}
