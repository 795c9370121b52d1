// RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification. Pure: no I/O.
//
// The in-memory tree keeps, level by level, the hash of every complete power-of-two-aligned
// subtree, so any subtree of a prefix tree is O(log n) hashes away and proofs at a million leaves
// take microseconds. Verification is written separately from construction (RFC 9162 §2.1.3.2 and
// §2.1.4.2), so the offline verifier never trusts the code that built the proof.
import crypto from 'node:crypto';

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

export const EMPTY_ROOT: Buffer = crypto.createHash('sha256').digest();

// One-shot hashing (crypto.hash) is several times faster than a Hash object per node.
const sha256 = (data: Buffer): Buffer => crypto.hash('sha256', data, 'buffer');

/** SHA-256(0x00 || data). */
export function leafHash(data: Uint8Array): Buffer {
  return sha256(Buffer.concat([LEAF, data]));
}

/** SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return sha256(Buffer.concat([NODE, left, right], 65));
}

/** Largest power of two strictly below n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export class MemoryTree {
  /** levels[h][i]: hash of the complete subtree of 2^h leaves starting at leaf i * 2^h. */
  private readonly levels: Buffer[][] = [[]];

  get size(): number {
    return this.levels[0]!.length;
  }

  append(leaf: Uint8Array): void {
    let hash: Buffer = Buffer.from(leaf);
    let h = 0;
    this.levels[0]!.push(hash);
    // Each time a level gains a right sibling, their parent becomes complete.
    while (this.levels[h]!.length % 2 === 0) {
      const level = this.levels[h]!;
      hash = nodeHash(level[level.length - 2]!, level[level.length - 1]!);
      h += 1;
      (this.levels[h] ??= []).push(hash);
    }
  }

  /** Hash of leaves [start, end) of the tree, per RFC 6962 MTH (any start, end within size). */
  subtree(start: number, end: number): Buffer {
    const n = end - start;
    if (n === 0) return EMPTY_ROOT;
    // A complete aligned subtree is stored.
    if ((n & (n - 1)) === 0 && start % n === 0) {
      const h = Math.log2(n);
      const stored = this.levels[h]?.[start / n];
      if (stored) return stored;
    }
    const k = splitPoint(n);
    return nodeHash(this.subtree(start, start + k), this.subtree(start + k, end));
  }

  /** Root of the tree of the first `size` leaves. */
  root(size = this.size): Buffer {
    this.check(size);
    return this.subtree(0, size);
  }

  /** RFC 6962 §2.1.1 PATH(m, D[size]). */
  inclusionProof(index: number, size = this.size): Buffer[] {
    this.check(size);
    if (!Number.isInteger(index) || index < 0 || index >= size)
      throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
    const proof: Buffer[] = [];
    const path = (m: number, start: number, end: number) => {
      const n = end - start;
      if (n <= 1) return;
      const k = splitPoint(n);
      if (m < k) {
        path(m, start, start + k);
        proof.push(this.subtree(start + k, end));
      } else {
        path(m - k, start + k, end);
        proof.push(this.subtree(start, start + k));
      }
    };
    path(index, 0, size);
    return proof;
  }

  /** RFC 6962 §2.1.2 PROOF(m, D[size]): the tree of `m` leaves is a prefix of the tree of `size`. */
  consistencyProof(m: number, size = this.size): Buffer[] {
    this.check(size);
    if (!Number.isInteger(m) || m < 0 || m > size)
      throw new RangeError(`no consistency from ${m} to ${size}`);
    const proof: Buffer[] = [];
    if (m === 0 || m === size) return proof;
    const sub = (m: number, start: number, end: number, complete: boolean) => {
      const n = end - start;
      if (m === n) {
        if (!complete) proof.push(this.subtree(start, end));
        return;
      }
      const k = splitPoint(n);
      if (m <= k) {
        sub(m, start, start + k, complete);
        proof.push(this.subtree(start + k, end));
      } else {
        sub(m - k, start + k, end, false);
        proof.push(this.subtree(start, start + k));
      }
    };
    sub(m, 0, size, true);
    return proof;
  }

  private check(size: number): void {
    if (!Number.isInteger(size) || size < 0 || size > this.size)
      throw new RangeError(`the tree has ${this.size} leaves, not ${size}`);
  }
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.from(a).equals(b);

/** RFC 9162 §2.1.3.2: does `proof` lead from leaf `index` of a tree of `size` to `root`? */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size)
    return false;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    if (p.length !== 32 || sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && same(r, root);
}

/** RFC 9162 §2.1.4.2: is the tree of `size1` with `root1` a prefix of the tree of `size2`? */
export function verifyConsistency(
  size1: number,
  size2: number,
  root1: Uint8Array,
  root2: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2)) return false;
  if (size1 < 0 || size2 < size1) return false;
  if (size1 === size2) return proof.length === 0 && same(root1, root2);
  if (size1 === 0) return proof.length === 0;
  if (proof.some((p) => p.length !== 32)) return false;
  let path = [...proof];
  // When size1 is a power of two, its root is the first node of the path.
  if ((size1 & (size1 - 1)) === 0) path = [Buffer.from(root1), ...path];
  if (path.length === 0) return false;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = Buffer.from(path[0]!);
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return same(fr, root1) && same(sr, root2) && sn === 0;
}
