// The public API of the stable6 package. Everything not re-exported here is private.
export { Stable6Error, ERROR_CODES, isStable6Error, type ErrorCode, type Stable6ErrorOptions } from './errors.js';
export { Ipv6Address, formatIpv6 } from './core/address.js';
export { Ipv6Prefix, maskAddress } from './core/prefix.js';
export { isReservedIid } from './core/reserved-iid.js';
export {
  STABLE6_V1,
  generateStable6V1,
  stable6V1Iid,
  autoSubnetId,
  resolveSubnet64,
  type Stable6V1Input,
  type Stable6V1Result,
  type GenerateOptions,
  type SubnetChoice,
} from './core/stable6-v1.js';
export {
  DEFAULT_SECRET_FILE,
  loadSecretFile,
  writeSecretFile,
  newSecret,
  parseSecretHex,
  secretFingerprint,
} from './daemon/secret-file.js';
// Linux backend (rtnetlink) and the one backend selector
export {
  INFINITE_LIFETIME,
  STABLE6_PROTOCOL,
  addEachAddress,
  type Platform,
  type PlatformEvent,
  type PlatformListener,
  type InterfaceInfo,
  type InterfaceSettings,
  type AddressInfo,
  type AddressFlags,
  type AddAddressRequest,
  type DeleteAddressRequest,
  type DefaultRouteRequest,
  type RouteInfo,
  type PrefixReport,
} from './platform/platform.js';
export { openPlatform, type OpenPlatformOptions } from './platform/select-platform.js';
export {
  LinuxPlatform,
  createLinuxPlatform,
  FakeNetlink,
  type LinuxPlatformOptions,
  type FakeNetlinkAnswer,
  type FakeNetlinkResponder,
  type NetlinkDialer,
  type NetlinkTransport,
  type NetlinkTransportHandler,
  type NetlinkTransportOptions,
} from './platform/linux/index.js';
export {
  decodeNetlinkMessage,
  decodeNetlinkMessages,
  encodeNetlinkMessage,
  encodeNetlinkMessages,
  type NetlinkMessage,
  type NetlinkHeader,
  type NetlinkBody,
} from './codec/netlink/index.js';
export { encodeRouterSolicitation, decodeRouterSolicitation, type RouterSolicitation } from './codec/icmpv6/router-solicitation.js';
// Local API (src/api): the client for applications, the server and its service interface for the daemon.
export {
  lease,
  leaseBatch,
  listenStable,
  listLeases,
  releaseLease,
  status,
  events,
  resolveSocketPath,
  LeaseAgent,
  type ClientOptions,
  type LeaseOptions,
  type LeaseHandle,
  type LeaseBatchOptions,
  type LeaseBatchHandle,
  type ListenStableOptions,
  type ListenStableResult,
  type EventStream,
} from './api/client.js';
export {
  API_VERSION,
  DEFAULT_SOCKET_PATH,
  validateLabel,
  type Lease,
  type LeaseAddress,
  type LeaseKey,
  type LeaseRequest,
  type LeaseBatchRequest,
  type LeaseBatchResult,
  type LeaseBatchReply,
  MAX_BATCH_LABELS,
  type AddressState,
  type StatusReport,
  type InterfaceStatus,
  type PrefixStatus,
  type StatusAddress,
  type ApiEvent,
} from './api/protocol.js';
export type { Caller, LeaseService } from './api/service.js';
export { ApiServer, DEFAULT_LIMITS, type ApiServerOptions, type ApiLimits } from './api/server.js';
export { compilePolicy, policyFromSettings, type ApiPolicy, type ApiPolicyConfig, type DaemonApiSettings } from './api/policy.js';
export { readIdDatabase, resolveGroup } from './api/id-database.js';
export { MemoryLeaseService, type MemoryLeaseServiceOptions } from './api/memory-lease-service.js';
// Windows backend (IP Helper API); importing it loads no native library
export {
  WindowsPlatform,
  createWindowsPlatform,
  FakeIpHelper,
  pipeClientSid,
  type WindowsPlatformOptions,
  type WindowsAddAddressRequest,
  type OwnedAddress,
  type OwnedRoute,
  type FakeIpHelperOptions,
  type FakeWindowsInterface,
  type IpHelper,
  type PipeIdentityApi,
  type PipeClient,
} from './platform/windows/index.js';
// compatibility modes (docs/compat.md): the addresses other systems give, their secrets, migrate
export {
  ALGORITHM_NAMES,
  ALGORITHMS,
  algorithmByName,
  isAlgorithmName,
  registryGenerator,
  type AlgorithmName,
  type AlgorithmInputs,
  type AlgorithmInputName,
  type AlgorithmSpec,
  type CompatResult,
} from './core/algorithms.js';
export { generateLinux, linuxStableIid, linuxIsReservedIid, type LinuxInput } from './core/compat/linux.js';
export { generateNetworkManager, nmStablePrivacyIid, nmNetworkId, type NetworkManagerInput, type NmStableType } from './core/compat/networkmanager.js';
export { generateNetworkd, networkdStableIid, type NetworkdInput } from './core/compat/systemd-networkd.js';
export { generateDhcpcd, dhcpcdStableIid, type DhcpcdInput } from './core/compat/dhcpcd.js';
export { generateSlaacd, slaacdStableIid, type SlaacdInput } from './core/compat/slaacd.js';
export { sha1Compress } from './core/compat/sha1-compress.js';
export { siphash24 } from './core/compat/siphash.js';
export {
  parseLinuxStableSecret,
  formatLinuxStableSecret,
  parseMachineId,
  parseNetworkdTokenKey,
  networkdAppSpecificKey,
  nmHostId,
  parseDhcpcdSecret,
  formatDhcpcdSecret,
  parseSoiiKey,
} from './core/compat/secret-formats.js';
export {
  readLinuxStableSecret,
  readNetworkManagerSecret,
  readNetworkdKey,
  readDhcpcdSecret,
  readSoiiKey,
  readSecretFileAs,
  type CompatSecret,
  type SecretRoots,
} from './compat/readers/secrets.js';
export { planMigration, migrationConfig, MIGRATE_FROM, type MigrateOptions, type MigrateReport, type MigrateFrom } from './compat/migrate.js';
// engine (pure) and its driver; the in-memory fake platform for tests
export { Engine, type EngineOptions, type StepOptions } from './engine/engine.js';
export {
  EngineDriver,
  systemClock,
  cryptoRandom,
  advanceSettled,
  type DriverClock,
  type SteppableClock,
  type EngineDriverOptions,
} from './engine/driver.js';
export { stable6V1Generator, perCounterGenerator, type AddressGenerator, type GeneratorContext, type GeneratedAddress } from './engine/generators.js';
export {
  PERSISTED_STATE_VERSION,
  emptyPersistedState,
  validatePersistedState,
  parsePersistedState,
  formatPersistedState,
  type PersistedState,
  type PersistedCounter,
  type PersistedLease,
  type PersistedSettings,
} from './engine/persisted-state.js';
export {
  engineStatus,
  type EngineStatus,
  type InterfaceStatus as EngineInterfaceStatus,
  type PrefixStatus as EnginePrefixStatus,
  type AddressStatus as EngineAddressStatus,
  type LeaseStatus as EngineLeaseStatus,
} from './engine/status.js';
export {
  MAX_TIMER_MS,
  DEFAULT_IDGEN_RETRIES,
  DEFAULT_IDGEN_DELAY_MS,
  silentLogger,
  type EngineConfig,
  type InterfaceConfig,
  type StaticPrefixConfig,
  type EngineEvent,
  type EngineCommand,
  type EngineReport,
  type EngineState,
  type EngineLogger,
  type StepResult,
  type LeaseBinding,
} from './engine/types.js';
export { checkPio, nextValidLifetime, nextPreferredLifetime, TWO_HOURS_SEC, type PioCheck, type PioRejection } from './core/prefix-policy.js';
export { FakePlatform, type FakePlatformOptions, type AddInterfaceOptions, type FakeOperation, type OperationRecord } from './platform/fake/fake-platform.js';
export { FakeClock, type Clock, type TimerHandle } from './platform/fake/fake-clock.js';
// the local API over a Windows named pipe (src/platform/windows/pipe-*.ts); importing loads no DLL
export { type ConnectionSource, type ApiServeOptions, type CallerIdentity } from './api/server.js';
export { NamedPipeListener, PipeConnection, DEFAULT_PIPE_NAME, DEFAULT_PIPE_SDDL, type NamedPipeListenerOptions } from './platform/windows/pipe-listener.js';
export { loadPipeServerApi } from './platform/windows/pipe-kernel32.js';
export { FakePipeKernel, fakeUserToken, type FakeToken, type FakePipeKernelOptions } from './platform/windows/pipe-fake.js';
export { SidIdRegistry, sidIdDatabase, uidForSid, identityFromToken, formatSid, parseSid, type PipeCallerIdentity } from './platform/windows/pipe-sid.js';
export { type PipeServerApi, type IoBlock, type CompletionEntry } from './platform/windows/pipe-server-api.js';
