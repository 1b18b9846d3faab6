// The Linux backend: rtnetlink in-process through koffi, with a fake at the message boundary.
export { LinuxPlatform, createLinuxPlatform, DEFAULT_ROUTE_METRIC, type LinuxPlatformOptions } from './linux-platform.js';
export { FakeNetlink, type FakeNetlinkAnswer, type FakeNetlinkResponder } from './fake-netlink.js';
export { NetlinkClient, type NetlinkRequest, type NetlinkOutcome } from './netlink-client.js';
export { dialKernel } from './netlink-socket.js';
export type { NetlinkDialer, NetlinkTransport, NetlinkTransportHandler, NetlinkTransportOptions } from './netlink-transport.js';
export type { RouterSolicitationSender, RouterSolicitationTarget } from './router-solicitation.js';
