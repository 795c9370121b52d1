// RFC 6962 (Certificate Transparency) Merkle tree for the tamper-evident audit log. Pure: no I/O.
//
// Three independent parts:
// - hashing: the leaf/node domain separation of RFC 6962 §2.1;
// - building: roots and proofs over a HashSource, which only has to answer hashes of complete,
//   power-of-two-aligned subtrees, so a database can serve the same proofs from stored nodes;
//   MemoryTree is the in-memory source, caching those subtrees level by level as leaves arrive;
// - verifying: the RFC 9162 §2.1.3.2 / §2.1.4.2 algorithms, which share nothing with the builder
//   but the node hash, so the offline verifier never trusts the code that produced a proof.
//
// Sizes and indices are plain numbers; the code uses arithmetic (not 32-bit bit operators), so it
// stays correct for any safe integer.
import crypto from 'node:crypto';

/** Length of every hash in the tree (SHA-256). */
export const HASH_SIZE = 32;

/** MTH({}) = SHA-256 of the empty string: the root of the empty tree. */
export const EMPTY_ROOT: Buffer = crypto.hash('sha256', Buffer.alloc(0), 'buffer');

// Interior nodes are hashed from one reused scratch buffer (crypto.hash has consumed its input by
// the time it returns): a tree hashes one node per leaf, and one-shot hashing without a Hash
// object or a concatenation per node is what keeps a million-leaf build to a couple of seconds.
const nodeScratch = Buffer.alloc(1 + 2 * HASH_SIZE);
nodeScratch[0] = 0x01;

/** SHA-256(0x00 || data): the hash of one log entry. The prefix keeps leaves and nodes apart. */
export function leafHash(data: Uint8Array): Buffer {
  const input = Buffer.allocUnsafe(1 + data.length);
  input[0] = 0x00;
  input.set(data, 1);
  return crypto.hash('sha256', input, 'buffer');
}

/** SHA-256(0x01 || left || right): the hash of an interior node. Both children are 32 bytes. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE)
    throw new RangeError('node children must be 32-byte hashes');
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_SIZE);
  return crypto.hash('sha256', nodeScratch, 'buffer');
}

/** nodeHash of the two hashes stored back to back at bytes[offset, offset + 64). */
function adjacentNodeHash(bytes: Buffer, offset: number): Buffer {
  bytes.copy(nodeScratch, 1, offset, offset + 2 * HASH_SIZE);
  return crypto.hash('sha256', nodeScratch, 'buffer');
}

// ---------------------------------------------------------------------------------------------
// Building

/**
 * Where the prover gets its hashes. `subtreeHash(start, end)` is only ever asked for a complete
 * subtree: `end - start` a power of two, `start` a multiple of it, `end <= size`. Those hashes
 * never change once the leaves exist, so a database can store them and answer a proof with
 * O(log n) lookups.
 */
export interface HashSource {
  readonly size: number;
  subtreeHash(start: number, end: number): Uint8Array;
}

