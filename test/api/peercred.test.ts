import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeGroups, decodeUcred, readPeerCredentials, socketFd, UCRED_SIZE, type PeerCredentials } from '../../src/platform/linux/peercred.js';

test('struct ucred: pid i32 at 0, uid u32 at 4, gid u32 at 8 (12 bytes)', () => {
  assert.equal(UCRED_SIZE, 12);
  // pid 4242 (0x1092), uid 65534 (0xfffe), gid 4294967294 (0xfffffffe), little-endian
  const bytes = Uint8Array.from([0x92, 0x10, 0x00, 0x00, 0xfe, 0xff, 0x00, 0x00, 0xfe, 0xff, 0xff, 0xff]);
  assert.deepEqual(decodeUcred(bytes), { pid: 4242, uid: 65534, gid: 4294967294 });
  assert.deepEqual(decodeUcred(Uint8Array.from([0, 0, 0x10, 0x92, 0, 0, 0, 1, 0, 0, 0, 2]), false), { pid: 4242, uid: 1, gid: 2 });
  assert.throws(() => decodeUcred(new Uint8Array(8)), RangeError);
  assert.deepEqual(decodeGroups(Uint8Array.from([4, 0, 0, 0, 24, 0, 0, 0, 0xe8, 3, 0, 0])), [4, 24, 1000]);
  assert.deepEqual(decodeGroups(new Uint8Array(0)), []);
});

test('SO_PEERCRED on an accepted Unix socket names this very process', { skip: process.platform !== 'linux' }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 's6pc-'));
  const socketPath = path.join(dir, 's.sock');
  try {
    const seen = await new Promise<PeerCredentials>((resolve, reject) => {
      const server = net.createServer((socket) => {
        try {
          assert.ok(socketFd(socket) >= 0);
          resolve(readPeerCredentials(socket));
        } catch (error) {
          reject(error as Error);
        } finally {
          socket.destroy();
          server.close();
        }
      });
      server.listen(socketPath, () => net.connect(socketPath).on('error', () => undefined));
    });
    assert.equal(seen.pid, process.pid);
    assert.equal(seen.uid, process.getuid?.());
    assert.equal(seen.gid, process.getgid?.());
    // SO_PEERGROUPS: the supplementary groups as the kernel holds them (getgroups may add the egid).
    const expected = new Set(process.getgroups?.() ?? []);
    for (const gid of seen.groups) assert.ok(expected.has(gid), `group ${gid}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
