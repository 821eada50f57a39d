/**
 * Text cleaning in front of CLIP's BPE, matching openai's `SimpleTokenizer`:
 *
 *   ftfy.fix_text → html.unescape twice → strip → collapse whitespace → strip → lower
 *
 * `fixText` ports the ftfy 6.3.1 fixes that matter for captions and are cheap (HTML entities when
 * the text has no `<`, mojibake of UTF-8 read as Latin-1 / Windows-1252, C1 controls, Latin
 * ligatures, full-width characters, curly quotes, surrogates, NFC, line breaks, terminal escapes,
 * control characters and BOM). It is not a full ftfy: its "badness" heuristics and the rarer
 * encodings (MacRoman, cp437, Windows-1251…) are left out; plain text passes through unchanged.
 *
 * `htmlUnescape` is Python's `html.unescape` exactly (HTML5 entity table from the `entities`
 * package, legacy entities without a semicolon, Python's numeric-reference rules).
 */
import { decodeHTML, decodeHTMLStrict } from 'entities';

/**
 * Python `regex`'s `\s` (Unicode White_Space), which CLIP's `re.sub(r'\s+', ' ', text)` uses.
 * JS `\s` differs: it adds U+FEFF and lacks U+0085.
 */
export const PY_REGEX_WHITESPACE = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const WHITESPACE_RUN = new RegExp(`[${PY_REGEX_WHITESPACE}]+`, 'gu');
/** Python's `str.strip()` set (`str.isspace`): the set above plus U+001C–U+001F. */
const PY_STRIP_SET = `${PY_REGEX_WHITESPACE}\\u001c-\\u001f`;
const PY_STRIP = new RegExp(`^[${PY_STRIP_SET}]+|[${PY_STRIP_SET}]+$`, 'gu');

/** Python's `str.strip()`. */
export function pyStrip(text: string): string {
  return text.replace(PY_STRIP, '');
}

/** CLIP's `whitespace_clean`: runs of whitespace become one space, then strip. */
export function whitespaceClean(text: string): string {
  return pyStrip(text.replace(WHITESPACE_RUN, ' '));
}

// ---------------------------------------------------------------------------------------------
// html.unescape (Python 3.11, Lib/html/__init__.py)

/** Python's `_charref`: numeric references, or up to 32 name characters and an optional `;`. */
const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/g;

/** Windows-1252 meanings of the C1 range (and NUL, CR) that Python applies to numeric references. */
const CP1252_C1 = [
  0x20ac, 0x81, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8d, 0x017d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x9d, 0x017e, 0x0178,
];

function isInvalidCodepoint(cp: number): boolean {
  return (
    (cp >= 0x1 && cp <= 0x8) || cp === 0xb || (cp >= 0xe && cp <= 0x1f) || (cp >= 0x7f && cp <= 0x9f) ||
    (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe
  );
}

function numericCharref(body: string): string {
  const hex = body[1] === 'x' || body[1] === 'X';
  const digits = body.slice(hex ? 2 : 1).replace(/;$/, '');
  // Python parses arbitrarily long numbers; anything past 0x10FFFF is U+FFFD, so saturate.
  const num = digits.length > 8 ? Number.POSITIVE_INFINITY : Number.parseInt(digits, hex ? 16 : 10);
  if (num === 0) return '\ufffd';
  if (num === 13) return '\r';
  if (num >= 0x80 && num <= 0x9f) return String.fromCodePoint(CP1252_C1[num - 0x80]);
  if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return '\ufffd';
  if (isInvalidCodepoint(num)) return '';
  return String.fromCodePoint(num);
}

function replaceCharref(match: string, body: string): string {
  if (body[0] === '#') return numericCharref(body);
  // Named: the HTML5 table, else the longest legacy prefix (`&ampx` → `&x`); `entities` decodes a
  // single reference with exactly these rules in its legacy (non-attribute) mode.
  return decodeHTML(match);
}

/** Python's `html.unescape`. */
export function htmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(CHARREF, replaceCharref);
}

// ---------------------------------------------------------------------------------------------
// ftfy 6.3.1, default config, the cheap subset

/** Windows-1252 bytes 0x80–0x9F as characters; undefined bytes map to the C1 control ("sloppy"). */
const SLOPPY_CP1252_CHARS = CP1252_C1.map((cp) => String.fromCodePoint(cp));
const CHAR_TO_CP1252_BYTE = new Map<string, number>(SLOPPY_CP1252_CHARS.map((c, i) => [c, 0x80 + i]));

/** The byte a character stands for when UTF-8 was misread as Latin-1 or sloppy Windows-1252. */
function mojibakeByte(ch: string): number {
  const code = ch.charCodeAt(0);
  if (code < 0x100) return code;
  return CHAR_TO_CP1252_BYTE.get(ch) ?? -1;
}

const CONTINUATION_CHARS = `\\u0080-\\u00bf${SLOPPY_CP1252_CHARS.join('').replace(/[\u0080-\u009f]/g, '')}`;
/**
 * A UTF-8 lead byte read as Latin-1 (Â–ô) followed by one to three continuation bytes read as
 * Latin-1 or Windows-1252 (`Ã©` for é, `â€™` for ’). ftfy's `decode_inconsistent_utf8` fixes such
 * runs in place; we accept a run only when it decodes as strict UTF-8.
 */
