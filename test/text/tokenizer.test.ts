import { describe, expect, it, vi } from 'vitest';
import { join } from 'node:path';
import { ClipTokenizer, bytesToUnicode, InvalidInputError, IoError } from '../../src/index.js';
import { clipClean, fixText, htmlUnescape, whitespaceClean } from '../../src/text/clean.js';
import { cutAfterLastEot } from '../../src/text/tokenizer.js';
import { repoRoot, sharedGolden, sharedGoldenDir, SKIP_NO_SHARED } from '../helpers/golden.js';

const FIX = join(repoRoot, 'fixtures', 'tokenizer');
const quiet = { onTruncate: () => {} };

describe('tiny fixture vocabulary (hand-computed ids, see fixtures/tokenizer/README.md)', () => {
  const tok = ClipTokenizer.fromFiles(join(FIX, 'vocab.json'), join(FIX, 'merges.txt'), quiet);

  it('reads SOT/EOT from the vocabulary', () => {
    expect([tok.sot, tok.eot, tok.vocabSize]).toEqual([518, 519, 520]);
  });

  it('encodes words by merge rank with </w> word ends', () => {
    expect(tok.encode('a cat')).toEqual([518, 320, 513, 519]); // a</w>=256+64, cat</w>=513
    expect(tok.encode('the cat')).toEqual([518, 517, 513, 519]);
    expect(tok.encode('dogs')).toEqual([518, 514, 70, 338, 519]); // do, g, s</w>: "do g" is not a merge
    expect(tok.encode('Cat!')).toEqual([518, 513, 256, 519]); // lowercased; "!" is its own piece, !</w>=256
    expect(tok.encode('42')).toEqual([518, 275, 273, 519]); // one digit a piece
  });

  it('keeps literal special tokens as their ids mid-sequence', () => {
    expect(tok.encode('a<|endoftext|>b')).toEqual([518, 320, 519, 321, 519]);
  });

  it('encodes the empty string as SOT, EOT', () => {
    expect(tok.encode('')).toEqual([518, 519]);
    expect(tok.encode(' \t\n ')).toEqual([518, 519]);
  });

  it('truncates to the first L−1 ids then EOT, and warns naming the text', () => {
    const seen: string[] = [];
    const short = ClipTokenizer.fromFiles(join(FIX, 'vocab.json'), join(FIX, 'merges.txt'), {
      contextLength: 5,
      onTruncate: (info) => seen.push(`${info.text}:${info.nTokens}`),
    });
    expect(short.encode('a a a a a')).toEqual([518, 320, 320, 320, 519]);
    expect(seen).toEqual(['a a a a a:7']);
  });

  it('emits a process warning by default on truncation', () => {
    const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const short = ClipTokenizer.fromFiles(join(FIX, 'vocab.json'), join(FIX, 'merges.txt'), { contextLength: 4 });
    short.encode('cat cat cat');
    expect(spy).toHaveBeenCalledTimes(1);
    expect(String(spy.mock.calls[0][0])).toContain('"cat cat cat"');
    spy.mockRestore();
  });

  it('pads a batch with 0 into int64 (default) or int32 [B, L]', () => {
    const batch = tok.encodeBatch(['a cat', 'dogs']);
    expect(batch.dims).toEqual([2, 77]);
    expect(batch.data).toBeInstanceOf(BigInt64Array);
    expect(Array.from(batch.data.subarray(0, 5), Number)).toEqual([518, 320, 513, 519, 0]);
    expect(Array.from(batch.data.subarray(77, 83), Number)).toEqual([518, 514, 70, 338, 519, 0]);
    expect(Array.from(batch.lengths)).toEqual([4, 5]);
    expect(Array.from(batch.eotIndices)).toEqual([3, 4]);
    const b32 = tok.encodeBatch(['a cat'], { dtype: 'int32' });
    expect(b32.data).toBeInstanceOf(Int32Array);
    expect(Array.from(b32.data.subarray(0, 4))).toEqual([518, 320, 513, 519]);
    expect(tok.encodeBatch([]).dims).toEqual([0, 77]);
  });

  it('pads a batch to its longest row (cut after the last EOT), from texts or from id rows', () => {
    const batch = tok.encodeBatch(['a cat', 'dogs'], { padding: 'longest' });
    expect(batch.dims).toEqual([2, 5]);
    expect(Array.from(batch.data, Number)).toEqual([518, 320, 513, 519, 0, 518, 514, 70, 338, 519]);
    expect(Array.from(batch.lengths)).toEqual([4, 5]);
    expect(Array.from(batch.eotIndices)).toEqual([3, 4]);
    const rows = tok.padBatch([[518, 320, 513, 519], [518, 519]], { dtype: 'int32', padding: 'longest' });
    expect(rows.dims).toEqual([2, 4]);
    expect(Array.from(rows.data)).toEqual([518, 320, 513, 519, 518, 519, 0, 0]);
    expect(tok.padBatch([[518, 519]]).dims).toEqual([1, 77]);
    expect(tok.encodeBatch([], { padding: 'longest' }).dims).toEqual([0, 0]);
    // cutAfterLastEot: a 77-wide batch cut to its longest row, the same values; an already cut batch as it is.
    const cut = cutAfterLastEot(tok.encodeBatch(['a cat', 'dogs']));
    expect(cut.dims).toEqual([2, 5]);
    expect(Array.from(cut.data, Number)).toEqual(Array.from(batch.data, Number));
    expect(cutAfterLastEot(batch)).toBe(batch);
    expect(() => tok.padBatch([new Array(78).fill(320)])).toThrow('Expected rows of at most 77 ids for padBatch but received a row of 78');
    expect(() => tok.encodeBatch(['a'], { padding: 'max' as 'longest' })).toThrow('Expected "context" or "longest" for padding but received "max"');
  });

  it('loads the same model from tokenizer.json and from a folder', () => {
    const fromJson = ClipTokenizer.fromTokenizerJson(join(FIX, 'tokenizer.json'), quiet);
    const fromDir = ClipTokenizer.fromDirectory(FIX, quiet);
    for (const t of ['a cat', 'the dogs!', 'a<|startoftext|>']) {
      expect(fromJson.encode(t)).toEqual(tok.encode(t));
      expect(fromDir.encode(t)).toEqual(tok.encode(t));
    }
  });

  it('never crashes on non-Latin text, emoji or control characters', () => {
    for (const t of ['猫がソファの上にいる', '🐶🐱👩‍👩‍👧', 'a\u0000b\u0007c\ufeff', '\ud800 lone surrogate', 'Ελληνικά ΣΑΣ', 'x'.repeat(500)]) {
      const ids = tok.encode(t);
      expect(ids[0]).toBe(518);
      expect(ids[ids.length - 1]).toBe(519);
      expect(ids.length).toBeLessThanOrEqual(77);
    }
  });

  it('rejects bad input and missing files with typed errors', () => {
    expect(() => tok.encode(42 as unknown as string)).toThrow(InvalidInputError);
    expect(() => tok.encodeBatch('cat' as unknown as string[])).toThrow(InvalidInputError);
    expect(() => ClipTokenizer.fromFiles(join(FIX, 'nope.json'), join(FIX, 'merges.txt'))).toThrow(IoError);
  });

  it('bytesToUnicode maps all 256 bytes to distinct symbols', () => {
    const table = bytesToUnicode();
    expect(new Set(table).size).toBe(256);
    expect(table[0x21]).toBe('!');
    expect(table[0x20]).toBe('Ġ');
  });
});

