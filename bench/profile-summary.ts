import { formatProfile, summarizeProfile } from './cpu-profile.ts';

/**
 * `node --import tsx bench/profile-summary.ts <file.cpuprofile>…`: self time by package and by function.
 * Profiles come from `node --cpu-prof --cpu-prof-dir=DIR --import tsx bench/main.ts --profile-dir DIR`
 * (the server process and, with --profile-dir, the store, simulator and load processes).
 */
const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: node --import tsx bench/profile-summary.ts <file.cpuprofile>…\n');
  process.exitCode = 2;
} else {
  for (const file of files) process.stdout.write(`${formatProfile(file, await summarizeProfile(file, 20))}\n\n`);
}
