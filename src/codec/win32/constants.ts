/**
 * Win32 numbers the IP Helper rows carry, with the header names they come from.
 * Checked against the mingw-w64 headers by test/codec/win32/layout-headers.test.ts.
 */

/** `AF_INET6` on Windows is 23 (not Linux's 10). */
export const AF_INET6 = 23;
export const AF_INET = 2;
export const AF_UNSPEC = 0;

/** `NL_PREFIX_ORIGIN` (nldef.h). Note RouterAdvertisement is 4 here but 3 in NL_ROUTE_ORIGIN. */
export const PrefixOrigin = {
  Other: 0,
  Manual: 1,
  WellKnown: 2,
  Dhcp: 3,
  RouterAdvertisement: 4,
  Unchanged: 16,
} as const;

/** `NL_SUFFIX_ORIGIN` (nldef.h). */
export const SuffixOrigin = {
  Other: 0,
  Manual: 1,
  WellKnown: 2,
  Dhcp: 3,
  LinkLayerAddress: 4,
  Random: 5,
  Unchanged: 16,
} as const;

/** `NL_DAD_STATE` (nldef.h). */
export const DadState = {
  Invalid: 0,
  Tentative: 1,
  Duplicate: 2,
  Deprecated: 3,
  Preferred: 4,
} as const;

/** `NL_ROUTE_ORIGIN` (nldef.h): who created a route. */
export const RouteOrigin = {
  Manual: 0,
  WellKnown: 1,
  Dhcp: 2,
  RouterAdvertisement: 3,
  SixToFour: 4,
} as const;

/** `NL_ROUTE_PROTOCOL` (nldef.h), the values that matter here. */
export const RouteProtocol = {
  Other: 1,
  Local: 2,
  /** MIB_IPPROTO_NETMGMT: "static", what `route add` and netsh use too; see docs/windows.md. */
  NetMgmt: 3,
} as const;

/** `NL_ROUTER_DISCOVERY_BEHAVIOR` (nldef.h). */
export const RouterDiscovery = {
  Disabled: 0,
  Enabled: 1,
  Dhcp: 2,
  Unchanged: -1,
} as const;

/** `MIB_NOTIFICATION_TYPE` (netioapi.h). */
export const MibNotification = {
  ParameterNotification: 0,
  AddInstance: 1,
  DeleteInstance: 2,
  InitialNotification: 3,
} as const;

/** A lifetime of 0xffffffff is infinite in every IP Helper row, as in RFC 4861. */
export const WIN32_INFINITE = 0xffffffff;

/**
 * The Win32 statuses the IP Helper functions document, by name. Errors carry the name,
 * because "ERROR_NOT_FOUND" tells a reader what 1168 does not.
 */
export const WIN32_STATUS = {
  NO_ERROR: 0,
  ERROR_FILE_NOT_FOUND: 2,
  ERROR_ACCESS_DENIED: 5,
  ERROR_INVALID_HANDLE: 6,
  ERROR_NOT_ENOUGH_MEMORY: 8,
  ERROR_NOT_SUPPORTED: 50,
  ERROR_INVALID_PARAMETER: 87,
  ERROR_INSUFFICIENT_BUFFER: 122,
  ERROR_PIPE_NOT_CONNECTED: 233,
  ERROR_NO_TOKEN: 1008,
  ERROR_NOT_FOUND: 1168,
  ERROR_NO_SUCH_LOGON_SESSION: 1312,
  ERROR_INVALID_SID: 1337,
  ERROR_NOT_CONNECTED: 2250,
  ERROR_OBJECT_ALREADY_EXISTS: 5010,
} as const;

export type Win32StatusName = keyof typeof WIN32_STATUS;

const STATUS_NAMES = new Map<number, string>(Object.entries(WIN32_STATUS).map(([name, value]) => [value, name]));

/** `ERROR_NOT_FOUND` for 1168; `WIN32_STATUS_<n>` for a status we have no name for. */
export function win32StatusName(status: number): string {
  return STATUS_NAMES.get(status) ?? `WIN32_STATUS_${status}`;
}
