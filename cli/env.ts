// Environment for CLI commands: an optional .env file in the working folder, then the real
// environment (which wins).
import fs from 'node:fs';

export function loadDotEnv(file = '.env'): void {
  if (fs.existsSync(file)) process.loadEnvFile(file);
}
