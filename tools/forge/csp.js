#!/usr/bin/env node
'use strict';
// Copied from the workspace's shared/tools/forge-ui/csp.js, only these two lines added; the
// simulator's Forge UI host runs it to send the policy Forge would send (simulator/src/forge/ui.rs).
// Prints the Content-Security-Policy header that Atlassian's own @forge/csp (6.3.2) produces for
// one Custom UI resource. No logic of ours decides a directive: we only glue the package's two
// classes together the way @forge/tunnel@7.1.0 does (out/servers/resource-tunnel-server.js:21-65):
//   1. fetch.client entries that are objects become strings ({address} -> address,
//      {remote: key} -> that remote's baseUrl when it is a string), as
//      ResourceTunnelServer.transformPermissionsWithRemotes does (lines 21-32);
//   2. CSPProcessingService.getCspDetails(html, permissions) -> per-app sources
//      (content.scripts/styles, inline <script> sha256 hashes, external.* lists);
//   3. CSPInjectionService.getInjectableCSP({existingCSPDetails, microsEnv, hostname, ...})
//      -> the directive list, joined with '; ' (line 48).
// Optionally (--html-out) it also writes the index.html the platform would serve: the
// global-bridge.js and iframe-resizer <script> tags prepended to <head> exactly as
// @forge/cli-shared@9.8.0 BridgeScriptService / IframeResizerScriptService do.

const fs = require('fs');
const path = require('path');
const cheerio = require('cheerio');
const { CSPProcessingService, CSPInjectionService } = require('@forge/csp');
const { ManifestParserBuilder } = require('@forge/manifest');

const USAGE = `usage: node csp.js <manifest.yml> <resource-dir | file.html | resource-key[/entry-key]> [options]

  --env ENV            microsEnv for @forge/csp: prod (default), stg, dev, fedramp-stg, fedramp-prod
  --hostname HOST      the "hostname" argument of getInjectableCSP. Production passes the site
                       (e.g. example.atlassian.net); a local host passes its own origin
                       (e.g. http://localhost:8080) so frame-ancestors lets it frame the resource.
                       Default: none.
  --report-uri URI     replace the report-uri directive (production points at Atlassian).
  --tunnel URI         emulate \`forge tunnel\`: pass URI as tunnelCSPReporterUri (this also adds
                       ws://localhost:* http://localhost:* to connect-src).
  --raw-permissions    give @forge/csp the manifest permissions untransformed (object entries in
                       external.fetch.client then make it throw InvalidConnectSrc).
  --html-out FILE      also write the served index.html (platform scripts prepended to <head>).
  --bridge-src URL     src of the injected bridge script (default
                       https://forge.cdn.<env>.atlassian-dev.net/global-bridge.js)
  --resizer-src URL    src of the injected iframe-resizer script (default
                       https://forge.cdn.<env>.atlassian-dev.net/iframeResizer.contentWindow.min.js)
  --json               print {header, directives, cspDetails, html} as JSON
`;

function parseArgs(argv) {
  const opts = { env: 'prod', positional: [] };
  const valued = ['env', 'hostname', 'report-uri', 'tunnel', 'html-out', 'bridge-src', 'resizer-src'];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') return { help: true };
    if (a === '--json') opts.json = true;
    else if (a === '--raw-permissions') opts.rawPermissions = true;
    else if (a.startsWith('--') && valued.includes(a.slice(2))) {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      opts[a.slice(2)] = argv[++i];
    } else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
    else opts.positional.push(a);
  }
  if (opts.positional.length !== 2) throw new UsageError('expected <manifest.yml> and <resource>');
  return opts;
}

class UsageError extends Error {}

// Same parser (with ${ENV} / string-resource interpolation) that @forge/manifest's YamlValidator uses.
function loadManifest(file) {
  const content = fs.readFileSync(file, 'utf8');
  return new ManifestParserBuilder().withInterpolators().build().parseManifest({ content, filePath: file });
}

// <resource> may be a directory (its index.html), an .html file, or a manifest resource key
// (optionally key/entry for resources with an `entry` map).
function resolveHtml(manifestFile, manifest, resourceArg) {
  if (fs.existsSync(resourceArg)) {
    const st = fs.statSync(resourceArg);
    return st.isDirectory() ? path.join(resourceArg, 'index.html') : resourceArg;
  }
  const [key, entryKey] = resourceArg.split('/');
  const res = (manifest.resources || []).find((r) => r.key === key);
  if (!res) throw new UsageError(`${resourceArg}: not a file, directory or resource key in the manifest`);
  const base = path.resolve(path.dirname(manifestFile), res.path);
  if (entryKey) {
    const entry = res.entry && res.entry[entryKey];
    if (!entry) throw new UsageError(`resource ${key} has no entry ${entryKey}`);
    return path.join(base, entry);
  }
  return path.join(base, 'index.html');
}

