// The UTF-8 sequences of Autobahn cases 6.5.1-6.23.7 (from Markus Kuhn's UTF-8 decoder stress
// test, as Autobahn's case6_x_x.py builds them), with their case ids and validity, plus a
// reference validator written here from the Unicode Standard, Table 3-7, that also tells at
// which byte a sequence becomes impossible to complete (where a fail-fast validator must stop).

export interface Utf8Case {
  id: string;
  bytes: Buffer;
  valid: boolean;
}

const b = (...xs: number[]) => Buffer.from(xs);

/** Autobahn's groups, in order: 6.5 is the first. */
function groups(): [string, [boolean, Buffer][]][] {
  const kosme = b(0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5);
  const g: [string, [boolean, Buffer][]][] = [];
  g.push(['Some valid UTF-8 sequences', [
    [true, Buffer.from('hello\x24world', 'latin1')],
    [true, Buffer.concat([Buffer.from('hello'), b(0xc2, 0xa2), Buffer.from('world')])],
    [true, Buffer.concat([Buffer.from('hello'), b(0xe2, 0x82, 0xac), Buffer.from('world')])],
    [true, Buffer.concat([Buffer.from('hello'), b(0xf0, 0xa4, 0xad, 0xa2), Buffer.from('world')])],
    [true, kosme],
  ]]);
  g.push(['All prefixes of a valid UTF-8 string that contains multi-byte code points',
    Array.from({ length: kosme.length }, (_, i) => [validity(kosme.subarray(0, i + 1)) === 'valid', kosme.subarray(0, i + 1)])]);
  g.push(['First possible sequence of a certain length', [[true, b(0x00)], [true, b(0xc2, 0x80)], [true, b(0xe0, 0xa0, 0x80)], [true, b(0xf0, 0x90, 0x80, 0x80)]]]);
  g.push(['First possible sequence length 5/6 (invalid codepoints)', [[false, b(0xf8, 0x88, 0x80, 0x80, 0x80)], [false, b(0xfc, 0x84, 0x80, 0x80, 0x80, 0x80)]]]);
  g.push(['Last possible sequence of a certain length', [[true, b(0x7f)], [true, b(0xdf, 0xbf)], [true, b(0xef, 0xbf, 0xbf)], [true, b(0xf4, 0x8f, 0xbf, 0xbf)]]]);
  g.push(['Last possible sequence length 4/5/6 (invalid codepoints)', [
    [false, b(0xf7, 0xbf, 0xbf, 0xbf)], [false, b(0xfb, 0xbf, 0xbf, 0xbf, 0xbf)], [false, b(0xfd, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf)]]]);
  g.push(['Other boundary conditions', [
    [true, b(0xed, 0x9f, 0xbf)], [true, b(0xee, 0x80, 0x80)], [true, b(0xef, 0xbf, 0xbd)], [true, b(0xf4, 0x8f, 0xbf, 0xbf)], [false, b(0xf4, 0x90, 0x80, 0x80)]]]);
  const allContinuations = Buffer.from(Array.from({ length: 0xbf - 0x80 }, (_, i) => 0x80 + i));
  g.push(['Unexpected continuation bytes', [
    [false, b(0x80)], [false, b(0xbf)], [false, b(0x80, 0xbf)], [false, b(0x80, 0xbf, 0x80)], [false, b(0x80, 0xbf, 0x80, 0xbf)],
    [false, b(0x80, 0xbf, 0x80, 0xbf, 0x80)], [false, b(0x80, 0xbf, 0x80, 0xbf, 0x80, 0xbf)], [false, allContinuations]]]);
  g.push(['Lonely start characters', ([[0xc0, 0xdf], [0xe0, 0xef], [0xf0, 0xf7], [0xf8, 0xfb], [0xfc, 0xfd]] as const).map(([lo, hi]) => {
    const s: number[] = [];
    for (let i = lo; i < hi; i++) s.push(i, 0x20);
    return [false, Buffer.from(s)] as [boolean, Buffer];
  })]);
  const missing = [b(0xc0), b(0xe0, 0x80), b(0xf0, 0x80, 0x80), b(0xf8, 0x80, 0x80, 0x80), b(0xfc, 0x80, 0x80, 0x80, 0x80),
    b(0xdf), b(0xef, 0xbf), b(0xf7, 0xbf, 0xbf), b(0xfb, 0xbf, 0xbf, 0xbf), b(0xfd, 0xbf, 0xbf, 0xbf, 0xbf)];
  g.push(['Sequences with last continuation byte missing', missing.map((m) => [false, m])]);
  g.push(['Concatenation of incomplete sequences', [[false, Buffer.concat(missing)]]]);
  g.push(['Impossible bytes', [[false, b(0xfe)], [false, b(0xff)], [false, b(0xfe, 0xfe, 0xff, 0xff)]]]);
  g.push(['Examples of an overlong ASCII character', [
    [false, b(0xc0, 0xaf)], [false, b(0xe0, 0x80, 0xaf)], [false, b(0xf0, 0x80, 0x80, 0xaf)], [false, b(0xf8, 0x80, 0x80, 0x80, 0xaf)],
    [false, b(0xfc, 0x80, 0x80, 0x80, 0x80, 0xaf)]]]);
  g.push(['Maximum overlong sequences', [
    [false, b(0xc1, 0xbf)], [false, b(0xe0, 0x9f, 0xbf)], [false, b(0xf0, 0x8f, 0xbf, 0xbf)], [false, b(0xf8, 0x87, 0xbf, 0xbf, 0xbf)],
    [false, b(0xfc, 0x83, 0xbf, 0xbf, 0xbf, 0xbf)]]]);
  g.push(['Overlong representation of the NUL character', [
    [false, b(0xc0, 0x80)], [false, b(0xe0, 0x80, 0x80)], [false, b(0xf0, 0x80, 0x80, 0x80)], [false, b(0xf8, 0x80, 0x80, 0x80, 0x80)],
    [false, b(0xfc, 0x80, 0x80, 0x80, 0x80, 0x80)]]]);
  g.push(['Single UTF-16 surrogates', [
    b(0xed, 0xa0, 0x80), b(0xed, 0xad, 0xbf), b(0xed, 0xae, 0x80), b(0xed, 0xaf, 0xbf), b(0xed, 0xb0, 0x80), b(0xed, 0xbe, 0x80), b(0xed, 0xbf, 0xbf),
  ].map((x) => [false, x])]);
  const hi = [b(0xed, 0xa0, 0x80), b(0xed, 0xad, 0xbf), b(0xed, 0xae, 0x80), b(0xed, 0xaf, 0xbf)];
  const lo = [b(0xed, 0xb0, 0x80), b(0xed, 0xbf, 0xbf)];
  g.push(['Paired UTF-16 surrogates', hi.flatMap((h) => lo.map((l) => [false, Buffer.concat([h, l])] as [boolean, Buffer]))]);
  const nonChars: [boolean, Buffer][] = [[true, b(0xef, 0xbf, 0xbe)], [true, b(0xef, 0xbf, 0xbf)]];
  for (const z1 of [0xf0, 0xf1, 0xf2, 0xf3, 0xf4]) {
    for (const z2 of [0x8f, 0x9f, 0xaf, 0xbf]) {
      if (z1 === 0xf4 && z2 !== 0x8f) continue; // beyond U+10FFFF
      for (const z3 of [0xbe, 0xbf]) {
        if (z1 === 0xf0 && z2 === 0x8f) continue; // overlong
        nonChars.push([true, b(z1, z2, 0xbf, z3)]);
      }
    }
  }
  g.push(['Non-character code points (valid UTF-8)', nonChars]);
  g.push(['Unicode specials (i.e. replacement char)', [0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf].map((x) => [true, b(0xef, 0xbf, x)])]);
  return g;
}

