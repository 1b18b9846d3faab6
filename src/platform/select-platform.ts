/**
 * The one place that picks a backend by operating system (STYLE.md §7). Nothing else in
 * stable6 looks at `process.platform`.
 */
import { Stable6Error } from '../errors.js';
import { createLinuxPlatform, type LinuxPlatformOptions } from './linux/linux-platform.js';
import type { Platform } from './platform.js';

export interface OpenPlatformOptions {
  linux?: LinuxPlatformOptions;
  /** For tests: pretend to be this OS. */
  os?: NodeJS.Platform;
}

/** The platform of the running OS; ERR_PLATFORM_UNSUPPORTED where stable6 has no backend. */
export async function openPlatform(options: OpenPlatformOptions = {}): Promise<Platform> {
  const os = options.os ?? process.platform;
  switch (os) {
    case 'linux':
      return createLinuxPlatform(options.linux);
    case 'win32': {
      // Loaded on demand: importing it loads no DLL; the bindings load on first use.
      const { createWindowsPlatform } = await import('./windows/index.js');
      return createWindowsPlatform();
    }
    default:
      throw new Stable6Error('ERR_PLATFORM_UNSUPPORTED', `stable6 has no platform backend for ${os} (supported: linux, win32)`, { details: { os } });
  }
}
