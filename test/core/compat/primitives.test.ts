import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { sha1Compress } from '../../../src/core/compat/sha1-compress.js';
import { siphash24 } from '../../../src/core/compat/siphash.js';

/** FIPS 180-4 padding of a message that fits one block (≤ 55 bytes). */
function padOneBlock(message: Uint8Array): Uint8Array {
  const block = new Uint8Array(64);
  block.set(message);
  block[message.length] = 0x80;
  new DataView(block.buffer).setBigUint64(56, BigInt(message.length * 8));
  return block;
}

function stateHex(state: number[]): string {
  return state.map((w) => w.toString(16).padStart(8, '0')).join('');
}

test('sha1Compress: one compression of the padded "abc" block is SHA-1("abc") (FIPS 180 example)', () => {
  const state = sha1Compress(padOneBlock(Buffer.from('abc')));
  assert.equal(stateHex(state), 'a9993e364706816aba3e25717850c26c9cd0d89d');
});

test('sha1Compress: agrees with node:crypto SHA-1 on every one-block message (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 55 }), (message) => {
      const ours = stateHex(sha1Compress(padOneBlock(message)));
      assert.equal(ours, createHash('sha1').update(message).digest('hex'));
    }),
    { numRuns: 300 },
  );
});

test('sha1Compress: chaining two compressions is SHA-1 of a two-block message', () => {
  const message = Buffer.alloc(100, 0x61);
  const padded = new Uint8Array(128);
  padded.set(message);
  padded[100] = 0x80;
  new DataView(padded.buffer).setBigUint64(120, 800n);
  const state = sha1Compress(padded.subarray(64, 128), sha1Compress(padded.subarray(0, 64)));
  assert.equal(stateHex(state), createHash('sha1').update(message).digest('hex'));
});

test('sha1Compress refuses a block that is not 64 bytes', () => {
  assert.throws(() => sha1Compress(new Uint8Array(63)), RangeError);
});

// The 64 SipHash-2-4 reference outputs (paper appendix / reference vectors.h): key 00..0f,
// message i = bytes 00..(i-1); each output as its 8 little-endian bytes.
const SIPHASH_VECTORS = [
  '310e0edd47db6f72', 'fd67dc93c539f874', '5a4fa9d909806c0d', '2d7efbd796666785', 'b7877127e09427cf', '8da699cd64557618',
  'cee3fe586e46c9cb', '37d1018bf50002ab', '6224939a79f5f593', 'b0e4a90bdf82009e', 'f3b9dd94c5bb5d7a', 'a7ad6b22462fb3f4',
  'fbe50e86bc8f1e75', '903d84c02756ea14', 'eef27a8e90ca23f7', 'e545be4961ca29a1', 'db9bc2577fcc2a3f', '9447be2cf5e99a69',
  '9cd38d96f0b3c14b', 'bd6179a71dc96dbb', '98eea21af25cd6be', 'c7673b2eb0cbf2d0', '883ea3e395675393', 'c8ce5ccd8c030ca8',
  '94af49f6c650adb8', 'eab8858ade92e1bc', 'f315bb5bb835d817', 'adcf6b0763612e2f', 'a5c91da7acaa4dde', '716595876650a2a6',
  '28ef495c53a387ad', '42c341d8fa92d832', 'ce7cf2722f512771', 'e37859f94623f3a7', '381205bb1ab0e012', 'ae97a10fd434e015',
  'b4a31508beff4d31', '81396229f0907902', '4d0cf49ee5d4dcca', '5c73336a76d8bf9a', 'd0a704536ba93e0e', '925958fcd6420cad',
  'a915c29bc8067318', '952b79f3bc0aa6d4', 'f21df2e41d4535f9', '87577519048f53a9', '10a56cf5dfcd9adb', 'eb75095ccd986cd0',
  '51a9cb9ecba312e6', '96afadfc2ce666c7', '72fe52975a4364ee', '5a1645b276d592a1', 'b274cb8ebf87870a', '6f9bb4203de7b381',
  'eaecb2a30b22a87f', '9924a43cc1315724', 'bd838d3aafbf8db7', '0b1a2a3265d51aea', '135079a3231ce660', '932b2846e4d70666',
  'e1915f5cb1eca46c', 'f325965ca16d629f', '575ff28e60381be5', '724506eb4c328a95',
];

test('siphash24: the 64 reference vectors of the SipHash paper', () => {
  assert.equal(SIPHASH_VECTORS.length, 64);
  const key = Uint8Array.from({ length: 16 }, (_, i) => i);
  SIPHASH_VECTORS.forEach((hex, i) => {
    const message = Uint8Array.from({ length: i }, (_, j) => j);
    const out = Buffer.alloc(8);
    out.writeBigUInt64LE(siphash24(key, message));
    assert.equal(out.toString('hex'), hex, `vector ${i}`);
  });
});

test('siphash24: the paper\'s worked example (15-byte message) is 0xa129ca6149be45e5', () => {
  const key = Uint8Array.from({ length: 16 }, (_, i) => i);
  assert.equal(siphash24(key, Uint8Array.from({ length: 15 }, (_, i) => i)), 0xa129ca6149be45e5n);
});

test('siphash24: reads the message at its offset inside a larger buffer (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 40 }), fc.nat(7), (key, message, pad) => {
      const big = new Uint8Array(pad + message.length);
      big.set(message, pad);
      assert.equal(siphash24(key, big.subarray(pad)), siphash24(key, Uint8Array.from(message)));
    }),
  );
});
