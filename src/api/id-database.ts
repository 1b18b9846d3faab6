/**
 * User and group names from the local files (/etc/passwd, /etc/group), for the policy and the
 * socket's group. Node has no getpwnam(3); names served only by NSS modules (LDAP, sssd) are
 * not seen: give numeric ids in the configuration for those.
 */
import { readFile } from 'node:fs/promises';
import { Stable6Error } from '../errors.js';
import { parseIdFile, type IdDatabase } from './policy.js';

export async function readIdDatabase(passwd = '/etc/passwd', group = '/etc/group'): Promise<IdDatabase> {
  const read = (file: string): Promise<string> => readFile(file, 'utf8').catch(() => '');
  const [users, groups] = await Promise.all([read(passwd), read(group)]);
  return { users: parseIdFile(users), groups: parseIdFile(groups) };
}

/** A group name or gid → the gid; an unknown name is ERR_API_CONFIG. */
export function resolveGroup(group: string | number, ids: IdDatabase): number {
  if (typeof group === 'number' || /^\d+$/.test(group)) return Number(group);
  const gid = ids.groups.get(group);
  if (gid === undefined) throw new Stable6Error('ERR_API_CONFIG', `api: no group named ${JSON.stringify(group)} (socket_group)`);
  return gid;
}
