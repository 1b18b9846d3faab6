#!/usr/bin/env python3
"""Captures the netlink golden messages of test/codec/netlink/goldens.ts from the running kernel.

Independent of the TypeScript code under test: plain Python sockets (AF_NETLINK) and the
uapi layouts. Run as root:

    python3 test/codec/netlink/capture-goldens.py > test/codec/netlink/goldens.ts

It makes two namespaces (s6cap-host, s6cap-rtr) joined by a veth pair, runs radvd in
s6cap-rtr, and inside s6cap-host records: our own requests (built here, accepted by the
kernel), their ACKs and errors (NETLINK_EXT_ACK, NETLINK_CAP_ACK), address, route, link,
prefix and ND user-option notifications, and the end of a dump. Namespaces are removed in
every outcome. The output is TypeScript: each message as hex, split per field and commented.
"""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

HOST, RTR = 's6cap-host', 's6cap-rtr'
SOL_NETLINK, NETLINK_CAP_ACK, NETLINK_EXT_ACK = 270, 10, 11
GROUPS = (1 << 0) | (1 << 8) | (1 << 10) | (1 << 17) | (1 << 19)  # LINK, IPV6_IFADDR, IPV6_ROUTE, IPV6_PREFIX, ND_USEROPT


def sh(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True).stdout


