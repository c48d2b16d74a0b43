#!/usr/bin/env node
// Verifies Forge invocation tokens the way Atlassian's Node samples do, with the npm `jose`
// package (the exact version in ../package.json), so tests can show that the tokens they mint
// are standard ones: jwtVerify(token, createLocalJWKSet(jwks),
//   {issuer: 'forge/invocation-token', audience, algorithms: ['RS256']}).
// stdin: {"jwks": {"keys": [...]}, "audience": "ari:cloud:ecosystem::app/<uuid>", "tokens": ["..."]}
// stdout: a JSON array, one entry per token in order: {"verified": true, "header", "payload"} or
//   {"verified": false, "code", "claim", "reason", "message"} (jose's error fields).
// Exit 0 when every token was tried (verified or not); 2 on bad input or when jose cannot load.
// Tokens come on stdin, not as arguments, so they never show in a process list.

const FIT_ISSUER = 'forge/invocation-token';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function main() {
  const input = JSON.parse(await readStdin());
  const { jwks, audience, tokens } = input;
  if (!jwks || !Array.isArray(jwks.keys) || typeof audience !== 'string' || !Array.isArray(tokens)) {
    throw new Error('stdin must be {"jwks": {"keys": [...]}, "audience": "...", "tokens": ["..."]}');
  }
  const { jwtVerify, createLocalJWKSet } = await import('jose');
  const keys = createLocalJWKSet(jwks);
  const results = [];
  for (const token of tokens) {
    try {
      const { payload, protectedHeader } = await jwtVerify(token, keys, {
        issuer: FIT_ISSUER,
        audience,
        algorithms: ['RS256'],
      });
      results.push({ verified: true, header: protectedHeader, payload });
    } catch (e) {
      if (typeof e?.code !== 'string' || !e.code.startsWith('ERR_')) throw e; // not a jose refusal
      results.push({ verified: false, code: e.code, claim: e.claim, reason: e.reason, message: e.message });
    }
  }
  process.stdout.write(`${JSON.stringify(results)}\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`${e.stack ?? e}\n`);
    process.exitCode = 2;
  },
);
