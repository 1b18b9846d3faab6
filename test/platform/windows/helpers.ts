// Shared set-up for the Windows platform tests: the real WindowsPlatform over FakeIpHelper.
import { FakeIpHelper, type FakeIpHelperOptions } from '../../../src/platform/windows/fake-ip-helper.js';
import { WindowsPlatform, type WindowsPlatformOptions } from '../../../src/platform/windows/windows-platform.js';
import type { PlatformEvent } from '../../../src/platform/platform.js';

export const IFINDEX = 12;

export interface Rig {
  ip: FakeIpHelper;
  platform: WindowsPlatform;
  luid: bigint;
  events: PlatformEvent[];
  errors: unknown[];
  clock: { ms: number };
  /** Until the fake has delivered every notification and the platform handled them all. */
  settle(): Promise<void>;
}

export function rig(options: { fake?: FakeIpHelperOptions; platform?: Omit<WindowsPlatformOptions, 'ipHelper'> } = {}): Rig {
  const ip = new FakeIpHelper(options.fake);
  const luid = ip.addInterface({ index: IFINDEX, alias: 'Ethernet' });
  const clock = { ms: 1_000_000 };
  const errors: unknown[] = [];
  const events: PlatformEvent[] = [];
  const platform = new WindowsPlatform({
    now: () => clock.ms,
    onError: (error) => errors.push(error),
    ...options.platform,
    ipHelper: ip,
  });
  platform.subscribe((event) => events.push(event));
  const settle = async (): Promise<void> => {
    // Handling a notification can cause writes (a stack reset re-applies), which notify again.
    for (let i = 0; i < 10; i++) {
      await ip.flush();
      await platform.whenIdle();
    }
  };
  return { ip, platform, luid, events, errors, clock, settle };
}