def outer():
    for ns in (HOST, RTR):
        sh('ip', 'netns', 'del', ns, check=False)
    radvd = None
    tmp = tempfile.mkdtemp(prefix='s6cap-')
    try:
        sh('ip', 'netns', 'add', HOST)
        sh('ip', 'netns', 'add', RTR)
        sh('ip', 'link', 'add', 's6capv', 'netns', HOST, 'type', 'veth', 'peer', 'name', 's6capp', 'netns', RTR)
        sh('ip', '-n', HOST, 'link', 'set', 's6capv', 'name', 'host0')
        sh('ip', '-n', RTR, 'link', 'set', 's6capp', 'name', 'rtr0')
        for ns, ifname in ((HOST, 'host0'), (RTR, 'rtr0')):
            sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', f'net.ipv6.neigh.{ifname}.retrans_time_ms=100')
            sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', f'net.ipv6.conf.{ifname}.router_solicitation_delay=0')
        sh('ip', 'netns', 'exec', HOST, 'sysctl', '-qw', 'net.ipv6.conf.host0.accept_ra=1')
        sh('ip', 'netns', 'exec', HOST, 'sysctl', '-qw', 'net.ipv6.conf.host0.autoconf=0')
        sh('ip', 'netns', 'exec', RTR, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1')
        sh('ip', '-n', HOST, 'link', 'set', 'lo', 'up')
        sh('ip', '-n', RTR, 'link', 'set', 'lo', 'up')
        sh('ip', '-n', HOST, 'link', 'set', 'host0', 'up')
        conf = os.path.join(tmp, 'radvd.conf')
        with open(conf, 'w') as f:
            f.write('interface rtr0 { AdvSendAdvert on; MinRtrAdvInterval 3; MaxRtrAdvInterval 4;\n'
                    '  prefix 2001:db8:1::/64 { AdvOnLink on; AdvAutonomous on; AdvValidLifetime 7200; AdvPreferredLifetime 3600; };\n'
                    '  RDNSS 2001:db8:1::53 { AdvRDNSSLifetime 600; };\n};\n')
        inner = subprocess.Popen(['ip', 'netns', 'exec', HOST, sys.executable, __file__, '--inner'], stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)  # the inner listener binds first
        sh('ip', '-n', RTR, 'link', 'set', 'rtr0', 'up')
        radvd = subprocess.Popen(['ip', 'netns', 'exec', RTR, 'radvd', '--nodaemon', '-C', conf, '-p', os.path.join(tmp, 'pid'), '-m', 'stderr', '-u', 'root'],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            out, _ = inner.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            inner.kill()
            raise
        sys.stdout.write(out)
        if inner.returncode != 0:
            sys.exit(inner.returncode)
    finally:
        if radvd:
            radvd.terminate()
            radvd.wait()
        for ns in (HOST, RTR):
            sh('ip', 'netns', 'del', ns, check=False)
        subprocess.run(['rm', '-rf', tmp])


def nl_socket(groups=0):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    s.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
    s.bind((0, groups))
    return s


def msgs(datagram):
    off = 0
    while off + 16 <= len(datagram):
        ln, = struct.unpack_from('=I', datagram, off)
        yield datagram[off:off + ln]
        off += (ln + 3) & ~3


def attr(t, v):
    return struct.pack('=HH', 4 + len(v), t) + v + b'\0' * (-(len(v)) % 4)


def nlmsg(t, flags, seq, payload):
    return struct.pack('=IHHII', 16 + len(payload), t, flags, seq, 0) + payload


def request(sock, data):
    sock.send(data)
    out = []
    while True:
        d = sock.recv(65536)
        for m in msgs(d):
            out.append(m)
            t, = struct.unpack_from('=H', m, 4)
            if t in (2, 3):
                return out


def inner():
    ev = nl_socket(GROUPS)
    rq = nl_socket()
    ev.settimeout(0.2)
    host0 = socket.if_nametoindex('host0')
    captured = {}

    def drain(until=None, timeout=15.0):
        end = time.time() + timeout
        while time.time() < end:
            try:
                d = ev.recv(65536)
            except socket.timeout:
                d = b''
            for m in msgs(d):
                t, = struct.unpack_from('=H', m, 4)
                captured.setdefault(('event', t, classify(m)), m)
            if until and until():
                return

    addr = socket.inet_pton(socket.AF_INET6, '2001:db8:5::1')
    # RTM_NEWADDR request: ifaddrmsg + IFA_ADDRESS + IFA_CACHEINFO + IFA_FLAGS + IFA_PROTO
    body = struct.pack('=BBBBI', 10, 64, 0, 0, host0) + attr(1, addr) + attr(6, struct.pack('=IIII', 1800, 3600, 0, 0)) \
        + attr(8, struct.pack('=I', 0x02 | 0x200)) + attr(11, bytes([115]))
    newaddr = nlmsg(20, 0x01 | 0x04 | 0x400 | 0x100, 1, body)
    captured['newaddr-request'] = newaddr
    captured['ack'] = request(rq, newaddr)[0]
    excl = nlmsg(20, 0x01 | 0x04 | 0x400 | 0x200, 2, body)
    captured['eexist-error'] = request(rq, excl)[0]
    # RTM_NEWROUTE request: default via fe80::1 dev host0 proto 115 metric 1024
    gw = socket.inet_pton(socket.AF_INET6, 'fe80::1')
    rbody = struct.pack('=BBBBBBBBI', 10, 0, 0, 0, 254, 115, 0, 1, 0) + attr(5, gw) + attr(4, struct.pack('=I', host0)) + attr(6, struct.pack('=I', 1024))
    newroute = nlmsg(24, 0x01 | 0x04 | 0x400 | 0x200, 3, rbody)
    captured['newroute-request'] = newroute
    request(rq, newroute)
    getaddr = nlmsg(22, 0x01 | 0x300, 4, struct.pack('=BBBBI', 10, 0, 0, 0, 0))
    captured['getaddr-dump-request'] = getaddr
    dump = request(rq, getaddr)
    captured['dump-done'] = dump[-1]
    getlink = nlmsg(18, 0x01 | 0x04, 5, struct.pack('=BBHiII', 0, 0, 0, host0, 0, 0))
    captured['getlink-request'] = getlink
    captured['link-reply'] = request(rq, getlink)[0]

    def have_all():
        kinds = {k[1] for k in captured if k[0] == 'event'}
        return {52, 68, 20, 24}.issubset(kinds) and ('event', 24, 'ra') in captured
    drain(until=have_all, timeout=30)
    dell = nlmsg(21, 0x01 | 0x04, 6, struct.pack('=BBBBI', 10, 64, 0, 0, host0) + attr(1, addr))
    request(rq, dell)
    drain(until=lambda: ('event', 21, 'global') in captured, timeout=5)
    getroute = nlmsg(26, 0x01 | 0x300, 7, struct.pack('=BBBBBBBBI', 10, 0, 0, 0, 0, 0, 0, 0, 0))
    for m in request(rq, getroute):
        if classify(m) == 'ra':
            captured['route-dump-ra'] = m

    pick = [
        ('NEWADDR_REQUEST', captured['newaddr-request'], 'RTM_NEWADDR request stable6 sends: 2001:db8:5::1/64 on host0, valid 3600 s, preferred 1800 s, nodad+noprefixroute, proto 115 (built by this script; the kernel ACKed it)'),
        ('ACK', captured['ack'], 'the ACK of NEWADDR_REQUEST (NETLINK_CAP_ACK: capped, no payload)'),
        ('EEXIST_ERROR', captured['eexist-error'], 'the same request with NLM_F_EXCL instead of NLM_F_REPLACE: EEXIST with extended ACK text'),
        ('NEWROUTE_REQUEST', captured['newroute-request'], 'RTM_NEWROUTE request: default via fe80::1 dev host0 proto 115 metric 1024 (built by this script; ACKed)'),
        ('GETADDR_DUMP_REQUEST', captured['getaddr-dump-request'], 'RTM_GETADDR dump request for AF_INET6'),
        ('DUMP_DONE', captured['dump-done'], 'NLMSG_DONE ending the RTM_GETADDR dump'),
        ('GETLINK_REQUEST', captured['getlink-request'], 'RTM_GETLINK request for host0 by index'),
        ('LINK_REPLY', captured['link-reply'], 'RTM_NEWLINK reply for host0 (veth, up)'),
        ('NEWADDR_EVENT', captured.get(('event', 20, 'global')), 'RTM_NEWADDR notification (RTNLGRP_IPV6_IFADDR) for 2001:db8:5::1/64'),
        ('DELADDR_EVENT', captured.get(('event', 21, 'global')), 'RTM_DELADDR notification after deleting 2001:db8:5::1/64'),
        ('NEWROUTE_EVENT', captured.get(('event', 24, 'ours')), 'RTM_NEWROUTE notification (RTNLGRP_IPV6_ROUTE) for the proto 115 default route'),
        ('RA_ROUTE_DUMP', captured.get('route-dump-ra'), 'RTM_NEWROUTE from a dump: the default route radvd made, proto ra, with RTA_CACHEINFO expiry'),
        ('NEWPREFIX_EVENT', captured.get(('event', 52, '')), 'RTM_NEWPREFIX (RTNLGRP_IPV6_PREFIX) for radvd\'s 2001:db8:1::/64, valid 7200 s, preferred 3600 s, L and A'),
        ('NDUSEROPT_EVENT', captured.get(('event', 68, '')), 'RTM_NEWNDUSEROPT (RTNLGRP_ND_USEROPT) from radvd\'s RA'),
    ]
    uname = os.uname()
    print('// Generated by: python3 test/codec/netlink/capture-goldens.py > test/codec/netlink/goldens.ts')
    print(f'// Captured from Linux {uname.release} ({uname.machine}), host byte order little-endian,')
    print('// in network namespaces the script made (veth pair, radvd 2.19 on the other end). Do not edit by hand.')
    print('// Each constant: hex split per field, with the field named beside it.')
    print()
    for name, m, what in pick:
        if m is None:
            raise SystemExit(f'did not capture {name}')
        print(f'/** {what}. */')
        print(f'export const {name} = [')
        for hexpart, comment in annotate(m):
            print(f"  '{hexpart}', // {comment}")
        print("].join('');")
        print()


def classify(m):
    t, = struct.unpack_from('=H', m, 4)
    p = m[16:]
    if t in (20, 21):
        return 'global' if p[3] == 0 else 'other'
    if t in (24, 25):
        return 'ours' if p[5] == 115 else ('ra' if p[5] == 9 and p[1] == 0 else 'other')
    return ''


IFLA = {1: 'IFLA_ADDRESS', 2: 'IFLA_BROADCAST', 3: 'IFLA_IFNAME', 4: 'IFLA_MTU', 5: 'IFLA_LINK', 6: 'IFLA_QDISC', 7: 'IFLA_STATS',
        10: 'IFLA_MASTER', 13: 'IFLA_PROTINFO', 13: 'IFLA_TXQLEN', 14: 'IFLA_MAP', 16: 'IFLA_OPERSTATE', 17: 'IFLA_LINKMODE', 18: 'IFLA_LINKINFO',
        19: 'IFLA_NET_NS_PID', 21: 'IFLA_IFALIAS', 23: 'IFLA_STATS64', 26: 'IFLA_AF_SPEC', 27: 'IFLA_GROUP', 29: 'IFLA_PROMISCUITY',
        30: 'IFLA_NUM_TX_QUEUES', 31: 'IFLA_NUM_RX_QUEUES', 32: 'IFLA_CARRIER', 33: 'IFLA_PHYS_PORT_ID', 34: 'IFLA_CARRIER_CHANGES',
        37: 'IFLA_LINK_NETNSID', 40: 'IFLA_GSO_MAX_SEGS', 41: 'IFLA_GSO_MAX_SIZE', 43: 'IFLA_XDP', 47: 'IFLA_CARRIER_UP_COUNT',
        48: 'IFLA_CARRIER_DOWN_COUNT', 50: 'IFLA_MIN_MTU', 51: 'IFLA_MAX_MTU', 52: 'IFLA_PROP_LIST', 54: 'IFLA_PERM_ADDRESS',
        56: 'IFLA_PARENT_DEV_NAME', 57: 'IFLA_PARENT_DEV_BUS_NAME', 58: 'IFLA_GRO_MAX_SIZE', 59: 'IFLA_TSO_MAX_SIZE', 60: 'IFLA_TSO_MAX_SEGS',
        61: 'IFLA_ALLMULTI', 62: 'IFLA_DEVLINK_PORT', 63: 'IFLA_GSO_IPV4_MAX_SIZE', 64: 'IFLA_GRO_IPV4_MAX_SIZE', 65: 'IFLA_DPLL_PIN',
        66: 'IFLA_MAX_PACING_OFFLOAD_HORIZON', 67: 'IFLA_NETNS_IMMUTABLE', 68: 'IFLA_HEADROOM', 69: 'IFLA_TAILROOM'}
IFA = {1: 'IFA_ADDRESS', 2: 'IFA_LOCAL', 3: 'IFA_LABEL', 6: 'IFA_CACHEINFO (preferred s, valid s, cstamp, tstamp)', 8: 'IFA_FLAGS', 9: 'IFA_RT_PRIORITY', 10: 'IFA_TARGET_NETNSID', 11: 'IFA_PROTO'}
RTA = {1: 'RTA_DST', 4: 'RTA_OIF', 5: 'RTA_GATEWAY', 6: 'RTA_PRIORITY', 7: 'RTA_PREFSRC', 8: 'RTA_METRICS', 9: 'RTA_MULTIPATH',
       12: 'RTA_CACHEINFO (clntref, lastuse, expires in 1/100 s, error, used, id, ts, tsage)', 15: 'RTA_TABLE', 20: 'RTA_PREF', 23: 'RTA_EXPIRES'}
TYPES = {2: 'NLMSG_ERROR', 3: 'NLMSG_DONE', 16: 'RTM_NEWLINK', 18: 'RTM_GETLINK', 20: 'RTM_NEWADDR', 21: 'RTM_DELADDR', 22: 'RTM_GETADDR',
         24: 'RTM_NEWROUTE', 26: 'RTM_GETROUTE', 52: 'RTM_NEWPREFIX', 68: 'RTM_NEWNDUSEROPT'}


def value_text(b):
    if len(b) == 16:
        return socket.inet_ntop(socket.AF_INET6, b)
    if len(b) == 4:
        return str(struct.unpack('=I', b)[0])
    if len(b) == 1:
        return str(b[0])
    if len(b) == 2:
        return str(struct.unpack('=H', b)[0])
    if b.endswith(b'\0') and all(32 <= c < 127 for c in b[:-1]) and len(b) > 1:
        return json.dumps(b[:-1].decode())
    if len(b) <= 8:
        return ':'.join(f'{c:02x}' for c in b)
    return f'{len(b)} bytes'


def attrs(p, names):
    out, off = [], 0
    while off + 4 <= len(p):
        ln, t = struct.unpack_from('=HH', p, off)
        v = p[off + 4:off + ln]
        name = names.get(t & 0x3fff, f'type {t & 0x3fff}')
        nested = ' NLA_F_NESTED' if t & 0x8000 else ''
        alen = (ln + 3) & ~3
        text = ', '.join(str(x) for x in struct.unpack(f'={len(v) // 4}I', v)) if 'CACHEINFO' in name else value_text(v)
        out.append((p[off:off + alen].hex(), f'{name}{nested} len {ln}: {text}' + (' (+ padding)' if alen != ln else '')))
        off = alen + off
    return out


def annotate(m):
    ln, t, flags, seq, pid = struct.unpack_from('=IHHII', m)
    rows = [(m[0:4].hex(), f'nlmsg_len {ln}'), (m[4:6].hex(), f'nlmsg_type {t} {TYPES.get(t, "")}'), (m[6:8].hex(), f'nlmsg_flags 0x{flags:x}'),
            (m[8:12].hex(), f'nlmsg_seq {seq}'), (m[12:16].hex(), f'nlmsg_pid {pid}')]
    p = m[16:]
    if t == 2:
        err, = struct.unpack_from('=i', p)
        rows.append((p[0:4].hex(), f'error {err}' + (f' (-{os.strerror(-err)})' if err else ' (ACK)')))
        rows.append((p[4:20].hex(), 'the request\'s nlmsghdr (len, type, flags, seq, pid)'))
        rows += attrs(p[20:], {1: 'NLMSGERR_ATTR_MSG', 2: 'NLMSGERR_ATTR_OFFS'})
    elif t == 3:
        rows.append((p[0:4].hex(), f'status {struct.unpack_from("=i", p)[0]}'))
        if len(p) > 4:
            rows.append((p[4:].hex(), 'extended ACK attributes'))
    elif t in (16, 17, 18):
        fam, _, typ, idx, fl, ch = struct.unpack_from('=BBHiII', p)
        rows += [(p[0:2].hex(), f'ifi_family {fam}, pad'), (p[2:4].hex(), f'ifi_type {typ}'), (p[4:8].hex(), f'ifi_index {idx}'),
                 (p[8:12].hex(), f'ifi_flags 0x{fl:x}'), (p[12:16].hex(), f'ifi_change 0x{ch:x}')]
        rows += attrs(p[16:], IFLA)
    elif t in (20, 21, 22):
        rows += [(p[0:4].hex(), f'ifa_family {p[0]}, ifa_prefixlen {p[1]}, ifa_flags 0x{p[2]:x}, ifa_scope {p[3]}'), (p[4:8].hex(), f'ifa_index {struct.unpack_from("=I", p, 4)[0]}')]
        rows += attrs(p[8:], IFA)
    elif t in (24, 25, 26):
        rows += [(p[0:4].hex(), f'rtm_family {p[0]}, rtm_dst_len {p[1]}, rtm_src_len {p[2]}, rtm_tos {p[3]}'),
                 (p[4:8].hex(), f'rtm_table {p[4]}, rtm_protocol {p[5]}, rtm_scope {p[6]}, rtm_type {p[7]}'), (p[8:12].hex(), f'rtm_flags 0x{struct.unpack_from("=I", p, 8)[0]:x}')]
        rows += attrs(p[12:], RTA)
    elif t == 52:
        rows += [(p[0:4].hex(), f'prefix_family {p[0]}, pad1, pad2'), (p[4:8].hex(), f'prefix_ifindex {struct.unpack_from("=i", p, 4)[0]}'),
                 (p[8:12].hex(), f'prefix_type {p[8]}, prefix_len {p[9]}, prefix_flags 0x{p[10]:x}, pad3')]
        rows += attrs(p[12:], {1: 'PREFIX_ADDRESS', 2: 'PREFIX_CACHEINFO (preferred, valid)'})
    elif t == 68:
        olen, = struct.unpack_from('=H', p, 2)
        rows += [(p[0:4].hex(), f'nduseropt_family {p[0]}, pad1, nduseropt_opts_len {olen}'), (p[4:8].hex(), f'nduseropt_ifindex {struct.unpack_from("=i", p, 4)[0]}'),
                 (p[8:16].hex(), f'nduseropt_icmp_type {p[8]}, nduseropt_icmp_code {p[9]}, pad2, pad3')]
        off = 16
        while off < 16 + olen:
            ot, ol = p[off], p[off + 1]
            rows.append((p[off:off + ol * 8].hex(), f'ND option type {ot}, length {ol} (x8 bytes)'))
            off += ol * 8
        rows += attrs(p[(16 + olen + 3) & ~3:], {1: 'NDUSEROPT_SRCADDR'})
    return rows


if __name__ == '__main__':
    if '--inner' in sys.argv:
        inner()
    else:
        outer()
