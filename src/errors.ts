/**
 * One error class for the whole of stable6, one stable `code` per failure.
 *
 * Callers branch on `code`, never on `message`. Every code is listed here with a
 * one-line meaning, and in the table in docs/errors.md (a test keeps the two equal).
 * Codes read `ERR_<AREA>_<PROBLEM>`.
 */
export const ERROR_CODES = {
  // core: addresses and prefixes
  ERR_ADDRESS_INVALID: 'text or bytes are not an IPv6 address',
  ERR_PREFIX_INVALID: 'text is not an IPv6 prefix (address/length)',
  ERR_PREFIX_HOST_BITS: 'a prefix has bits set beyond its length',
  ERR_PREFIX_LENGTH: 'a prefix length is outside what the operation allows',
  ERR_SUBNET_ID_RANGE: 'a subnet ID does not fit in the bits between the prefix length and 64',
  ERR_SUBNET_REQUIRED: 'a prefix shorter than /64 needs a subnet ID (a number or auto)',
  // core: stable6-v1
  ERR_GEN_INPUT: 'an input of the address algorithm is out of range (netIface, label, network id, DAD counter, secret length)',
  ERR_GEN_EXHAUSTED: 'every allowed DAD counter gave a reserved or already used interface identifier',
  // secret file
  ERR_SECRET_MISSING: 'the secret file does not exist',
  ERR_SECRET_UNSAFE: 'the secret file is group- or world-accessible, not a regular file, or owned by another user',
  ERR_SECRET_MALFORMED: 'the secret is not hex text of 16 to 64 bytes',
  ERR_SECRET_EXISTS: 'a secret file exists already and --force was not given',
  ERR_SECRET_IO: 'the secret file could not be read or written',
  // daemon: configuration, state, lock
  ERR_CONFIG_IO: 'the configuration file could not be read',
  ERR_CONFIG_SYNTAX: 'the configuration file is not valid TOML (file, line and column named)',
  ERR_CONFIG_INVALID: 'a configuration value is missing, unknown or out of range (file and key named)',
  ERR_DAEMON_RUNNING: 'another stable6 daemon holds the lock in the state directory',
  ERR_DAEMON_STATE_DIR: 'the state directory cannot be created, locked or written',
  ERR_DAEMON_INTERFACE: 'a configured interface does not exist on this host',
  ERR_DAEMON_STATE: 'the state file is not a valid stable6 state (file and problem named)',
  // ICMPv6 Neighbor Discovery codec
  ERR_NDP_DECODE: 'bytes are not a well-formed Router Advertisement',
  ERR_NDP_ENCODE: 'a Router Advertisement field is out of range',
  // lab
  ERR_LAB_PREREQUISITE: 'the lab cannot run here: it needs Linux, root (namespaces) and the ip command',
  ERR_LAB_STEP: 'a step of the lab did not happen as it should (the step and the reason named)',
  // command line
  ERR_CLI_USAGE: 'the command line is not valid for the command',
  // engine (src/engine) and the fake platform (src/platform/fake)
  ERR_ENGINE_STATE: 'a persisted engine state is malformed or of an unknown version',
  ERR_ENGINE_TRANSITION: 'an address, prefix or lease was asked for a state change its state machine does not allow (a bug in stable6)',
  ERR_ENGINE_CONFIG: 'the engine configuration is not valid (unknown algorithm, bad prefix, subnet, gateway or limit)',
  ERR_DAD_EXHAUSTED: 'duplicate address detection found the address in use on every allowed DAD counter; there is no fallback',
  ERR_FAKE_NOT_FOUND: 'the fake platform has no such address or route, or the interface is down',
  ERR_FAKE_INJECTED: 'a failure a test scripted into the fake platform',
  ERR_FAKE_CLOSED: 'the fake platform was closed',
  // local API (src/api): server, policy and client
  ERR_API_BAD_REQUEST: 'the request is not valid: JSON, fields, label or interface name',
  ERR_API_FORBIDDEN: 'the policy does not let this user or group lease, or not this label',
  ERR_API_LIMIT: 'the per-user or total lease limit is reached',
  ERR_API_NOT_FOUND: 'no such API path, or no lease with that label and interface that the caller may see',
  ERR_API_METHOD: 'the API path does not take this HTTP method',
  ERR_API_LABEL_TAKEN: 'another user holds a lease with this label on this interface',
  ERR_API_TOO_LARGE: "the request body or headers exceed the API's size limit",
  ERR_API_RATE_LIMITED: "this user sent requests faster than the API's rate limit",
  ERR_API_BUSY: 'the API has too many connections open, in total or from this user',
  ERR_API_UNKNOWN_INTERFACE: 'the daemon does not manage an interface of that name',
  ERR_API_LEASE_FAILED: 'no usable address could be made for the lease (DAD failed after every retry, or no current prefix)',
  ERR_API_INTERNAL: 'the daemon failed while answering the request',
  ERR_API_SOCKET: 'the API socket path is not a socket, another server listens on it, or its mode or group could not be set',
  ERR_API_UNAVAILABLE: 'no stable6 daemon answers on the API socket',
  ERR_API_PROTOCOL: "the daemon's reply is not a valid stable6 API v1 response",
  ERR_API_TIMEOUT: 'the daemon did not answer in time',
  ERR_API_BIND: 'a leased address could not be bound',
  ERR_API_CONFIG: 'the API settings of the configuration are not valid (unknown user or group, bad limit or label pattern)',
  // linux backend: netlink codec and transport, platform selection, Router Solicitation
  ERR_NETLINK_DECODE: 'bytes are not a well-formed netlink message or attribute',
  ERR_NETLINK_ENCODE: 'a value cannot be encoded as a netlink message (out of range or wrong length)',
  ERR_NETLINK_SOCKET: 'a netlink socket could not be opened or configured, or sending or receiving on it failed (errno attached)',
  ERR_NETLINK_REQUEST: 'the kernel refused a netlink request (the operation, errno and extended ACK text attached)',
  ERR_NETLINK_CLOSED: 'the netlink connection was closed before the request completed',
  ERR_PLATFORM_UNSUPPORTED: 'this operating system has no stable6 platform backend',
  ERR_PLATFORM_INTERFACE: 'the interface does not exist (no such index or name)',
  ERR_PLATFORM_SETTINGS: 'the IPv6 settings of an interface (autoconf, accept_ra) could not be read or written',
  ERR_ICMPV6_SEND: 'a Router Solicitation could not be sent (errno attached)',
  // compatibility modes (src/core/compat, src/compat): other systems' algorithms and secrets
  ERR_COMPAT_INPUT: 'an input of a compatibility algorithm (linux, networkmanager, systemd-networkd, dhcpcd, slaacd) is missing or out of range',
  ERR_COMPAT_SECRET_MISSING: "another system's secret file (stable_secret, secret_key, machine-id, dhcpcd secret) does not exist or is not set (file named)",
  ERR_COMPAT_SECRET_MALFORMED: "another system's secret file is not in that system's format (file and problem named)",
  ERR_COMPAT_SECRET_IO: "another system's secret file exists but could not be read (file and errno named)",
  ERR_COMPAT_MISMATCH: 'an address the other system made differs from the one stable6 computes in that mode',
  // windows backend (src/platform/windows, src/codec/win32): IP Helper API failures carry details.function and details.status (the Win32 name)
  ERR_WIN32_CALL: 'an IP Helper or other Win32 function failed (the function and the Win32 status name attached)',
  ERR_WIN32_ACCESS_DENIED: 'Windows refused the change: the process is neither an administrator nor in Network Configuration Operators (ERROR_ACCESS_DENIED)',
  ERR_WIN32_EXISTS: 'Windows has the address or route already where stable6 expected none (ERROR_OBJECT_ALREADY_EXISTS)',
  ERR_WIN32_NOT_FOUND: 'the address, route or interface is not in the Windows tables (ERROR_NOT_FOUND, ERROR_FILE_NOT_FOUND)',
  ERR_WIN32_INVALID_PARAMETER: 'Windows refused a row as invalid, e.g. a preferred lifetime longer than the valid one (ERROR_INVALID_PARAMETER)',
  ERR_WIN32_UNAVAILABLE: 'iphlpapi.dll, kernel32.dll or advapi32.dll could not be loaded (not Windows, or no koffi binary for this machine)',
  ERR_WIN32_UNSUPPORTED: 'the Windows stack has no equivalent of the requested setting (e.g. its own SLAAC off while RA processing stays on)',
  ERR_WIN32_PIPE_IDENTITY: 'the user (SID) of a named-pipe client could not be determined',
  ERR_WIN32_CLOSED: 'the Windows platform was closed',
  // windows named-pipe API server (src/platform/windows/pipe-*.ts): details.function and details.status (the Win32 name)
  ERR_WIN32_PIPE: 'a named-pipe call of the API server failed: create, connect, read or write (the function and the Win32 status name attached)',
  ERR_WIN32_PIPE_IN_USE: 'another process already serves the API named pipe (FILE_FLAG_FIRST_PIPE_INSTANCE refused with ERROR_ACCESS_DENIED)',
  ERR_WIN32_PIPE_SECURITY: 'the security descriptor (SDDL) for the API named pipe is not valid',
  ERR_WIN32_PIPE_IMPERSONATION: 'RevertToSelf failed after identifying a pipe client: the thread may still run as the client, so the daemon must stop',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface Stable6ErrorOptions {
  /** The error that led to this one (an errno error, a parser error, ...). */
  cause?: unknown;
  /** Machine-readable detail: errno, the file, the field, the kernel's extended ACK text. */
  details?: Readonly<Record<string, unknown>>;
}

export class Stable6Error extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: Stable6ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'Stable6Error';
    this.code = code;
    this.details = options.details ?? {};
  }
}

export function isStable6Error(value: unknown, code?: ErrorCode): value is Stable6Error {
  return value instanceof Stable6Error && (code === undefined || value.code === code);
}
