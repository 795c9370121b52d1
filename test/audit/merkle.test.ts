// The audit log's RFC 6962 Merkle tree (audit/merkle.ts): the published certificate-transparency
// test data (the eight-leaf tree of certificate-transparency-go / transparency-dev/merkle), a naive
// recursive reference written straight from RFC 6962 §2.1 for random trees, tampering, and a
// million-leaf tree.
import crypto from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_ROOT,
  MemoryTree,
  arraySource,
  consistencyProof,
  fromHex,
  inclusionProof,
  leafHash,
  nodeHash,
  rootFromInclusionProof,
  rootFromLeafHashes,
  toHex,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
  type HashSource,
} from '../../audit/merkle.js';

const hexes = (proof: readonly Uint8Array[]) => proof.map(toHex);

// ---------------------------------------------------------------------------------------------
// Published test data (transparency-dev/merkle testonly/constants.go and proof/verify_test.go).

const INPUTS = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(fromHex);

/** Hashes of every complete subtree of the eight-leaf tree, by level then position. */
const NODES = [
  [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
    '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
    'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
    '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
  ],
  [
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  ],
  [
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  ],
  ['5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'],
];

/** ROOTS[n]: the root of the tree of the first n inputs. */
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

// The published vectors number leaves from 1; these are 0-based indices.
const INCLUSION_VECTORS: { index: number; size: number; proof: string[] }[] = [
  { index: 0, size: 1, proof: [] },
  { index: 0, size: 8, proof: [NODES[0]![1]!, NODES[1]![1]!, NODES[2]![1]!] },
  { index: 5, size: 8, proof: [NODES[0]![4]!, NODES[1]![3]!, NODES[2]![0]!] },
  { index: 2, size: 3, proof: [NODES[1]![0]!] },
  { index: 1, size: 5, proof: [NODES[0]![0]!, NODES[1]![1]!, NODES[0]![4]!] },
];

const CONSISTENCY_VECTORS: { m: number; n: number; proof: string[] }[] = [
  { m: 1, n: 1, proof: [] },
  { m: 1, n: 8, proof: [NODES[0]![1]!, NODES[1]![1]!, NODES[2]![1]!] },
  { m: 6, n: 8, proof: [NODES[1]![2]!, NODES[1]![3]!, NODES[2]![0]!] },
  { m: 2, n: 5, proof: [NODES[1]![1]!, NODES[0]![4]!] },
  { m: 6, n: 7, proof: [NODES[1]![2]!, NODES[0]![6]!, NODES[2]![0]!] },
];

const LEAVES = INPUTS.map(leafHash);
const root = (n: number) => fromHex(ROOTS[n]!);
const SOME_HASH = fromHex('abacaba000000000000000000000000000000000000000000060061e00123456');

// ---------------------------------------------------------------------------------------------
// A naive reference, recursive on array slices exactly as RFC 6962 §2.1 defines it, with its own
// hashing, so it shares no code with the module under test.

const refNode = (a: Uint8Array, b: Uint8Array) =>
  crypto
    .createHash('sha256')
    .update(Buffer.from([1]))
    .update(a)
    .update(b)
    .digest();

const refSplit = (n: number) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};

function refMth(d: readonly Buffer[]): Buffer {
  if (d.length === 0) return crypto.createHash('sha256').digest();
  if (d.length === 1) return d[0]!;
  const k = refSplit(d.length);
  return refNode(refMth(d.slice(0, k)), refMth(d.slice(k)));
}

function refPath(m: number, d: readonly Buffer[]): Buffer[] {
  if (d.length <= 1) return [];
  const k = refSplit(d.length);
  return m < k
    ? [...refPath(m, d.slice(0, k)), refMth(d.slice(k))]
    : [...refPath(m - k, d.slice(k)), refMth(d.slice(0, k))];
}

function refSubproof(m: number, d: readonly Buffer[], b: boolean): Buffer[] {
  if (m === d.length) return b ? [] : [refMth(d)];
  const k = refSplit(d.length);
  return m <= k
    ? [...refSubproof(m, d.slice(0, k), b), refMth(d.slice(k))]
    : [...refSubproof(m - k, d.slice(k), false), refMth(d.slice(0, k))];
}

const refProof = (m: number, d: readonly Buffer[]) => (m === 0 ? [] : refSubproof(m, d, true));

