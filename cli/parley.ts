// The `parley` command: one subcommand per file under cli/commands/.
import { authCommand } from './commands/auth.js';
import { startCommand } from './commands/start.js';
import { tokenCommand } from './commands/token.js';
import { loadDotEnv } from './env.js';

const USAGE = `usage: parley <command> [options]

commands:
  start                      run a whole node (Temporal, Postgres, worker, API) in the foreground
  token --role R --sub ID    mint a development bearer token (R: officer, supervisor, admin)
  auth init-dev              create the development token issuer key in the data folder
`;

async function main(argv: string[]): Promise<number> {
  loadDotEnv();
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return startCommand();
    case 'token':
      return tokenCommand(rest);
    case 'auth':
      return authCommand(rest);
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command: ${command}\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`parley: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