describe('cleaning (Python semantics)', () => {
  it('html.unescape: legacy entities without semicolon, numeric rules', () => {
    expect(htmlUnescape('&amp')).toBe('&');
    expect(htmlUnescape('&ampx')).toBe('&x');
    expect(htmlUnescape('&notit;')).toBe('¬it;');
    expect(htmlUnescape('&#150;')).toBe('–'); // Windows-1252 meaning of the C1 range
    expect(htmlUnescape('&#0;')).toBe('\ufffd');
    expect(htmlUnescape('&#1;')).toBe('');
    expect(htmlUnescape('&#xD800;')).toBe('\ufffd');
    expect(htmlUnescape('AT&T')).toBe('AT&T');
  });

  it('ftfy-style fixes', () => {
    expect(fixText('it’s “quoted”')).toBe('it\'s "quoted"');
    expect(fixText('Ｆｕｌｌ')).toBe('Full');
    expect(fixText('a ﬂuﬀy cat')).toBe('a fluffy cat');
    expect(fixText('naÃ¯ve cafÃ©')).toBe('naïve café');
    expect(fixText('donâ€™t')).toBe("don't");
    expect(fixText('e\u0301')).toBe('é');
    expect(fixText('\ufeffa\u0000b')).toBe('ab');
    expect(fixText('&EACUTE;')).toBe('É');
    expect(fixText('<b>&rsquo;</b>')).toBe('<b>&rsquo;</b>'); // no unescaping when the text has "<"
  });

  it('whitespace: Python regex \\s, not JS \\s', () => {
    expect(clipClean('a\u2028b\u3000c\u00a0d')).toBe('a b c d');
    expect(whitespaceClean('a\u0085b\ufeffc')).toBe('a b\ufeffc'); // ftfy turns U+0085 into "…" before this step
    expect(clipClean('a\u0085b')).toBe('a…b');
    expect(clipClean('  Hello\tWORLD  ')).toBe('hello world');
  });
});