function isPowerOfTwo(n: number): boolean {
  if (!Number.isSafeInteger(n) || n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}

/** The RFC 6962 split: the largest power of two strictly below n (n >= 2). */
function splitOf(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The largest power of two that is at most n and divides start (start may be 0), n >= 1. */
function largestAlignedBlock(start: number, n: number): number {
  let k = 1;
  while (k * 2 <= n && start % (k * 2) === 0) k *= 2;
  return k;
}

/**
 * MTH of leaf hashes [start, end) of an array in one left-to-right pass: a stack of complete
 * subtrees (at most log2 n deep) merged like a binary counter, then folded right to left, which is
 * exactly the RFC recursion (left child complete, right child the rest). O(n) hashes, no slices.
 */
function rootOfRange(leaves: readonly Uint8Array[], start: number, end: number): Buffer {
  if (end <= start) return Buffer.from(EMPTY_ROOT);
  const stack: Uint8Array[] = [];
  const sizes: number[] = [];
  for (let i = start; i < end; i++) {
    const leaf = leaves[i];
    if (leaf?.length !== HASH_SIZE) throw new RangeError(`leaf hash ${i} is not 32 bytes`);
    let hash: Uint8Array = leaf;
    let size = 1;
    while (sizes.length > 0 && sizes[sizes.length - 1] === size) {
      hash = nodeHash(stack.pop()!, hash);
      sizes.pop();
      size *= 2;
    }
    stack.push(hash);
    sizes.push(size);
  }
  let root = stack.pop()!;
  while (stack.length > 0) root = nodeHash(stack.pop()!, root);
  return Buffer.from(root);
}

/** MTH(D[n]) of RFC 6962 §2.1, for the leaf hashes of a whole tree. */
export function rootFromLeafHashes(leafHashes: readonly Uint8Array[]): Buffer {
  return rootOfRange(leafHashes, 0, leafHashes.length);
}

/** A HashSource over a plain array of leaf hashes: no cache, so each proof costs O(n) hashes. */
export function arraySource(leafHashes: readonly Uint8Array[]): HashSource {
  return {
    size: leafHashes.length,
    subtreeHash: (start, end) => rootOfRange(leafHashes, start, end),
  };
}

function asSource(from: readonly Uint8Array[] | HashSource): HashSource {
  return Array.isArray(from) ? arraySource(from as readonly Uint8Array[]) : (from as HashSource);
}

function checkSize(size: number, source: HashSource): void {
  if (!Number.isSafeInteger(size) || size < 0 || size > source.size)
    throw new RangeError(`the tree has ${source.size} leaves, not ${size}`);
}

/**
 * Hashes of the nodes of the tree of `size` leaves, as the proofs need them. Every node is either a
 * complete subtree (asked of the source) or lies on the right border, [start, size), where start
 * is a boundary in the decomposition of size into complete subtrees; the border hashes are folded
 * once, so a proof asks the source for O(log n) hashes however ragged the tree is.
 */
function treeHasher(source: HashSource, size: number): (start: number, end: number) => Buffer {
  const border = new Map<number, Buffer>();
  let blocks: [number, number][] | undefined;
  let next = 0;
  let folded: Buffer | undefined;
  const complete = (start: number, end: number): Buffer => {
    const hash = source.subtreeHash(start, end);
    if (hash.length !== HASH_SIZE) throw new RangeError(`subtree [${start}, ${end}) hash length`);
    return Buffer.from(hash);
  };
  return (start, end) => {
    const n = end - start;
    if (isPowerOfTwo(n) && start % n === 0) return complete(start, end);
    if (end === size && !blocks) {
      blocks = [];
      for (let at = 0; at < size;) {
        const k = largestAlignedBlock(at, size - at);
        blocks.push([at, at + k]);
        at += k;
      }
      next = blocks.length - 1;
    }
    // Fold from the right only as far as asked: the outermost border node is asked first.
    while (end === size && blocks && !border.has(start) && next >= 0) {
      const [s, e] = blocks[next--]!;
      const h = complete(s, e);
      folded = folded ? nodeHash(h, folded) : h;
      border.set(s, folded);
    }
    const hash = end === size ? border.get(start) : undefined;
    if (!hash) throw new RangeError(`[${start}, ${end}) is not a node of a ${size}-leaf tree`);
    return hash;
  };
}

/** MTH of the first `size` leaves of a source (default: all of them). */
export function treeRoot(from: readonly Uint8Array[] | HashSource, size?: number): Buffer {
  const source = asSource(from);
  const n = size ?? source.size;
  checkSize(n, source);
  if (n === 0) return Buffer.from(EMPTY_ROOT);
  return treeHasher(source, n)(0, n);
}

/**
 * RFC 6962 §2.1.1 PATH(index, D[size]): the sibling hashes from the leaf up to the root. `from` is
 * the leaf hashes, or any HashSource; `size` defaults to all of its leaves.
 */
export function inclusionProof(
  index: number,
  from: readonly Uint8Array[] | HashSource,
  size?: number,
): Buffer[] {
  const source = asSource(from);
  const n = size ?? source.size;
  checkSize(n, source);
  if (!Number.isSafeInteger(index) || index < 0 || index >= n)
    throw new RangeError(`leaf ${index} is not in a tree of ${n}`);
  const hashOf = treeHasher(source, n);
  // Walk down from the root, noting the sibling at each level; PATH lists them bottom-up.
  const siblings: Buffer[] = [];
  let start = 0;
  let end = n;
  while (end - start > 1) {
    const k = splitOf(end - start);
    if (index < start + k) {
      siblings.push(hashOf(start + k, end));
      end = start + k;
    } else {
      siblings.push(hashOf(start, start + k));
      start += k;
    }
  }
  return siblings.reverse();
}

/**
 * RFC 6962 §2.1.2 PROOF(oldSize, D[size]): the hashes that show the tree of the first `oldSize`
 * leaves is a prefix of the tree of `size`. Empty when oldSize is 0 or equals size.
 */
export function consistencyProof(
  oldSize: number,
  from: readonly Uint8Array[] | HashSource,
  size?: number,
): Buffer[] {
  const source = asSource(from);
  const n = size ?? source.size;
  checkSize(n, source);
  if (!Number.isSafeInteger(oldSize) || oldSize < 0 || oldSize > n)
    throw new RangeError(`no consistency proof from ${oldSize} to ${n}`);
  if (oldSize === 0 || oldSize === n) return [];
  const hashOf = treeHasher(source, n);
  // SUBPROOF(m, D[start:end], whole) walked top-down; `whole` stays true while the old tree is
  // the left edge of a complete subtree, whose root the verifier already has.
  const siblings: Buffer[] = [];
  let m = oldSize;
  let start = 0;
  let end = n;
  let whole = true;
  while (m !== end - start) {
    const k = splitOf(end - start);
    if (m <= k) {
      siblings.push(hashOf(start + k, end));
      end = start + k;
    } else {
      siblings.push(hashOf(start, start + k));
      m -= k;
      start += k;
      whole = false;
    }
  }
  siblings.reverse();
  return whole ? siblings : [hashOf(start, end), ...siblings];
}

/**
 * An in-memory append-only tree. levels[h] holds, packed 32 bytes apiece, the hash of every
 * complete subtree of 2^h leaves (level 0: the leaf hashes), each written once when its last leaf
 * arrives. Any node of any prefix tree is then at most log2(n) cached hashes away, so roots and
 * proofs at a million leaves cost microseconds; memory is about 64 bytes per leaf.
 */
export class MemoryTree implements HashSource {
  private readonly levels: { bytes: Buffer; count: number }[] = [];

  constructor(leafHashes: Iterable<Uint8Array> = []) {
    for (const h of leafHashes) this.append(h);
  }

  get size(): number {
    return this.levels[0]?.count ?? 0;
  }

  /** Appends one leaf hash (leafHash of the entry) and completes the subtrees it closes. */
  append(hash: Uint8Array): void {
    if (hash.length !== HASH_SIZE) throw new RangeError('leaf hashes are 32 bytes');
    let h = 0;
    let index = this.push(0, hash);
    // An odd index is a right child: its parent is now complete. The two children sit side by
    // side in the level, so they are hashed in place.
    while (index % 2 === 1) {
      const parent = adjacentNodeHash(this.levels[h]!.bytes, (index - 1) * HASH_SIZE);
      h += 1;
      index = this.push(h, parent);
    }
  }

  /** Hash of the complete subtree [start, end): end - start a power of two dividing start. */
  subtreeHash(start: number, end: number): Buffer {
    const n = end - start;
    if (!isPowerOfTwo(n) || start % n !== 0 || start < 0 || end > this.size)
      throw new RangeError(`[${start}, ${end}) is not a complete subtree of ${this.size} leaves`);
    let h = 0;
    for (let width = 1; width < n; width *= 2) h += 1;
    return Buffer.from(this.at(h, start / n));
  }

  /** MTH of the first `size` leaves (default: all). */
  root(size: number = this.size): Buffer {
    return treeRoot(this, size);
  }

  /** PATH(index, D[size]) (default size: all leaves). */
  inclusionProof(index: number, size: number = this.size): Buffer[] {
    return inclusionProof(index, this, size);
  }

  /** PROOF(oldSize, D[newSize]) (default newSize: all leaves). */
  consistencyProof(oldSize: number, newSize: number = this.size): Buffer[] {
    return consistencyProof(oldSize, this, newSize);
  }

  private push(h: number, hash: Uint8Array): number {
    let level = this.levels[h];
    if (!level) {
      level = { bytes: Buffer.alloc(HASH_SIZE * 64), count: 0 };
      this.levels[h] = level;
    }
    if ((level.count + 1) * HASH_SIZE > level.bytes.length) {
      const grown = Buffer.alloc(level.bytes.length * 2);
      grown.set(level.bytes);
      level.bytes = grown;
    }
    level.bytes.set(hash, level.count * HASH_SIZE);
    return level.count++;
  }

  /** A view of a stored hash: never handed out, callers get copies. */
  private at(h: number, index: number): Uint8Array {
    const level = this.levels[h]!;
    return level.bytes.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE);
  }
}

// ---------------------------------------------------------------------------------------------
// Verifying: RFC 9162 §2.1.3.2 and §2.1.4.2, independent of everything above but nodeHash.

const isHash = (b: unknown): b is Uint8Array => b instanceof Uint8Array && b.length === HASH_SIZE;

const sameHash = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && Buffer.compare(a, b) === 0;

const isOdd = (x: number) => x % 2 === 1;
const half = (x: number) => Math.floor(x / 2);

/**
 * The root that `proof` leads to from `leaf` at `index` in a tree of `size` (RFC 9162 §2.1.3.2
 * steps 1-4 and the sn = 0 check of step 5), or null when the inputs cannot form such a proof.
 */
export function rootFromInclusionProof(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): Buffer | null {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size)) return null;
  if (index < 0 || index >= size || !isHash(leaf) || !Array.isArray(proof)) return null;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    if (!isHash(p) || sn === 0) return null;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 ? r : null;
}

