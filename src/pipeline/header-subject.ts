import libmime from 'libmime';
import { headerFields } from './header-from.js';

const MAX_SUBJECT = 998;

/**
 * The Subject as a person reads it (RFC 2047 encoded-words decoded; headerFields unfolds), for the
 * message log. A malformed encoded-word is kept as written rather than refusing the message:
 * the subject is only shown, never acted on.
 */
export function subjectOf(section: Buffer): string | null {
  const field = headerFields(section).find((f) => f.name.toLowerCase() === 'subject');
  if (!field) return null;
  const unfolded = field.value.trim();
  let decoded: string;
  try {
    decoded = libmime.decodeWords(unfolded);
  } catch {
    decoded = unfolded;
  }
  // A broken base64 word decodes to nothing: then what was written is more use than a blank.
  if (decoded.trim() === '' && unfolded !== '') decoded = unfolded;
  return decoded.slice(0, MAX_SUBJECT);
}
