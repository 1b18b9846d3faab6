/**
 * man/stable6.8, made from the same usage texts as `--help`, so the two never disagree
 * (a test compares the file with this function's output: `npm run man` rewrites it).
 */
import type { Command } from './cli-io.js';

function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');
}

export function renderManPage(commands: readonly Command[], version: string): string {
  const sections = commands.map((c) => `.SS ${c.name}\n${roff(c.summary)}\n.PP\n.nf\n${roff(c.usage)}\n.fi`).join('\n');
  return `.TH STABLE6 8 "" "stable6 ${version}" "System Administration"
.SH NAME
stable6 \\- stable, semantically opaque IPv6 addresses (RFC 7217)
.SH SYNOPSIS
.B stable6
.I command
.RI [ options ]
.SH DESCRIPTION
stable6 makes stable, opaque IPv6 interface identifiers with a keyed hash of the prefix, the
interface, an optional network id and a DAD counter (RFC 7217, algorithm stable6-v1), puts
the addresses on the host's interfaces and keeps them there (the daemon), and lets
unprivileged programs lease an address of their own over a local socket.
Every command takes
.B \\-\\-help
and every command that prints takes
.BR \\-\\-json .
.SH COMMANDS
${sections}
.SH EXIT STATUS
0 done; 2 the input was refused (nothing was changed); 1 the work failed.
Errors are one line on standard error:
.IR "stable6: ERR_CODE: message" .
.SH FILES
.TP
.I /etc/stable6/stable6.toml
the daemon's configuration
.TP
.I /var/lib/stable6/secret
the secret (hex, mode 0600)
.TP
.I /var/lib/stable6/state.json
DAD counters, leases and saved interface settings
.TP
.I /run/stable6/api.sock
the local API
.SH SEE ALSO
RFC 7217, RFC 4862, RFC 4861, RFC 6724; README.md, docs/config.md, docs/api.md, docs/errors.md
`;
}