export const UTF8_CASES: Utf8Case[] = groups().flatMap(([, list], gi) =>
  list.map(([valid, bytes], i) => ({ id: `6.${gi + 5}.${i + 1}`, bytes, valid })));

/**
 * Reference validation: 'valid'; 'truncated' (a valid prefix that ends inside a code point);
 * or the index of the first byte at which no continuation could make the bytes valid.
 */
export function validity(bytes: Uint8Array): 'valid' | 'truncated' | number {
  let need = 0; // continuation bytes still expected
  let lo = 0x80;
  let hi = 0xbf; // allowed range of the next continuation byte
  for (let i = 0; i < bytes.length; i++) {
    const x = bytes[i]!;
    if (need > 0) {
      if (x < lo || x > hi) return i;
      need--;
      lo = 0x80;
      hi = 0xbf;
      continue;
    }
    if (x <= 0x7f) continue;
    if (x >= 0xc2 && x <= 0xdf) need = 1;
    else if (x === 0xe0) [need, lo] = [2, 0xa0];
    else if (x === 0xed) [need, hi] = [2, 0x9f];
    else if (x >= 0xe1 && x <= 0xef) need = 2;
    else if (x === 0xf0) [need, lo] = [3, 0x90];
    else if (x === 0xf4) [need, hi] = [3, 0x8f];
    else if (x >= 0xf1 && x <= 0xf3) need = 3;
    else return i;
  }
  return need > 0 ? 'truncated' : 'valid';
}

/** The Autobahn 6.4.x payload: "κόσμε", then U+110000 encoded as 4 bytes (invalid at its 2nd byte), then "edited". */
export const FAIL_FAST_PAYLOAD = Buffer.concat([
  b(0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5), b(0xf4, 0x90, 0x80, 0x80), Buffer.from('edited'),
]);
/** The Autobahn 6.3.x payload: "κόσμε", a UTF-16 surrogate (invalid at its 2nd byte), "edited". */
export const SURROGATE_PAYLOAD = Buffer.concat([
  b(0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5), b(0xed, 0xa0, 0x80), Buffer.from('edited'),
]);
