/**
 * Turns our layout data into C11 `_Static_assert`s, so that a C compiler holding the real
 * Windows headers checks every number (test/codec/win32/layout-headers.test.ts compiles the
 * output with `x86_64-w64-mingw32-gcc -fsyntax-only`).
 */
import { fieldSize, layoutFacts, type StructLayout } from './layout.js';
import {
  AF_INET,
  AF_INET6,
  DadState,
  MibNotification,
  PrefixOrigin,
  RouteOrigin,
  RouteProtocol,
  RouterDiscovery,
  SuffixOrigin,
  WIN32_STATUS,
} from './constants.js';

const HEADERS = ['winsock2.h', 'ws2ipdef.h', 'iphlpapi.h', 'netioapi.h', 'stddef.h'];

/** The C names of our enum constants (nldef.h / netioapi.h spell them this way). */
const ENUM_NAMES: ReadonlyArray<readonly [string, Readonly<Record<string, number>>]> = [
  ['IpPrefixOrigin', PrefixOrigin],
  ['IpSuffixOrigin', SuffixOrigin],
  ['IpDadState', DadState],
  ['Nlro', { Manual: RouteOrigin.Manual, WellKnown: RouteOrigin.WellKnown, DHCP: RouteOrigin.Dhcp, RouterAdvertisement: RouteOrigin.RouterAdvertisement, '6to4': RouteOrigin.SixToFour }],
  ['RouteProtocol', RouteProtocol],
  ['RouterDiscovery', RouterDiscovery],
  ['Mib', MibNotification],
];

export function cLayoutAssertions(layouts: readonly StructLayout[]): string {
  const lines = HEADERS.map((h) => `#include <${h}>`);
  const assert = (expr: string, value: number): void => {
    lines.push(`_Static_assert(${expr} == ${value}, "${expr.replace(/"/g, '')} == ${value}");`);
  };
  for (const layout of layouts) {
    assert(`_Alignof(${layout.cType})`, layout.align);
    for (const fact of layoutFacts(layout)) {
      if (fact.path === undefined) assert(`sizeof(${fact.cType})`, fact.value);
      else assert(`offsetof(${fact.cType}, ${fact.path})`, fact.value);
    }
    // Widths too: a u32 where the header has a ULONG64 would pass every offset check above
    // when it is the last field.
    const widths = (inner: StructLayout, prefix: string): void => {
      for (const [name, field] of Object.entries(inner.fields)) {
        const path = prefix === '' ? name : `${prefix}.${name}`;
        assert(`sizeof(((${layout.cType} *)0)->${path})`, fieldSize(field.type));
        if (typeof field.type === 'object' && 'struct' in field.type) {
          widths(field.type.struct, field.type.count === undefined ? path : `${path}[0]`);
        }
      }
    };
    widths(layout, '');
  }
  assert('AF_INET6', AF_INET6);
  assert('AF_INET', AF_INET);
  for (const [prefix, values] of ENUM_NAMES) {
    for (const [name, value] of Object.entries(values)) assert(`${prefix}${name}`, value);
  }
  for (const [name, value] of Object.entries(WIN32_STATUS)) assert(name, value);
  return `${lines.join('\n')}\n`;
}
