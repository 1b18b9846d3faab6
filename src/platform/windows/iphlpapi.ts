/**
 * The koffi bindings to iphlpapi.dll behind the IpHelper function table.
 *
 * Nothing is loaded at import time: koffi itself and the DLL are loaded on the first call of
 * loadIpHelper(), so that importing the Windows backend on Linux (for its fake, its types,
 * its tests) never touches a native library.
 *
 * Rows are passed as byte buffers (`void *`): koffi hands a Buffer's memory to C in place,
 * so in/out rows (GetUnicastIpAddressEntry) are filled where they are. Win32 ULONG/DWORD are
 * declared uint32_t, never koffi's `long`/`ulong` (64-bit on LP64 Linux, 32-bit on LLP64
 * Windows). `__stdcall` is WINAPI; koffi ignores it on x64, where there is one convention.
 *
 * NOT RUN ON WINDOWS: these declarations are checked against the headers only through the
 * struct layouts (test/codec/win32); see docs/windows.md.
 */
import { createRequire } from 'node:module';
import { Stable6Error } from '../../errors.js';
import {
  MIB_IPFORWARD_ROW2,
  MIB_IPINTERFACE_ROW,
  MIB_UNICASTIPADDRESS_ROW,
} from '../../codec/win32/structs.js';
import { tableByteLength } from '../../codec/win32/rows.js';
import { WIN32_STATUS } from '../../codec/win32/constants.js';
import type { IpHelper, MibChangeCallback, NotificationHandle, NotifyResult, TableResult } from './ip-helper.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- koffi's function objects are untyped */
type Koffi = typeof import('koffi');
type Fn = (...args: any[]) => any;
type AsyncFn = Fn & { async: (...args: any[]) => void };

interface RealHandle extends NotificationHandle {
  readonly native: unknown;
  readonly callback: unknown;
}

let cached: IpHelper | undefined;

/** Loads koffi and iphlpapi.dll once; ERR_WIN32_UNAVAILABLE when that is impossible here. */
export function loadIpHelper(): IpHelper {
  if (cached) return cached;
  let koffi: Koffi;
  let lib: ReturnType<Koffi['load']>;
  try {
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
    lib = koffi.load('iphlpapi.dll');
  } catch (cause) {
    // On any OS but Windows this is where we end: there is no iphlpapi.dll to load.
    throw new Stable6Error('ERR_WIN32_UNAVAILABLE', 'cannot load koffi or iphlpapi.dll (the Windows backend runs only on Windows)', { cause });
  }
  cached = bind(koffi, lib);
  return cached;
}