/** Does `proof` show `leaf` at `index` of the tree of `size` leaves whose root is `root`? */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!isHash(root)) return false;
  const computed = rootFromInclusionProof(leaf, index, size, proof);
  return computed !== null && sameHash(computed, root);
}

/**
 * Does `proof` show the tree of `oldSize` leaves with `oldRoot` is a prefix of the tree of
 * `newSize` with `newRoot`? RFC 9162 §2.1.4.2 for 0 < oldSize < newSize. The edges are stricter
 * than "trivially consistent": equal sizes need equal roots and an empty proof, and a size-0 tree
 * must claim the empty root, since any other claim about it is false.
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize)) return false;
  if (oldSize < 0 || newSize < oldSize || !isHash(oldRoot) || !isHash(newRoot)) return false;
  if (!Array.isArray(proof) || !proof.every(isHash)) return false;
  if (oldSize === 0) {
    return (
      proof.length === 0 &&
      sameHash(oldRoot, EMPTY_ROOT) &&
      (newSize > 0 || sameHash(newRoot, EMPTY_ROOT))
    );
  }
  if (oldSize === newSize) return proof.length === 0 && sameHash(oldRoot, newRoot);

  // Step 1: a real extension always needs at least one hash.
  if (proof.length === 0) return false;
  // Step 2: when the old tree is a complete subtree, its root is the first node of the path.
  let isPow2 = true;
  for (let x = oldSize; x > 1; x /= 2) {
    if (isOdd(x)) {
      isPow2 = false;
      break;
    }
  }
  const path = isPow2 ? [oldRoot, ...proof] : [...proof];
  // Steps 3-4.
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // Step 5.
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = Buffer.from(path[0]!);
  // Step 6.
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // Step 7.
  return sn === 0 && sameHash(fr, oldRoot) && sameHash(sr, newRoot);
}

// ---------------------------------------------------------------------------------------------
// Hex, for checkpoints and bundles.

export const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** Strict hex decoding (Buffer.from silently stops at the first bad digit). */
export function fromHex(hex: string): Buffer {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new TypeError('not an even-length hex string');
  return Buffer.from(hex, 'hex');
}