// Copy of @forge/tunnel@7.1.0 ResourceTunnelServer.transformPermissionsWithRemotes (lines 21-32).
function transformPermissionsWithRemotes(permissions, remotes) {
  const client = permissions.external?.fetch?.client
    ?.map((item) => {
      if (typeof item === 'string') return item;
      if ('address' in item) return item.address;
      return remotes?.find((remote) => remote.key === item.remote)?.baseUrl;
    })
    .filter((item) => typeof item === 'string') ?? undefined;
  return { ...permissions, external: { ...permissions.external, fetch: { ...permissions.external?.fetch, client } } };
}

// Same steps as @forge/cli-shared@9.8.0 out/service/{iframe-resizer,bridge}-script-service.js:
// the resizer tag is prepended first, then the bridge tag, so the bridge ends up first in <head>.
function injectPlatformScripts(html, bridgeSrc, resizerSrc) {
  const prepend = (content, tag) => {
    const $ = cheerio.load(content, { xml: { xmlMode: false } });
    if ($('html').length === 0) throw new Error('Malformed HTML document');
    let head = $('head');
    if (head.length === 0) {
      $('html').prepend('<head></head>');
      head = $('head');
    }
    head.prepend(tag);
    return $.html();
  };
  const withResizer = prepend(html, `<script async src="${resizerSrc}"></script>`);
  return prepend(withResizer, `<script src="${bridgeSrc}"></script>`);
}

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e.message}\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const [manifestFile, resourceArg] = opts.positional;
  let manifest, htmlFile;
  try {
    manifest = loadManifest(manifestFile);
    htmlFile = resolveHtml(manifestFile, manifest, resourceArg);
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    return 2;
  }
  if (!fs.existsSync(htmlFile)) {
    process.stderr.write(`${htmlFile}: not found\n`);
    return 2;
  }

  const cdnEnv = ['prod', 'stg', 'dev'].includes(opts.env) ? opts.env : 'prod';
  const bridgeSrc = opts['bridge-src'] || `https://forge.cdn.${cdnEnv}.atlassian-dev.net/global-bridge.js`;
  const resizerSrc = opts['resizer-src'] || `https://forge.cdn.${cdnEnv}.atlassian-dev.net/iframeResizer.contentWindow.min.js`;
  // The tunnel computes the CSP on the HTML *after* injection; the injected tags have a src, so
  // they never add hashes and the header is the same either way.
  const servedHtml = injectPlatformScripts(fs.readFileSync(htmlFile, 'utf8'), bridgeSrc, resizerSrc);

  const rawPermissions = manifest.permissions || {};
  const permissions = opts.rawPermissions ? rawPermissions : transformPermissionsWithRemotes(rawPermissions, manifest.remotes);
  const logger = { info: (m) => process.stderr.write(`@forge/csp: ${m}\n`) };
  const processing = new CSPProcessingService(logger, cheerio.load);

  const invalid = processing.getInvalidCspPermissions(permissions.content || {});
  for (const v of invalid) process.stderr.write(`warning: permissions.content entry '${v}' is not allowed and is dropped by @forge/csp\n`);

  let cspDetails, directives;
  try {
    cspDetails = processing.getCspDetails(servedHtml, permissions);
    directives = new CSPInjectionService().getInjectableCSP({
      existingCSPDetails: cspDetails,
      microsEnv: opts.env,
      hostname: opts.hostname,
      tunnelCSPReporterUri: opts.tunnel
    });
  } catch (e) {
    process.stderr.write(`@forge/csp failed: ${e.message}\n`);
    return 1;
  }
  if (opts['report-uri']) {
    directives = directives.map((d) => (d.startsWith('report-uri ') ? `report-uri ${opts['report-uri']}` : d));
  }
  const header = directives.join('; ');

  if (opts['html-out']) fs.writeFileSync(opts['html-out'], servedHtml);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ htmlFile, header, directives, cspDetails, html: servedHtml }, null, 2)}\n`);
  } else {
    process.stdout.write(`${header}\n`);
  }
  return 0;
}

process.exitCode = main();
