import { Stable6Error, type ErrorCode } from '../../errors.js';
import { WIN32_STATUS, win32StatusName } from '../../codec/win32/constants.js';

const CODE_BY_STATUS = new Map<number, ErrorCode>([
  [WIN32_STATUS.ERROR_ACCESS_DENIED, 'ERR_WIN32_ACCESS_DENIED'],
  [WIN32_STATUS.ERROR_OBJECT_ALREADY_EXISTS, 'ERR_WIN32_EXISTS'],
  [WIN32_STATUS.ERROR_NOT_FOUND, 'ERR_WIN32_NOT_FOUND'],
  [WIN32_STATUS.ERROR_FILE_NOT_FOUND, 'ERR_WIN32_NOT_FOUND'],
  [WIN32_STATUS.ERROR_INVALID_PARAMETER, 'ERR_WIN32_INVALID_PARAMETER'],
]);

/**
 * The Stable6Error for a failed Win32 call: the code callers branch on, and the function and
 * the status *name* in the message and details (`ERROR_NOT_FOUND`, not a bare 1168).
 */
export function win32Error(
  fn: string,
  status: number,
  what: string,
  details: Readonly<Record<string, unknown>> = {},
): Stable6Error {
  const name = win32StatusName(status);
  return new Stable6Error(CODE_BY_STATUS.get(status) ?? 'ERR_WIN32_CALL', `${fn} failed with ${name} (${status}): ${what}`, {
    details: { ...details, function: fn, status: name, win32Status: status },
  });
}
