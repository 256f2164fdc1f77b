/** Types of build-wasm.mjs, for the unit test that checks the committed module against its source. */
export const WAT_FILE: string;
export const MODULE_FILE: string;
export function keyHashModuleSource(): Promise<string>;
export function buildKeyHashModule(): Promise<void>;
