/**
 * rtnetlink numbers, as in the Linux uapi headers (linux/netlink.h, linux/rtnetlink.h,
 * linux/if_link.h, linux/if_addr.h). Only what stable6 reads or writes is named; every
 * other attribute survives as `{ kind: 'unknown' }`.
 */

// linux/netlink.h
export const NETLINK_ROUTE = 0;
export const NLMSG_HDRLEN = 16;
export const NLA_HDRLEN = 4;
export const NLA_ALIGNTO = 4;

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_ECHO = 0x08;
/** The dump changed while it was being read: list again (never read it as "gone"). */
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP_FILTERED = 0x20;
// GET requests
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
// NEW requests
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
// ACK flags (in an NLMSG_ERROR header)
/** The request's payload was left out of the error (NETLINK_CAP_ACK, or a plain ACK). */
export const NLM_F_CAPPED = 0x100;
/** Extended ACK attributes follow (NETLINK_EXT_ACK). */
export const NLM_F_ACK_TLVS = 0x200;

export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;

// socket options (SOL_NETLINK)
export const SOL_NETLINK = 270;
export const NETLINK_ADD_MEMBERSHIP = 1;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;

// linux/rtnetlink.h message types
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
export const RTM_NEWPREFIX = 52;
export const RTM_NEWNDUSEROPT = 68;

// multicast groups (enum rtnetlink_groups); all below 32, so nl_groups bits (1 << (group - 1)) work
export const RTNLGRP_LINK = 1;
export const RTNLGRP_IPV6_IFADDR = 9;
export const RTNLGRP_IPV6_ROUTE = 11;
export const RTNLGRP_IPV6_PREFIX = 18;
export const RTNLGRP_ND_USEROPT = 20;

export const AF_UNSPEC = 0;
export const AF_INET6 = 10;

// linux/if_link.h
export const IFLA_ADDRESS = 1;
export const IFLA_BROADCAST = 2;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_OPERSTATE = 16;
export const IFLA_PERM_ADDRESS = 54;

// linux/if.h
export const IFF_UP = 0x1;
export const IFF_RUNNING = 0x40;
/** RFC 2863 operational states (IF_OPER_*). */
export const OPERSTATE_NAMES = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'] as const;

// linux/if_addr.h
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_CACHEINFO = 6;
export const IFA_FLAGS = 8;
/** Linux ≥ 6.1: who owns the address (stable6 writes STABLE6_PROTOCOL). */
export const IFA_PROTO = 11;

export const IFA_F_SECONDARY = 0x01;
export const IFA_F_NODAD = 0x02;
export const IFA_F_OPTIMISTIC = 0x04;
export const IFA_F_DADFAILED = 0x08;
export const IFA_F_HOMEADDRESS = 0x10;
export const IFA_F_DEPRECATED = 0x20;
export const IFA_F_TENTATIVE = 0x40;
export const IFA_F_PERMANENT = 0x80;
export const IFA_F_MANAGETEMPADDR = 0x100;
export const IFA_F_NOPREFIXROUTE = 0x200;

// linux/rtnetlink.h routes
export const RTA_DST = 1;
export const RTA_SRC = 2;
export const RTA_IIF = 3;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_MULTIPATH = 9;
export const RTA_CACHEINFO = 12;
export const RTA_TABLE = 15;
export const RTA_PREF = 20;
/** Seconds, in a request (the kernel reports the time left in RTA_CACHEINFO instead). */
export const RTA_EXPIRES = 23;

export const RT_TABLE_MAIN = 254;
export const RTN_UNICAST = 1;
export const RT_SCOPE_UNIVERSE = 0;
export const RTPROT_KERNEL = 2;
export const RTPROT_BOOT = 3;
export const RTPROT_RA = 9;
/** rta_cacheinfo.rta_expires counts clock_t ticks: USER_HZ, 100 per second on every Linux ABI. */
export const USER_HZ = 100;

// prefix notifications
export const PREFIX_ADDRESS = 1;
export const PREFIX_CACHEINFO = 2;
/** The prefixmsg flag byte is the RA option's own (RFC 4861 §4.6.2), not IF_PREFIX_*: measured. */
export const PIO_FLAG_ON_LINK = 0x80;
export const PIO_FLAG_AUTONOMOUS = 0x40;

// ND user options
export const NDUSEROPT_SRCADDR = 1;
