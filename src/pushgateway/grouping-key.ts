// The Pushgateway's grouping key, read from the path after `/metrics/`: `job/<JOB>{/<LABEL>/<VALUE>}`.
// A name with the `@base64` suffix carries its value in URL-safe base64 (padding optional), the only
// way to send a `/` or an empty value (written `=`). The key is `job` plus the path's labels.

import type { Labels } from '../push/types.ts';

export class GroupingKeyError extends Error {
  override name = 'GroupingKeyError';
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const BASE64_SUFFIX = '@base64';

/**
 * Parses `job/<JOB>{/<LABEL>/<VALUE>}` (or `job@base64/<B64>…`), the path after `/metrics/`. Each
 * segment is percent-decoded. Throws GroupingKeyError with the Pushgateway's reasons.
 */
export function parseGroupingKeyPath(path: string): Labels {
  const segments = path.split('/');
  if (segments.length > 0 && segments.at(-1) === '' && segments.length % 2 === 1) segments.pop();
  if (segments.length < 2 || (segments[0] !== 'job' && segments[0] !== `job${BASE64_SUFFIX}`)) {
    throw new GroupingKeyError('the grouping key must start with job/<JOB>');
  }
  if (segments.length % 2 !== 0) {
    throw new GroupingKeyError(`odd number of components in label string ${JSON.stringify('/' + segments.slice(2).join('/'))}`);
  }
  const labels: Labels = {};
  for (let index = 0; index < segments.length; index += 2) {
    let name = decodeSegment(segments[index]!);
    let value = decodeSegment(segments[index + 1]!);
    if (name.endsWith(BASE64_SUFFIX)) {
      name = name.slice(0, -BASE64_SUFFIX.length);
      value = decodeBase64Value(name, value);
    }
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new GroupingKeyError(`improper label name ${JSON.stringify(name)}`);
    if (name in labels) throw new GroupingKeyError(`duplicate label name ${JSON.stringify(name)} in the grouping key`);
    labels[name] = value;
  }
  if (labels.job === '') throw new GroupingKeyError('job name is required');
  return labels;
}

/** The canonical text of a grouping key: names sorted, so equal keys are equal strings. */
export function groupingKeyId(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}=${JSON.stringify(labels[name])}`)
    .join(',');
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new GroupingKeyError(`invalid percent-encoding in path segment ${JSON.stringify(segment)}`);
  }
}

function decodeBase64Value(name: string, encoded: string): string {
  // URL-safe alphabet; `=` alone is the empty value, and padding may be left off.
  const unpadded = encoded.replace(/=+$/, '');
  if (!/^[A-Za-z0-9_-]*$/.test(unpadded) || unpadded.length % 4 === 1) {
    throw new GroupingKeyError(`invalid base64 encoding for label ${JSON.stringify(name)}: ${JSON.stringify(encoded)}`);
  }
  const bytes = Buffer.from(unpadded, 'base64url');
  const value = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (value.includes('\uFFFD')) throw new GroupingKeyError(`label ${JSON.stringify(name)} is not valid UTF-8 after base64 decoding`);
  return value;
}
