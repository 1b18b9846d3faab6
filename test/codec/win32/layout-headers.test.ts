// Every Win32 struct size, field offset, field width and enum value in src/codec/win32 is
// checked by a C compiler against the real Windows SDK headers (mingw-w64), as
// wireguard-windows does for winipcfg. Needs the Debian packages gcc-mingw-w64-x86-64 and
// mingw-w64-x86-64-dev (installed by .ci/run); under CI=true a missing compiler fails.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cLayoutAssertions } from '../../../src/codec/win32/c-assertions.js';
import { fieldAlign, fieldSize, layoutFacts, type StructLayout } from '../../../src/codec/win32/layout.js';
import { ALL_LAYOUTS, MIB_UNICASTIPADDRESS_ROW } from '../../../src/codec/win32/structs.js';

const CC = 'x86_64-w64-mingw32-gcc';

function haveCompiler(t: TestContext): boolean {
  const probe = spawnSync(CC, ['--version'], { encoding: 'utf8' });
  if (probe.status === 0) return true;
  const reason = `${CC} not found (Debian: gcc-mingw-w64-x86-64 mingw-w64-x86-64-dev)`;
  if (process.env.CI === 'true') throw new Error(`layout test cannot run under CI=true: ${reason}`);
  t.skip(reason);
  return false;
}

function compile(source: string): { ok: boolean; stderr: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'stable6-layout-'));
  try {
    const file = path.join(dir, 'layout.c');
    writeFileSync(file, source);
    const result = spawnSync(CC, ['-fsyntax-only', '-std=c11', '-Wall', file], { encoding: 'utf8' });
    return { ok: result.status === 0, stderr: result.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('every layout, field width and constant matches the mingw-w64 Windows headers', (t) => {
  if (!haveCompiler(t)) return;
  const source = cLayoutAssertions(ALL_LAYOUTS);
  // Sanity: the assertions cover the facts the notes call out.
  assert.match(source, /sizeof\(MIB_UNICASTIPADDRESS_ROW\) == 80/);
  assert.match(source, /offsetof\(MIB_UNICASTIPADDRESS_ROW, ValidLifetime\) == 52/);
  assert.match(source, /offsetof\(MIB_UNICASTIPADDRESS_ROW, DadState\) == 64/);
  assert.match(source, /sizeof\(MIB_IPFORWARD_ROW2\) == 104/);
  assert.match(source, /sizeof\(MIB_IPINTERFACE_ROW\) == 168/);
  assert.match(source, /IpPrefixOriginRouterAdvertisement == 4/);
  assert.match(source, /ERROR_NOT_FOUND == 1168/);
  const result = compile(source);
  assert.ok(result.ok, result.stderr);
});

test('the header check catches a wrong offset (the test can fail)', (t) => {
  if (!haveCompiler(t)) return;
  const wrong: StructLayout = {
    ...MIB_UNICASTIPADDRESS_ROW,
    fields: { ...MIB_UNICASTIPADDRESS_ROW.fields, ValidLifetime: { offset: 56, type: 'u32' } },
  };
  const result = compile(cLayoutAssertions([wrong]));
  assert.equal(result.ok, false);
  assert.match(result.stderr, /ValidLifetime\) == 56/);
});

test('the header check catches a wrong width (a ULONG declared 64-bit)', (t) => {
  if (!haveCompiler(t)) return;
  const wrong: StructLayout = {
    ...MIB_UNICASTIPADDRESS_ROW,
    fields: { ...MIB_UNICASTIPADDRESS_ROW.fields, ScopeId: { offset: 68, type: 'u64' } },
  };
  const result = compile(cLayoutAssertions([wrong]));
  assert.equal(result.ok, false);
  assert.match(result.stderr, /ScopeId\) == 8/);
});

test('every field lies inside its struct at its natural alignment', () => {
  for (const layout of ALL_LAYOUTS) {
    for (const [name, field] of Object.entries(layout.fields)) {
      assert.ok(field.offset + fieldSize(field.type) <= layout.size, `${layout.cType}.${name} overruns`);
      assert.equal(field.offset % fieldAlign(field.type), 0, `${layout.cType}.${name} misaligned`);
    }
    assert.equal(layout.size % layout.align, 0, `${layout.cType} size is not a multiple of its alignment`);
    assert.ok(layoutFacts(layout).length > Object.keys(layout.fields).length);
  }
});
