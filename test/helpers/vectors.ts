import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The public stable6-v1 vectors, read from the shared spec folder beside the project. */
export interface IidVector {
  prefix: string;
  secret: string;
  netIface: string;
  networkId: string;
  label: string;
  dadCounter: number;
  address: string;
}

export interface AutoSubnetVector {
  prefix: string;
  secret: string;
  netIface: string;
  subnetId: number;
  subnet: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
// dist/test/helpers -> project root -> ../shared/spec
export const SPEC_DIR = process.env.STABLE6_SPEC_DIR ?? path.resolve(here, '../../../../shared/spec');

export function loadVectors(): { iid: IidVector[]; autoSubnet: AutoSubnetVector[] } {
  return JSON.parse(readFileSync(path.join(SPEC_DIR, 'stable6-v1-vectors.json'), 'utf8')) as {
    iid: IidVector[];
    autoSubnet: AutoSubnetVector[];
  };
}