const MOJIBAKE_RUN = new RegExp(`(?:[\\u00c2-\\u00f4][${CONTINUATION_CHARS}]{1,3})+`, 'gu');
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function fixMojibake(text: string): string {
  if (!/[\u00c2-\u00f4]/.test(text)) return text;
  return text.replace(MOJIBAKE_RUN, (run) => {
    const chars = Array.from(run);
    const bytes = new Uint8Array(chars.length);
    for (let i = 0; i < chars.length; i++) {
      const b = mojibakeByte(chars[i]);
      if (b < 0) return run;
      bytes[i] = b;
    }
    try {
      return strictUtf8.decode(bytes);
    } catch {
      return run;
    }
  });
}

/** ftfy `fix_c1_controls`: C1 control characters decoded as sloppy Windows-1252. */
function fixC1Controls(text: string): string {
  return text.replace(/[\u0080-\u009f]/g, (c) => SLOPPY_CP1252_CHARS[c.charCodeAt(0) - 0x80]);
}

/** ftfy's `LIGATURES` table. */
const LIGATURES: Record<string, string> = {
  'Ĳ': 'IJ', 'ĳ': 'ij', 'ŉ': 'ʼn', 'Ǳ': 'DZ', 'ǲ': 'Dz', 'ǳ': 'dz', 'Ǆ': 'DŽ', 'ǅ': 'Dž', 'ǆ': 'dž',
  'Ǉ': 'LJ', 'ǈ': 'Lj', 'ǉ': 'lj', 'Ǌ': 'NJ', 'ǋ': 'Nj', 'ǌ': 'nj',
  'ﬀ': 'ff', 'ﬁ': 'fi', 'ﬂ': 'fl', 'ﬃ': 'ffi', 'ﬄ': 'ffl', 'ﬅ': 'ſt', 'ﬆ': 'st',
};
const LIGATURE_RE = new RegExp(`[${Object.keys(LIGATURES).join('')}]`, 'gu');

/** ftfy `fix_character_width`: U+FF01–U+FFEF to their NFKC form, U+3000 to a space. */
function fixCharacterWidth(text: string): string {
  return text.replace(/[\uff01-\uffef\u3000]/g, (c) => (c === '\u3000' ? ' ' : c.normalize('NFKC')));
}

/** ftfy `uncurl_quotes`. */
function uncurlQuotes(text: string): string {
  return text.replace(/[\u02bc\u2018-\u201b]/g, "'").replace(/[\u201c-\u201f]/g, '"');
}

/** ftfy `fix_line_breaks`. */
function fixLineBreaks(text: string): string {
  return text.replace(/\r\n|[\r\u2028\u2029\u0085]/g, '\n');
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** ftfy `remove_terminal_escapes`. */
const TERMINAL_ESCAPE = /\u001b\[((?:\d|;)*)([a-zA-Z])/g;

/**
 * ftfy `remove_control_chars`: C0 controls except tab, LF, FF and CR; DEL; deprecated Arabic
 * format characters; interlinear annotation and object replacement characters; BOM.
 */
const CONTROL_CHARS = /[\u0000-\u0008\u000b\u000e-\u001f\u007f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;

/**
 * ftfy `unescape_html`: `&name;` entities (also all-caps ones such as `&EACUTE;` → É) and numeric
 * references; a reference that would unescape to something containing `;` is left alone.
 */
const FTFY_ENTITY = /&#?[0-9A-Za-z]{1,24};?/g;

function ftfyUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(FTFY_ENTITY, (ref) => {
    if (ref.startsWith('&#')) {
      const out = htmlUnescape(ref);
      return out.includes(';') ? ref : out;
    }
    if (!ref.endsWith(';')) return ref;
    const direct = decodeHTMLStrict(ref);
    if (direct !== ref) return direct;
    const name = ref.slice(1, -1);
    if (name === name.toUpperCase()) {
      const lowerRef = `&${name.toLowerCase()};`;
      const lower = decodeHTMLStrict(lowerRef);
      if (lower !== lowerRef) return lower.toUpperCase();
    }
    return ref;
  });
}

/**
 * A cheap port of `ftfy.fix_text` (ftfy 6.3.1, default configuration), in ftfy's order and repeated
 * until nothing changes; see the module comment. Note that a C1 control such as U+0085 becomes its
 * Windows-1252 character (…) here, before any whitespace handling, as in ftfy.
 */
export function fixText(text: string): string {
  const unescape = !text.includes('<');
  for (let pass = 0; pass < 8; pass++) {
    const before = text;
    if (unescape) text = ftfyUnescape(text);
    text = fixMojibake(text);
    text = fixC1Controls(text);
    text = text.replace(LIGATURE_RE, (c) => LIGATURES[c]);
    text = fixCharacterWidth(text);
    text = uncurlQuotes(text);
    text = fixLineBreaks(text);
    text = text.replace(LONE_SURROGATE, '\ufffd'); // like ftfy's fix_surrogates
    text = text.replace(TERMINAL_ESCAPE, '');
    text = text.replace(CONTROL_CHARS, '');
    text = text.normalize('NFC');
    if (text === before) break;
  }
  return text;
}

/**
 * CLIP's full cleaning: `whitespace_clean(basic_clean(text)).lower()`, where `basic_clean` is
 * `ftfy.fix_text`, then `html.unescape` twice, then `strip`.
 */
export function clipClean(text: string): string {
  const fixed = fixText(text);
  const unescaped = pyStrip(htmlUnescape(htmlUnescape(fixed)));
  return whitespaceClean(unescaped).toLowerCase();
}