interface TokCase { id: string; text: string; ids: number[]; cleaned: string; ids_untruncated?: number[] }
const golden = sharedGolden<{ cases: TokCase[] }>('clip-tokenizer/cases.json');

describe.skipIf(golden === null)('openai clip.tokenize parity (../shared/golden/clip-tokenizer)', () => {
  if (golden === null || sharedGoldenDir === null) { it.skip(SKIP_NO_SHARED, () => {}); return; }
  const dir = join(sharedGoldenDir, 'clip-tokenizer');
  const tok = ClipTokenizer.fromFiles(join(dir, 'vocab.json'), join(dir, 'merges.txt'), quiet);

  it('has the CLIP special ids', () => {
    expect([tok.sot, tok.eot, tok.vocabSize]).toEqual([49406, 49407, 49408]);
  });

  it(`ids identical on all ${golden.cases.length} cases`, () => {
    const wrong = golden.cases.filter((c) => JSON.stringify(tok.encode(c.text)) !== JSON.stringify(c.ids)).map((c) => c.id);
    expect(wrong).toEqual([]);
  });

  it('cleaned text identical on every case', () => {
    const wrong = golden.cases.filter((c) => clipClean(c.text) !== c.cleaned).map((c) => c.id);
    expect(wrong).toEqual([]);
  });

  it('untruncated ids identical on the long cases', () => {
    const long = golden.cases.filter((c) => c.ids_untruncated !== undefined);
    expect(long.length).toBeGreaterThan(0);
    for (const c of long) expect([tok.sot, ...tok.bpeIds(c.text), tok.eot]).toEqual(c.ids_untruncated);
  });

  it('batch rows equal encode() and pad with 0', () => {
    const texts = golden.cases.slice(0, 40).map((c) => c.text);
    const batch = tok.encodeBatch(texts, { dtype: 'int32' });
    texts.forEach((t, b) => {
      const ids = golden.cases[b].ids;
      expect(Array.from(batch.data.subarray(b * 77, b * 77 + ids.length))).toEqual(ids);
      expect(batch.data.subarray(b * 77 + ids.length, (b + 1) * 77).every((v) => v === 0)).toBe(true);
    });
  });
});