/**
 * The shape of a proof: on which side each sibling lies, root to leaf ('X': the old tree's own
 * node is sent). A verifier sees only hashes and sizes, so two sizes with the same shape accept
 * the same proofs; any other shape must be rejected.
 */
function pathShape(m: number, n: number): string {
  if (n <= 1) return '';
  const k = refSplit(n);
  return m < k ? 'R' + pathShape(m, k) : 'L' + pathShape(m - k, n - k);
}

function proofShape(m: number, n: number, b = true): string {
  if (m === n) return b ? '' : 'X';
  const k = refSplit(n);
  return m <= k ? 'R' + proofShape(m, k, b) : 'L' + proofShape(m - k, n - k, false);
}

const makeLeaves = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`${seed}:${i}`)));

/** A copy of `proof` with one bit of one element flipped. */
function flip(proof: readonly Buffer[], element: number, bit: number): Buffer[] {
  const copy = proof.map((p) => Buffer.from(p));
  copy[element]![bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

// ---------------------------------------------------------------------------------------------

describe('hashing (RFC 6962 §2.1)', () => {
  it('hashes the empty tree, leaves and nodes with the published values', () => {
    expect(toHex(EMPTY_ROOT)).toBe(ROOTS[0]);
    expect(LEAVES.map(toHex)).toEqual(NODES[0]);
    for (let level = 1; level < NODES.length; level++) {
      const below = NODES[level - 1]!.map(fromHex);
      const expected = NODES[level]!;
      expected.forEach((hex, i) =>
        expect(toHex(nodeHash(below[2 * i]!, below[2 * i + 1]!))).toBe(hex),
      );
    }
  });

  it('separates leaves from nodes: a leaf hash is never the node hash of the same bytes', () => {
    const [a, b] = [LEAVES[1]!, LEAVES[2]!];
    expect(toHex(leafHash(Buffer.concat([a, b])))).not.toBe(toHex(nodeHash(a, b)));
  });

  it('refuses node children that are not 32-byte hashes', () => {
    expect(() => nodeHash(Buffer.alloc(31), LEAVES[0]!)).toThrow(RangeError);
  });

  it('decodes hex strictly', () => {
    expect(toHex(fromHex('00ff'))).toBe('00ff');
    expect(() => fromHex('0g')).toThrow(TypeError);
    expect(() => fromHex('abc')).toThrow(TypeError);
  });
});

describe('published test vectors', () => {
  it('gives the known roots for 0..8 leaves, from the array and from MemoryTree', () => {
    const tree = new MemoryTree();
    for (let n = 0; n <= 8; n++) {
      if (n > 0) tree.append(LEAVES[n - 1]!);
      expect(toHex(rootFromLeafHashes(LEAVES.slice(0, n))), `size ${n}`).toBe(ROOTS[n]);
      expect(toHex(tree.root()), `size ${n}`).toBe(ROOTS[n]);
    }
    for (let n = 0; n <= 8; n++) expect(toHex(tree.root(n))).toBe(ROOTS[n]);
  });

  it('caches every complete subtree with the published node hashes', () => {
    const tree = new MemoryTree(LEAVES);
    NODES.forEach((level, h) =>
      level.forEach((hex, i) => {
        const width = 2 ** h;
        expect(toHex(tree.subtreeHash(i * width, (i + 1) * width))).toBe(hex);
      }),
    );
    expect(() => tree.subtreeHash(1, 3)).toThrow(RangeError);
    expect(() => tree.subtreeHash(0, 3)).toThrow(RangeError);
    expect(() => tree.subtreeHash(8, 9)).toThrow(RangeError);
  });

  it.each(INCLUSION_VECTORS)(
    'inclusion of leaf $index in a tree of $size',
    ({ index, size, proof }) => {
      const tree = new MemoryTree(LEAVES);
      expect(hexes(inclusionProof(index, LEAVES.slice(0, size)))).toEqual(proof);
      expect(hexes(tree.inclusionProof(index, size))).toEqual(proof);
      const p = proof.map(fromHex);
      expect(verifyInclusion(LEAVES[index]!, index, size, p, root(size))).toBe(true);
      expect(toHex(rootFromInclusionProof(LEAVES[index]!, index, size, p)!)).toBe(ROOTS[size]);
    },
  );

  it.each(CONSISTENCY_VECTORS)('consistency from $m to $n', ({ m, n, proof }) => {
    const tree = new MemoryTree(LEAVES);
    expect(hexes(consistencyProof(m, LEAVES.slice(0, n)))).toEqual(proof);
    expect(hexes(tree.consistencyProof(m, n))).toEqual(proof);
    expect(verifyConsistency(m, n, root(m), root(n), proof.map(fromHex))).toBe(true);
  });

  // The corruptions of transparency-dev's verifier tests, plus every single-bit flip.
  it.each(INCLUSION_VECTORS.filter((v) => v.proof.length > 0))(
    'rejects tampered inclusion proofs of leaf $index in $size',
    ({ index, size, proof: hexProof }) => {
      const proof = hexProof.map(fromHex);
      const leaf = LEAVES[index]!;
      const r = root(size);
      const probes: [number, number, Uint8Array, Uint8Array[], Uint8Array][] = [
        [index - 1, size, leaf, proof, r],
        [index + 1, size, leaf, proof, r],
        [index ^ 2, size, leaf, proof, r],
        [index, size * 2, leaf, proof, r],
        [index, Math.floor(size / 2), leaf, proof, r],
        [index, size, Buffer.from('WrongLeaf'), proof, r],
        [index, size, LEAVES[(index + 1) % 8]!, proof, r],
        [index, size, leaf, proof, EMPTY_ROOT],
        [index, size, leaf, proof, SOME_HASH],
        [index, size, leaf, [...proof, Buffer.alloc(0)], r],
        [index, size, leaf, [...proof, r], r],
        [index, size, leaf, [Buffer.alloc(0), ...proof], r],
        [index, size, leaf, [r, ...proof], r],
        [index, size, leaf, proof.slice(0, -1), r],
        [index, size, leaf, [proof[0]!, SOME_HASH, ...proof.slice(1)], r],
      ];
      for (const [i, s, l, p, rt] of probes) expect(verifyInclusion(l, i, s, p, rt)).toBe(false);
      for (let e = 0; e < proof.length; e++)
        for (let bit = 0; bit < 256; bit++)
          expect(verifyInclusion(leaf, index, size, flip(proof, e, bit), r)).toBe(false);
    },
  );

  it.each(CONSISTENCY_VECTORS.filter((v) => v.proof.length > 0))(
    'rejects tampered consistency proofs from $m to $n',
    ({ m, n, proof: hexProof }) => {
      const proof = hexProof.map(fromHex);
      const [r1, r2] = [root(m), root(n)];
      const wrong = Buffer.from('WrongRoot');
      const probes: [number, number, Uint8Array, Uint8Array, Uint8Array[]][] = [
        [m - 1, n, r1, r2, proof],
        [m + 1, n, r1, r2, proof],
        [m ^ 2, n, r1, r2, proof],
        [m, n * 2, r1, r2, proof],
        [m, Math.floor(n / 2), r1, r2, proof],
        [m, n, wrong, r2, proof],
        [m, n, r1, wrong, proof],
        [m, n, SOME_HASH, r2, proof],
        [m, n, r1, SOME_HASH, proof],
        [m, n, r2, r1, proof],
        [m, n, r1, r2, []],
        [m, n, r1, r2, [...proof, Buffer.alloc(0)]],
        [m, n, r1, r2, [...proof, r1]],
        [m, n, r1, r2, [...proof, r2]],
        [m, n, r1, r2, [Buffer.alloc(0), ...proof]],
        [m, n, r1, r2, [r1, ...proof]],
        [m, n, r1, r2, [r2, ...proof]],
        [m, n, r1, r2, [proof[0]!, ...proof]],
        [m, n, r1, r2, proof.slice(0, -1)],
      ];
      for (const [a, b, ra, rb, p] of probes)
        expect(verifyConsistency(a, b, ra, rb, p)).toBe(false);
      for (let e = 0; e < proof.length; e++)
        for (let bit = 0; bit < 256; bit++)
          expect(verifyConsistency(m, n, r1, r2, flip(proof, e, bit))).toBe(false);
    },
  );
});

describe('verification edge cases', () => {
  it('accepts a one-leaf tree whose root is the leaf, and nothing else', () => {
    const h = leafHash(Buffer.from('data'));
    expect(verifyInclusion(h, 0, 1, [], h)).toBe(true);
    expect(verifyInclusion(h, 0, 1, [], Buffer.alloc(0))).toBe(false);
    expect(verifyInclusion(Buffer.alloc(0), 0, 1, [], h)).toBe(false);
    expect(verifyInclusion(Buffer.alloc(0), 0, 1, [], Buffer.alloc(0))).toBe(false);
  });

  it('returns false, never throws, for impossible indices, sizes and malformed proofs', () => {
    const proof = [LEAVES[1]!];
    const r = root(2);
    const leaf = LEAVES[0]!;
    expect(verifyInclusion(leaf, 0, 2, proof, r)).toBe(true);
    for (const [index, size] of [
      [0, 0],
      [1, 0],
      [2, 1],
      [2, 2],
      [-1, 2],
      [0.5, 2],
      [0, 2.5],
      [Number.NaN, 2],
      [0, Number.POSITIVE_INFINITY],
      [0, 2 ** 53],
    ] as const) {
      expect(verifyInclusion(leaf, index, size, proof, r)).toBe(false);
      expect(rootFromInclusionProof(leaf, index, size, proof)).toBeNull();
    }
    const bad = [['not bytes'], [null], [Buffer.alloc(33)]] as unknown as Uint8Array[][];
    for (const p of bad) expect(verifyInclusion(leaf, 0, 2, p, r)).toBe(false);
    expect(verifyInclusion(leaf, 0, 2, null as unknown as Uint8Array[], r)).toBe(false);
    expect(verifyInclusion(leaf, 0, 2, proof, r.subarray(1))).toBe(false);
  });

  it('treats the edges of consistency strictly: equal sizes need equal roots, size 0 the empty root', () => {
    const [r1, r5] = [root(1), root(5)];
    const cases: [number, number, Uint8Array, Uint8Array, Uint8Array[], boolean][] = [
      [0, 0, EMPTY_ROOT, EMPTY_ROOT, [], true],
      [0, 0, r1, r1, [], false],
      [0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], false],
      [0, 5, EMPTY_ROOT, r5, [], true],
      [0, 5, r1, r5, [], false],
      [0, 5, EMPTY_ROOT, r5, [EMPTY_ROOT], false],
      [1, 1, r1, r1, [], true],
      [1, 1, r1, r5, [], false],
      [1, 1, r1, r1, [EMPTY_ROOT], false],
      [1, 0, r1, EMPTY_ROOT, [], false],
      [2, 1, root(2), r1, [], false],
      [1, 2, r1, root(2), [], false],
      [1, 2, r1, root(2), [LEAVES[1]!], true],
      [1, 2, r1.subarray(1), root(2), [LEAVES[1]!], false],
      [1, 2, r1, root(2), [LEAVES[1]!.subarray(1)], false],
      [-1, 2, r1, root(2), [LEAVES[1]!], false],
      [1, Number.NaN, r1, root(2), [LEAVES[1]!], false],
      [1.5, 2, r1, root(2), [LEAVES[1]!], false],
    ];
    for (const [m, n, a, b, p, want] of cases) expect(verifyConsistency(m, n, a, b, p)).toBe(want);
    expect(verifyConsistency(1, 2, r1, root(2), [null] as unknown as Uint8Array[])).toBe(false);
  });

  it('throws on impossible requests when building proofs', () => {
    const tree = new MemoryTree(LEAVES);
    expect(() => tree.inclusionProof(8)).toThrow(RangeError);
    expect(() => tree.inclusionProof(0, 9)).toThrow(RangeError);
    expect(() => tree.inclusionProof(0, 0)).toThrow(RangeError);
    expect(() => tree.consistencyProof(9)).toThrow(RangeError);
    expect(() => tree.consistencyProof(3, 2)).toThrow(RangeError);
    expect(() => tree.root(9)).toThrow(RangeError);
    expect(() => tree.append(Buffer.alloc(31))).toThrow(RangeError);
    expect(() => rootFromLeafHashes([Buffer.alloc(5)])).toThrow(RangeError);
    expect(tree.consistencyProof(0)).toEqual([]);
    expect(tree.consistencyProof(8)).toEqual([]);
  });
});

describe('against the naive RFC 6962 reference', () => {
  // One shared tree for the tampering properties; its proofs are checked against the reference
  // by the first property, at random prefix sizes.
  const SHARED = makeLeaves(4096, 7);
  const shared = new MemoryTree(SHARED);
  const sizeArb = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 3000 }));

  it('roots and proofs equal the reference and verify, for random trees and prefixes', () => {
    fc.assert(
      fc.property(sizeArb, fc.nat(), fc.nat(), fc.nat(), fc.nat(), (n, seed, s0, i0, m0) => {
        const leaves = makeLeaves(n, seed);
        const tree = new MemoryTree(leaves);
        const size = 1 + (s0 % n);
        const index = i0 % size;
        const m = m0 % (size + 1);
        const prefix = leaves.slice(0, size);

        const r = toHex(refMth(prefix));
        expect(toHex(rootFromLeafHashes(prefix))).toBe(r);
        expect(toHex(tree.root(size))).toBe(r);
        expect(toHex(treeRoot(leaves, size))).toBe(r);

        const path = hexes(refPath(index, prefix));
        expect(hexes(inclusionProof(index, prefix))).toEqual(path);
        expect(hexes(inclusionProof(index, leaves, size))).toEqual(path);
        expect(hexes(tree.inclusionProof(index, size))).toEqual(path);

        const proof = hexes(refProof(m, prefix));
        expect(hexes(consistencyProof(m, prefix))).toEqual(proof);
        expect(hexes(tree.consistencyProof(m, size))).toEqual(proof);

        const rootBytes = fromHex(r);
        expect(verifyInclusion(leaves[index]!, index, size, path.map(fromHex), rootBytes)).toBe(
          true,
        );
        const oldRoot = refMth(leaves.slice(0, m));
        expect(verifyConsistency(m, size, oldRoot, rootBytes, proof.map(fromHex))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('rejects an inclusion proof with a flipped bit, another leaf, index, size or root', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 4096 }),
        fc.nat(),
        fc.nat(),
        fc.nat(255),
        fc.nat(),
        fc.integer({ min: 1, max: 4096 }),
        (size, i0, e0, bit, other0, otherSize) => {
          const index = i0 % size;
          const leaf = SHARED[index]!;
          const proof = shared.inclusionProof(index, size);
          const r = shared.root(size);
          expect(verifyInclusion(leaf, index, size, proof, r)).toBe(true);

          const e = e0 % proof.length;
          expect(verifyInclusion(leaf, index, size, flip(proof, e, bit), r)).toBe(false);

          const other = other0 % size;
          if (other !== index) {
            expect(verifyInclusion(leaf, other, size, proof, r)).toBe(false);
            expect(verifyInclusion(SHARED[other]!, index, size, proof, r)).toBe(false);
          }
          // Another size verifies exactly when the tree has the same shape along this path:
          // then the claim is the same one, and nothing in the proof can tell them apart.
          const same = otherSize > index && pathShape(index, otherSize) === pathShape(index, size);
          expect(verifyInclusion(leaf, index, otherSize, proof, r)).toBe(same);
          if (otherSize !== size) {
            expect(verifyInclusion(leaf, index, size, proof, shared.root(otherSize))).toBe(false);
          }
          expect(verifyInclusion(leaf, index, size, proof, crypto.randomBytes(32))).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rejects a consistency proof with a flipped bit, other sizes or other roots', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 4096 }),
        fc.nat(),
        fc.nat(),
        fc.nat(255),
        fc.integer({ min: 2, max: 4096 }),
        fc.nat(),
        (n, m0, e0, bit, n2, m2) => {
          const m = 1 + (m0 % (n - 1));
          const proof = shared.consistencyProof(m, n);
          const [r1, r2] = [shared.root(m), shared.root(n)];
          expect(verifyConsistency(m, n, r1, r2, proof)).toBe(true);

          const e = e0 % proof.length;
          expect(verifyConsistency(m, n, r1, r2, flip(proof, e, bit))).toBe(false);
          expect(verifyConsistency(m, n, r2, r1, proof)).toBe(false);
          expect(verifyConsistency(m, n, r1, crypto.randomBytes(32), proof)).toBe(false);
          expect(verifyConsistency(m, n, crypto.randomBytes(32), r2, proof)).toBe(false);
          expect(verifyConsistency(m, n, r1, r2, proof.slice(1))).toBe(false);
          expect(verifyConsistency(m, n, r1, r2, [...proof, r2])).toBe(false);

          // Other sizes with the same roots: accepted exactly when the proof has the same shape.
          const otherM = 1 + (m2 % (n2 - 1));
          for (const [a, b] of [
            [otherM, n2],
            [m, n2],
            [otherM, n],
          ] as const) {
            if (a >= b) continue;
            const same = proofShape(a, b) === proofShape(m, n);
            expect(verifyConsistency(a, b, r1, r2, proof), `${m}->${n} as ${a}->${b}`).toBe(same);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('serves proofs from any HashSource with O(log n) subtree lookups', () => {
    let calls = 0;
    const counting: HashSource = {
      size: shared.size,
      subtreeHash: (start, end) => {
        calls += 1;
        return shared.subtreeHash(start, end);
      },
    };
    for (const [index, size] of [
      [0, 4096],
      [4094, 4095],
      [1234, 3333],
      [2999, 3001],
    ] as const) {
      calls = 0;
      const proof = inclusionProof(index, counting, size);
      expect(hexes(proof)).toEqual(hexes(inclusionProof(index, arraySource(SHARED), size)));
      expect(calls).toBeLessThanOrEqual(2 * 12);
      calls = 0;
      expect(hexes(consistencyProof(index, counting, size))).toEqual(
        hexes(consistencyProof(index, SHARED, size)),
      );
      expect(calls).toBeLessThanOrEqual(2 * 12 + 1);
    }
  });
});

describe('a million leaves', () => {
  it('builds once, then proves inclusion and consistency in milliseconds', () => {
    const N = 1_000_000;
    // The tree never looks inside a leaf hash, so the leaves are the counter itself, padded to
    // 32 bytes: hashing a million entries first would double the time and test nothing more.
    const leafAt = (i: number) => {
      const leaf = Buffer.alloc(32, 0xa5);
      leaf.writeUInt32BE(i);
      return leaf;
    };

    // CPU time too: wall time on a shared machine says more about the neighbours than the code.
    const cpu = process.cpuUsage();
    let t = performance.now();
    const tree = new MemoryTree();
    for (let i = 0; i < N; i++) tree.append(leafAt(i));
    const buildMs = performance.now() - t;
    const { user, system } = process.cpuUsage(cpu);
    expect(tree.size).toBe(N);

    t = performance.now();
    const r = tree.root();
    const rootMs = performance.now() - t;

    // A prefix root from the cache equals the one-pass array root of the same leaves.
    const prefix = Array.from({ length: 65_537 }, (_, i) => leafAt(i));
    expect(toHex(tree.root(prefix.length))).toBe(toHex(rootFromLeafHashes(prefix)));

    const rounds = 100;
    const indices = Array.from({ length: rounds }, (_, k) => (k * 7_919_993 + 12_345) % N);
    t = performance.now();
    const inclusions = indices.map((i) => tree.inclusionProof(i));
    const inclusionMs = performance.now() - t;
    t = performance.now();
    const consistencies = indices.map((m) => tree.consistencyProof(m));
    const consistencyMs = performance.now() - t;
    const oldRoots = indices.map((m) => tree.root(m));

    t = performance.now();
    indices.forEach((i, k) => {
      expect(inclusions[k]!.length).toBeLessThanOrEqual(20);
      expect(verifyInclusion(leafAt(i), i, N, inclusions[k]!, r)).toBe(true);
      expect(verifyConsistency(i, N, oldRoots[k]!, r, consistencies[k]!)).toBe(true);
    });
    const verifyMs = performance.now() - t;

    // Edges: the last leaf, and the step from N - 1.
    expect(verifyInclusion(leafAt(N - 1), N - 1, N, tree.inclusionProof(N - 1), r)).toBe(true);
    const last = tree.consistencyProof(N - 1);
    expect(verifyConsistency(N - 1, N, tree.root(N - 1), r, last)).toBe(true);

    console.log(
      `merkle 1M: build ${buildMs.toFixed(0)} ms (cpu ${((user + system) / 1000).toFixed(0)} ms), root ${rootMs.toFixed(2)} ms, ` +
        `${rounds} inclusion proofs ${inclusionMs.toFixed(1)} ms, ` +
        `${rounds} consistency proofs ${consistencyMs.toFixed(1)} ms, ` +
        `${2 * rounds} verifications ${verifyMs.toFixed(1)} ms`,
    );
    // Generous against a loaded machine; the cached tree needs about 50 µs per proof.
    expect(inclusionMs + consistencyMs).toBeLessThan(1_000);
  });
});
