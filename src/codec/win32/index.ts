// The Win32 IP Helper codec: struct layouts as data, and pure row/table encoders and decoders.
export * from './constants.js';
export * from './layout.js';
export * from './structs.js';
export * from './rows.js';
