#!/usr/bin/env node
// Validates Forge manifests with Atlassian's own @forge/manifest (the exact version in
// ../package.json): its full validation, the one `forge lint` and `forge deploy` start with
// (YAML, JSON schema, then module, endpoint, scope, resource and permission rules; resource paths
// are resolved from the manifest's folder, so they must exist there).
// For each file: one line per finding, then `<file>: valid` or `<file>: invalid (N findings)`.
// Exit 0 when every file is valid, 1 when one is not; with --strict a warning (for example a
// deprecated `fetch.client` string entry) also makes a file invalid. Exit 2: wrong usage, or the
// validator could not be loaded or crashed. Several files share one start (loading takes seconds).

const USAGE = 'usage: node validate-manifest.mjs [--strict] <manifest.yml>...\n';

async function main(args) {
  const strict = args.includes('--strict');
  const files = args.filter((a) => !a.startsWith('--'));
  if (files.length === 0 || args.some((a) => a.startsWith('--') && a !== '--strict')) {
    process.stderr.write(USAGE);
    return 2;
  }
  // Loaded here, not by a static import, so that a missing package exits 2, never 1.
  const { validate } = (await import('@forge/manifest')).default;
  let allValid = true;
  for (const file of files) {
    const result = await validate(false, file);
    const findings = result.errors ?? [];
    for (const e of findings) {
      process.stdout.write(`${e.level} ${file}:${e.line ?? 0}:${e.column ?? 0} ${e.message} [${e.reference}]\n`);
    }
    const failing = strict ? findings.length : findings.filter((e) => e.level !== 'warning').length;
    if (result.success && failing === 0) {
      process.stdout.write(`${file}: valid\n`);
    } else {
      // `success: false` without a finding should not happen; count it so it cannot pass.
      process.stdout.write(`${file}: invalid (${Math.max(failing, 1)} findings)\n`);
      allValid = false;
    }
  }
  return allValid ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`${e.stack ?? e}\n`);
    process.exitCode = 2;
  },
);
