// The Windows backend: what select-platform.ts imports for win32, and what tests and
// applications use to drive the same code on any OS with the fake IP Helper.
// Importing this module loads no native library (see iphlpapi.ts).
export {
  WindowsPlatform,
  type WindowsPlatformOptions,
  type WindowsAddAddressRequest,
  type OwnedAddress,
  type OwnedRoute,
} from './windows-platform.js';
export { FakeIpHelper, type FakeIpHelperOptions, type FakeWindowsInterface, type FakeIpHelperFunction } from './fake-ip-helper.js';
export type { IpHelper, MibChangeCallback, NotificationHandle, NotifyResult, TableResult } from './ip-helper.js';
export { loadIpHelper } from './iphlpapi.js';
export { win32Error } from './win32-error.js';

import { WindowsPlatform, type WindowsPlatformOptions } from './windows-platform.js';

/** The platform on Windows, over iphlpapi.dll (ERR_WIN32_UNAVAILABLE elsewhere). */
export function createWindowsPlatform(options: WindowsPlatformOptions = {}): WindowsPlatform {
  return new WindowsPlatform(options);
}
export {
  pipeClientSid,
  loadPipeIdentityApi,
  PROCESS_QUERY_LIMITED_INFORMATION,
  TOKEN_QUERY,
  TOKEN_USER_CLASS,
  type PipeIdentityApi,
  type PipeClient,
  type Win32Handle,
} from './pipe-identity.js';
