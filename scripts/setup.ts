// `npm run setup`: installs what a node needs beyond npm packages: the Temporal CLI (found, or
// built from source into .tools/bin, saying what it does meanwhile) and, for local use, the
// development token issuer.
import path from 'node:path';
import { Env } from '../config.js';
import { ensureDevIssuer } from '../node/dev-issuer.js';
import { ensureTemporalCli, TEMPORAL_CLI_VERSION } from '../temporal/cli-locator.js';

const started = Date.now();
const cli = await ensureTemporalCli((line) => console.log(line));
if (cli.source === 'built now') {
  console.log(
    `Temporal CLI ${TEMPORAL_CLI_VERSION} is at ${cli.path}. Later starts (npm start, npm test, ` +
      'npm run setup) find it there and reuse it: this build does not run again unless that file ' +
      'is deleted.',
  );
} else {
  console.log(`Temporal CLI (${TEMPORAL_CLI_VERSION} pinned): ${cli.path} [${cli.source}], reused`);
}
const dataDir = path.resolve(
  Env.pick({ PARLEY_DATA_DIR: true }).parse(process.env).PARLEY_DATA_DIR,
);
if (await ensureDevIssuer(dataDir))
  console.log(`development token issuer created in ${dataDir}/auth`);
console.log(`setup done in ${Math.round((Date.now() - started) / 1000)} s`);
