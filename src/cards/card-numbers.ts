import { luhnValid } from './pan.ts';

/**
 * The one detector of card numbers in text: what every field we store or echo is checked with.
 *
 * A card number is 12 to 19 digits passing the Luhn check, written together or in groups split by one or two
 * separators ("4111 1111-1111.1111", "4111  1111/1111_1111", "4111, 1111"): space (and every Unicode space),
 * hyphen (and every Unicode dash), dot, slash, underscore and comma. Its digits may be any script's decimal
 * digits ("４２４２…") or compatibility forms NFKC folds to digits (full-width separators fold too). Three or
 * more separators in a row end a run: past that, digits read as separate numbers. A run of more than 19 digits (groups joined; longer than any card
 * number) holds one when any 12 to 19 digits in a row of it pass the Luhn check, so a number glued to
 * others (followed by its expiry, after a date) is still found. A run of 12 to 19 digits failing the Luhn
 * check is no card number.
 */

/** The mark that replaces a card number in text we echo. */
export const REDACTED_CARD_NUMBER = '[card number]';

// One fact, three forms: the separator set, as the regexes below and as isSeparator's char codes.
const GROUPED_DIGITS = /[0-9]+(?:[ ,./_-]{1,2}[0-9]+)*/g;
const SEPARATORS = /[ ,./_-]/g;

/** True when `text` holds what could be any card's number (see the module comment). */
export function holdsCardNumber(text: string): boolean {
  const ascii = asciiForm(text);
  if (ascii === null) return false;
  // GROUPED_DIGITS by hand: this runs on every stored field of every event (bench/validate.ts).
  const length = ascii.length;
  let i = 0;
  while (i < length) {
    if (!isDigit(ascii.charCodeAt(i))) {
      i++;
      continue;
    }
    const start = i;
    let digits = 0;
    let separated = false;
    while (i < length) {
      const code = ascii.charCodeAt(i);
      if (isDigit(code)) {
        digits++;
        i++;
      } else if (isSeparator(code) && i + 1 < length) {
        // One or two separators count when a digit follows them.
        const next = ascii.charCodeAt(i + 1);
        if (isDigit(next)) i += 1;
        else if (isSeparator(next) && i + 2 < length && isDigit(ascii.charCodeAt(i + 2))) i += 2;
        else break;
        separated = true;
      } else break;
    }
    if (digits < 12) continue;
    if (
      !separated && digits <= 19
        ? luhnValid(ascii.slice(start, i))
        : runHoldsCardNumber(ascii.slice(start, i))
    )
      return true;
  }
  return false;
}

const isDigit = (code: number) => code >= 48 && code <= 57;
// Space, comma, hyphen-minus, full stop, solidus, low line (Unicode spaces and dashes are folded to space
// and hyphen-minus by asciiForm first).
const isSeparator = (code: number) =>
  code === 32 || code === 44 || code === 45 || code === 46 || code === 47 || code === 95;

/** `text` with every run of digits holding a card number replaced by `[card number]` (for echoed text). */
export function redactCardNumbers(text: string): string {
  const ascii = asciiForm(text);
  if (ascii === null) return text;
  if (ascii.length !== text.length) {
    // Normalisation moved positions: redact the normalised text whole if it holds a number.
    return holdsCardNumber(text) ? ascii.replace(GROUPED_DIGITS, redactRun) : text;
  }
  let found = false;
  for (const run of ascii.match(GROUPED_DIGITS) ?? []) if (runHoldsCardNumber(run)) found = true;
  if (!found) return text;
  // Same length: splice the redactions into the original text at the same positions.
  let out = '';
  let last = 0;
  for (const match of ascii.matchAll(GROUPED_DIGITS)) {
    if (!runHoldsCardNumber(match[0])) continue;
    out += `${text.slice(last, match.index)}${REDACTED_CARD_NUMBER}`;
    last = match.index + match[0].length;
  }
  return out + text.slice(last);
}

const redactRun = (run: string) => (runHoldsCardNumber(run) ? REDACTED_CARD_NUMBER : run);

/**
 * `text` with its digits as ASCII and its separators as space or hyphen, or null when it cannot hold 12
 * digits. ASCII text (the common case) is returned as it is after one pass and no allocation.
 */
function asciiForm(text: string): string | null {
  let digits = 0;
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 48 && code <= 57) digits++;
    else if (code >= 0x80) ascii = false;
  }
  if (ascii) return digits < 12 ? null : text;
  const folded = text
    .normalize('NFKC')
    .replace(/\p{Nd}/gu, (digit) => String(decimalValue(digit.codePointAt(0)!)))
    .replace(/\p{Pd}/gu, '-')
    .replace(/\p{Zs}/gu, ' ');
  let count = 0;
  for (let i = 0; i < folded.length; i++) {
    const code = folded.charCodeAt(i);
    if (code >= 48 && code <= 57) count++;
  }
  return count < 12 ? null : folded;
}

const DECIMAL_DIGIT = /\p{Nd}/u;

/**
 * The value of a decimal digit (general category Nd): Unicode encodes each script's digits as contiguous
 * runs of ten from zero, so the value is the distance from the start of its run, modulo ten.
 */
function decimalValue(codePoint: number): number {
  let start = codePoint;
  while (start > 0 && DECIMAL_DIGIT.test(String.fromCodePoint(start - 1))) start--;
  return (codePoint - start) % 10;
}

/**
 * Whether a run of digit groups holds a card number: its digits, joined, are 12 to 19 and pass the Luhn
 * check; or, in a run of more than 19 digits (longer than any card number), any 12 to 19 in a row do.
 */
function runHoldsCardNumber(run: string): boolean {
  const digits = run.replace(SEPARATORS, '');
  if (digits.length < 12) return false;
  if (digits.length <= 19) return luhnValid(digits);
  for (let start = 0; start + 12 <= digits.length; start++) {
    for (let length = 12; length <= 19 && start + length <= digits.length; length++) {
      if (luhnValid(digits.slice(start, start + length))) return true;
    }
  }
  return false;
}
