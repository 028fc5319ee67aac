// Where the package's own files are, for the modules that read them (data/, configs/, the addon).
import * as path from 'node:path';

/** Root of the installed package (holds package.json, data/, configs/, build/ or prebuilds/). */
export const packageRoot = path.resolve(__dirname, '..');
