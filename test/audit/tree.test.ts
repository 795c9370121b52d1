// RFC 6962 hashing and proofs: against the published test data of the certificate-transparency
// project (the eight-leaf tree), and against a naive recursive reference for random trees.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_ROOT,
  MemoryTree,
  leafHash,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
} from '../../audit/tree.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => Buffer.from(s, 'hex');

// The RFC 6962 test leaves and the roots of their prefixes, from certificate-transparency's tests.
const LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
];
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const INCLUSION: [number, number, string[]][] = [
  [0, 1, []],
  [
    0,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    5,
    8,
    [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
];
const CONSISTENCY: [number, number, string[]][] = [
  [1, 1, []],
  [
    1,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    6,
    8,
    [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [
    2,
    5,
    [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
];

function vectorTree(): MemoryTree {
  const t = new MemoryTree();
  for (const l of LEAVES) t.append(leafHash(unhex(l)));
  return t;
}

// The definitions of RFC 6962 §2.1, written as plainly as possible, for comparison.
const split = (n: number) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
function mth(d: Buffer[]): Buffer {
  if (d.length === 0) return EMPTY_ROOT;
  if (d.length === 1) return d[0]!;
  const k = split(d.length);
  return nodeHash(mth(d.slice(0, k)), mth(d.slice(k)));
}
function path(m: number, d: Buffer[]): Buffer[] {
  if (d.length <= 1) return [];
  const k = split(d.length);
  return m < k
    ? [...path(m, d.slice(0, k)), mth(d.slice(k))]
    : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}
function subproof(m: number, d: Buffer[], b: boolean): Buffer[] {
  const n = d.length;
  if (m === n) return b ? [] : [mth(d)];
  const k = split(n);
  return m <= k
    ? [...subproof(m, d.slice(0, k), b), mth(d.slice(k))]
    : [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
}
const proof = (m: number, d: Buffer[]) => (m === 0 || m === d.length ? [] : subproof(m, d, true));

const leavesOf = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`${seed}:${i}`)));

describe('RFC 6962 published test data', () => {
  it('hashes the empty tree, and the roots of all eight prefixes', () => {
    expect(hex(EMPTY_ROOT)).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    const t = vectorTree();
    expect(ROOTS.map((_, i) => hex(t.root(i + 1)))).toEqual(ROOTS);
  });

  it.each(INCLUSION)('inclusion proof of leaf %i in the tree of %i', (index, size, expected) => {
    const t = vectorTree();
    expect(t.inclusionProof(index, size).map(hex)).toEqual(expected);
    const leaf = leafHash(unhex(LEAVES[index]!));
    expect(verifyInclusion(leaf, index, size, expected.map(unhex), unhex(ROOTS[size - 1]!))).toBe(
      true,
    );
  });

  it.each(CONSISTENCY)('consistency proof from %i to %i', (m, n, expected) => {
    const t = vectorTree();
    expect(t.consistencyProof(m, n).map(hex)).toEqual(expected);
    expect(
      verifyConsistency(m, n, unhex(ROOTS[m - 1]!), unhex(ROOTS[n - 1]!), expected.map(unhex)),
    ).toBe(true);
  });
});

describe('against the reference definitions, for random trees', () => {
  const sizes = fc.integer({ min: 1, max: 3000 });

  it('gives the same roots and inclusion proofs, which verify', () => {
    fc.assert(
      fc.property(sizes, fc.nat(), fc.nat(), (n, seed, pick) => {
        const d = leavesOf(n, seed);
        const t = new MemoryTree();
        d.forEach((l) => t.append(l));
        const size = 1 + (pick % n);
        const index = pick % size;
        const root = mth(d.slice(0, size));
        expect(hex(t.root(size))).toBe(hex(root));
        const p = t.inclusionProof(index, size);
        expect(p.map(hex)).toEqual(path(index, d.slice(0, size)).map(hex));
        expect(verifyInclusion(d[index]!, index, size, p, root)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('gives the same consistency proofs, which verify', () => {
    fc.assert(
      fc.property(sizes, fc.nat(), fc.nat(), (n, seed, pick) => {
        const d = leavesOf(n, seed);
        const t = new MemoryTree();
        d.forEach((l) => t.append(l));
        const m = pick % (n + 1);
        const p = t.consistencyProof(m, n);
        expect(p.map(hex)).toEqual(proof(m, d).map(hex));
        expect(verifyConsistency(m, n, mth(d.slice(0, m)), mth(d), p)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('refuses an inclusion proof with a changed bit, a missing hash, another index or root', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 2000 }), fc.nat(), fc.nat(), (n, seed, pick) => {
        const d = leavesOf(n, seed);
        const t = new MemoryTree();
        d.forEach((l) => t.append(l));
        const index = pick % n;
        const root = t.root();
        const p = t.inclusionProof(index, n);
        if (p.length > 0) {
          const bad = p.map((x) => Buffer.from(x));
          const at = pick % bad.length;
          bad[at]![pick % 32]! ^= 1 << (pick % 8);
          expect(verifyInclusion(d[index]!, index, n, bad, root)).toBe(false);
          expect(verifyInclusion(d[index]!, index, n, p.slice(1), root)).toBe(false);
        }
        expect(verifyInclusion(d[index]!, (index + 1) % n, n, p, root)).toBe(false);
        expect(verifyInclusion(d[index]!, index, n, p, leafHash(Buffer.from('x')))).toBe(false);
        expect(verifyInclusion(d[index]!, n, n, p, root)).toBe(false);
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a consistency proof with a changed bit, swapped roots, or from a forked history', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 2000 }), fc.nat(), fc.nat(), (n, seed, pick) => {
        const d = leavesOf(n, seed);
        const t = new MemoryTree();
        d.forEach((l) => t.append(l));
        const m = 1 + (pick % (n - 1)); // 1 ≤ m < n
        const p = t.consistencyProof(m, n);
        const [r1, r2] = [t.root(m), t.root(n)];
        const bad = p.map((x) => Buffer.from(x));
        bad[pick % bad.length]![pick % 32]! ^= 1 << (pick % 8);
        expect(verifyConsistency(m, n, r1, r2, bad)).toBe(false);
        expect(verifyConsistency(m, n, r2, r2, p)).toBe(false);
        expect(verifyConsistency(m, n, r1, r1, p)).toBe(false);
        // A different history of the same size: one leaf changed before m.
        const forked = [...d];
        forked[pick % m] = leafHash(Buffer.from('forged'));
        const f = new MemoryTree();
        forked.forEach((l) => f.append(l));
        expect(verifyConsistency(m, n, r1, f.root(n), f.consistencyProof(m, n))).toBe(false);
      }),
      { numRuns: 60 },
    );
  });
});

describe('at a million leaves', () => {
  it('makes inclusion and consistency proofs that verify', () => {
    const n = 1_000_000;
    const t = new MemoryTree();
    const leaf = (i: number) => leafHash(Buffer.from(String(i)));
    for (let i = 0; i < n; i += 1) t.append(leaf(i));
    const root = t.root();
    for (const index of [0, 1, 524_287, 524_288, 999_999]) {
      const p = t.inclusionProof(index);
      expect(p.length).toBeLessThanOrEqual(20);
      expect(verifyInclusion(leaf(index), index, n, p, root)).toBe(true);
    }
    for (const m of [1, 333_333, 524_288, 999_999])
      expect(verifyConsistency(m, n, t.root(m), root, t.consistencyProof(m, n))).toBe(true);
  }, 60_000);
});
