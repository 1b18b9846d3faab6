/**
 * The IP Helper functions the Windows platform uses, as a function table.
 *
 * Two implementations: the koffi bindings to iphlpapi.dll (iphlpapi.ts) and the in-memory
 * Windows stack (fake-ip-helper.ts) that drives the very same WindowsPlatform code in tests on
 * Linux. Rows cross this boundary as the bytes Windows uses (src/codec/win32 encodes and
 * decodes them), so the fake sees exactly what the DLL would see: a row without its
 * InterfaceLuid reaches the fake as zeros, just as it would reach Windows.
 *
 * The only departures from the C signatures are where C needs caller-managed memory:
 * out-parameters come back in the result object, a table comes back as a copy of its bytes
 * (the binding calls FreeMibTable), and CancelMibChangeNotify2 is asynchronous (see there).
 * Every function returns the Win32 status (NETIO_STATUS, a DWORD) as Windows gave it.
 */

/** Called for each change; `row` is a copy of the row's bytes (undefined for an initial notification). */
export type MibChangeCallback = (row: Uint8Array | undefined, notificationType: number) => void;

/** An opaque registration, to give back to CancelMibChangeNotify2. */
export interface NotificationHandle {
  readonly kind: 'notification-handle';
}

export interface TableResult {
  status: number;
  /** The whole MIB_*_TABLE (NumEntries, padding, rows), copied out. Undefined on failure. */
  table?: Uint8Array;
}

export interface NotifyResult {
  status: number;
  handle?: NotificationHandle;
}

export interface IpHelper {
  InitializeUnicastIpAddressEntry(row: Uint8Array): void;
  CreateUnicastIpAddressEntry(row: Uint8Array): number;
  /** In/out: the Address and the InterfaceLuid (or InterfaceIndex) in; the whole row out. */
  GetUnicastIpAddressEntry(row: Uint8Array): number;
  SetUnicastIpAddressEntry(row: Uint8Array): number;
  DeleteUnicastIpAddressEntry(row: Uint8Array): number;
  GetUnicastIpAddressTable(family: number): TableResult;

  InitializeIpForwardEntry(row: Uint8Array): void;
  CreateIpForwardEntry2(row: Uint8Array): number;
  DeleteIpForwardEntry2(row: Uint8Array): number;
  GetIpForwardTable2(family: number): TableResult;

  InitializeIpInterfaceEntry(row: Uint8Array): void;
  /** In/out: Family and InterfaceLuid (or InterfaceIndex) in. */
  GetIpInterfaceEntry(row: Uint8Array): number;
  SetIpInterfaceEntry(row: Uint8Array): number;
  GetIpInterfaceTable(family: number): TableResult;

  NotifyUnicastIpAddressChange(family: number, callback: MibChangeCallback, initialNotification: boolean): NotifyResult;
  NotifyIpInterfaceChange(family: number, callback: MibChangeCallback, initialNotification: boolean): NotifyResult;
  NotifyRouteChange2(family: number, callback: MibChangeCallback, initialNotification: boolean): NotifyResult;
  /**
   * Asynchronous on purpose. CancelMibChangeNotify2 waits until no callback of the
   * registration is running; koffi runs those callbacks on the JS thread, so a synchronous
   * cancel on the JS thread while a notification is queued would deadlock. The binding runs
   * it on a worker thread (koffi `.async`) and unregisters the callback afterwards.
   */
  CancelMibChangeNotify2(handle: NotificationHandle): Promise<number>;

  ConvertInterfaceNameToLuidW(name: string): { status: number; luid: bigint };
  ConvertInterfaceLuidToIndex(luid: bigint): { status: number; index: number };
  ConvertInterfaceIndexToLuid(index: number): { status: number; luid: bigint };
  /** The friendly name ("Ethernet 2") that users see in Windows. */
  ConvertInterfaceLuidToAlias(luid: bigint): { status: number; alias: string };
}
