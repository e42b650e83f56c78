import { resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '..', '..');
/** Where the shared test environment lives while `npm test` runs (started by before.ts). */
export const TEST_STATE_DIR = process.env['VCNET_TEST_STATE_DIR'] ?? resolve(REPO, '.vcnet-test');