function bind(koffi: Koffi, lib: ReturnType<Koffi['load']>): IpHelper {
  const fn = (decl: string): AsyncFn => lib.func(decl) as AsyncFn;
  // typedef VOID (NETIOAPI_API_ *PUNICAST_IPADDRESS_CHANGE_CALLBACK)(PVOID CallerContext,
  //     PMIB_UNICASTIPADDRESS_ROW Row, MIB_NOTIFICATION_TYPE NotificationType); the same
  // shape for interfaces and routes. The row pointer arrives as a BigInt (or null).
  const ChangeCallback = koffi.proto('void __stdcall Stable6MibChangeCallback(void *context, void *row, int32_t type)');

  const initUnicast = fn('void __stdcall InitializeUnicastIpAddressEntry(void *Row)');
  const createUnicast = fn('uint32_t __stdcall CreateUnicastIpAddressEntry(const void *Row)');
  const getUnicast = fn('uint32_t __stdcall GetUnicastIpAddressEntry(void *Row)');
  const setUnicast = fn('uint32_t __stdcall SetUnicastIpAddressEntry(const void *Row)');
  const deleteUnicast = fn('uint32_t __stdcall DeleteUnicastIpAddressEntry(const void *Row)');
  const getUnicastTable = fn('uint32_t __stdcall GetUnicastIpAddressTable(uint16_t Family, _Out_ void **Table)');
  const initForward = fn('void __stdcall InitializeIpForwardEntry(void *Row)');
  const createForward = fn('uint32_t __stdcall CreateIpForwardEntry2(const void *Row)');
  const deleteForward = fn('uint32_t __stdcall DeleteIpForwardEntry2(const void *Row)');
  const getForwardTable = fn('uint32_t __stdcall GetIpForwardTable2(uint16_t Family, _Out_ void **Table)');
  const initInterface = fn('void __stdcall InitializeIpInterfaceEntry(void *Row)');
  const getInterface = fn('uint32_t __stdcall GetIpInterfaceEntry(void *Row)');
  const setInterface = fn('uint32_t __stdcall SetIpInterfaceEntry(void *Row)');
  const getInterfaceTable = fn('uint32_t __stdcall GetIpInterfaceTable(uint16_t Family, _Out_ void **Table)');
  const notifyUnicast = fn(
    'uint32_t __stdcall NotifyUnicastIpAddressChange(uint16_t Family, Stable6MibChangeCallback *Callback, void *CallerContext, uint8_t InitialNotification, _Inout_ void **NotificationHandle)',
  );
  const notifyInterface = fn(
    'uint32_t __stdcall NotifyIpInterfaceChange(uint16_t Family, Stable6MibChangeCallback *Callback, void *CallerContext, uint8_t InitialNotification, _Inout_ void **NotificationHandle)',
  );
  const notifyRoute = fn(
    'uint32_t __stdcall NotifyRouteChange2(uint16_t Family, Stable6MibChangeCallback *Callback, void *CallerContext, uint8_t InitialNotification, _Inout_ void **NotificationHandle)',
  );
  const cancelNotify = fn('uint32_t __stdcall CancelMibChangeNotify2(void *NotificationHandle)');
  const nameToLuid = fn('uint32_t __stdcall ConvertInterfaceNameToLuidW(const char16_t *InterfaceName, _Out_ void *InterfaceLuid)');
  const luidToIndex = fn('uint32_t __stdcall ConvertInterfaceLuidToIndex(const void *InterfaceLuid, _Out_ void *InterfaceIndex)');
  const indexToLuid = fn('uint32_t __stdcall ConvertInterfaceIndexToLuid(uint32_t InterfaceIndex, _Out_ void *InterfaceLuid)');
  const luidToAlias = fn(
    'uint32_t __stdcall ConvertInterfaceLuidToAlias(const void *InterfaceLuid, _Out_ void *InterfaceAlias, size_t Length)',
  );
  const freeMibTable = fn('void __stdcall FreeMibTable(void *Memory)');

  /** Copies a MIB_*_TABLE out of Windows' memory and frees it. */
  const table = (getter: Fn, family: number, rowSize: number): TableResult => {
    const out: unknown[] = [null];
    const status = getter(family, out) as number;
    const pointer = out[0];
    if (status !== WIN32_STATUS.NO_ERROR || pointer == null) return { status };
    try {
      const count = koffi.decode(pointer, 'uint32_t') as number;
      const length = tableByteLength(count, rowSize);
      return { status, table: new Uint8Array(koffi.view(pointer, length)).slice() };
    } finally {
      freeMibTable(pointer);
    }
  };

  const notify = (register: Fn, rowSize: number, family: number, callback: MibChangeCallback, initial: boolean): NotifyResult => {
    // Runs on the JS thread: koffi queues calls made from Windows' notification thread and
    // blocks that thread until we return, so the row is still valid while we copy it.
    const registered = koffi.register((_context: unknown, row: unknown, type: number) => {
      const bytes = row == null ? undefined : new Uint8Array(koffi.view(row, rowSize)).slice();
      try {
        callback(bytes, type);
      } catch {
        // A throwing listener must not unwind into Windows' thread; the platform reports its own errors.
      }
    }, koffi.pointer(ChangeCallback));
    const handle: unknown[] = [null];
    const status = register(family, registered, null, initial ? 1 : 0, handle) as number;
    if (status !== WIN32_STATUS.NO_ERROR) {
      koffi.unregister(registered);
      return { status };
    }
    const real: RealHandle = { kind: 'notification-handle', native: handle[0], callback: registered };
    return { status, handle: real };
  };

  const luidBuffer = (luid: bigint): Buffer => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigUInt64LE(luid);
    return buffer;
  };

  return {
    InitializeUnicastIpAddressEntry: (row) => void initUnicast(row),
    CreateUnicastIpAddressEntry: (row) => createUnicast(row) as number,
    GetUnicastIpAddressEntry: (row) => getUnicast(row) as number,
    SetUnicastIpAddressEntry: (row) => setUnicast(row) as number,
    DeleteUnicastIpAddressEntry: (row) => deleteUnicast(row) as number,
    GetUnicastIpAddressTable: (family) => table(getUnicastTable, family, MIB_UNICASTIPADDRESS_ROW.size),
    InitializeIpForwardEntry: (row) => void initForward(row),
    CreateIpForwardEntry2: (row) => createForward(row) as number,
    DeleteIpForwardEntry2: (row) => deleteForward(row) as number,
    GetIpForwardTable2: (family) => table(getForwardTable, family, MIB_IPFORWARD_ROW2.size),
    InitializeIpInterfaceEntry: (row) => void initInterface(row),
    GetIpInterfaceEntry: (row) => getInterface(row) as number,
    SetIpInterfaceEntry: (row) => setInterface(row) as number,
    GetIpInterfaceTable: (family) => table(getInterfaceTable, family, MIB_IPINTERFACE_ROW.size),
    NotifyUnicastIpAddressChange: (family, callback, initial) =>
      notify(notifyUnicast, MIB_UNICASTIPADDRESS_ROW.size, family, callback, initial),
    NotifyIpInterfaceChange: (family, callback, initial) =>
      notify(notifyInterface, MIB_IPINTERFACE_ROW.size, family, callback, initial),
    NotifyRouteChange2: (family, callback, initial) => notify(notifyRoute, MIB_IPFORWARD_ROW2.size, family, callback, initial),
    CancelMibChangeNotify2: (handle) =>
      new Promise<number>((resolve) => {
        const real = handle as RealHandle;
        cancelNotify.async(real.native, (error: unknown, status: number) => {
          // Only now can no callback of this registration run any more.
          koffi.unregister(real.callback as bigint);
          resolve(error ? WIN32_STATUS.ERROR_INVALID_HANDLE : status);
        });
      }),
    ConvertInterfaceNameToLuidW: (name) => {
      const out = Buffer.alloc(8);
      const status = nameToLuid(name, out) as number;
      return { status, luid: out.readBigUInt64LE() };
    },
    ConvertInterfaceLuidToIndex: (luid) => {
      const out = Buffer.alloc(4);
      const status = luidToIndex(luidBuffer(luid), out) as number;
      return { status, index: out.readUInt32LE() };
    },
    ConvertInterfaceIndexToLuid: (index) => {
      const out = Buffer.alloc(8);
      const status = indexToLuid(index, out) as number;
      return { status, luid: out.readBigUInt64LE() };
    },
    ConvertInterfaceLuidToAlias: (luid) => {
      // IF_MAX_STRING_SIZE + 1 WCHARs; Length counts characters, not bytes.
      const chars = 257;
      const out = Buffer.alloc(chars * 2);
      const status = luidToAlias(luidBuffer(luid), out, chars) as number;
      const text = out.toString('utf16le');
      const end = text.indexOf('\0');
      return { status, alias: end < 0 ? text : text.slice(0, end) };
    },
  };
}
