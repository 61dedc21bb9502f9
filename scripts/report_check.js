#!/usr/bin/env node
'use strict';
// Opens a self-contained gammaq HTML report (report.html) in headless chromium and checks
// that it renders cleanly and offline: no console errors or warnings, no page errors, no
// request other than the report's own file:// URL and data: URLs, and at least --min-figures
// figures, each <figure class="gq-figure"> with a <figcaption>, an <svg> with a <title> and a
// non-zero size, and at least one drawn data mark (an SVG shape with class "mark" that has a
// non-empty bounding box and a fill or stroke).
//   node scripts/report_check.js REPORT.html [--screenshot OUT.png] [--min-figures 1]
//        [--width 1400] [--height H] [--timeout 60]
// --height H: the screenshot keeps the top H pixels of the page (a README picture) instead of
// the whole page.
// Prints "report_check: OK: F figures, M marks, no network requests" and exits 0, or prints
// one "report_check: FAIL: ..." line per problem on stderr and exits 1. Exits 77 (CTest's
// skip code) when puppeteer-core (scripts/setup_ort.sh) or chromium (Debian package
// chromium; $CHROMIUM overrides /usr/bin/chromium) is missing, 2 on a bad argument.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { pathToFileURL } = require('url');
const common = require('./lib/common');

const PROG = 'report_check';
const USAGE = `usage: node scripts/report_check.js REPORT.html [--screenshot OUT.png] [--min-figures 1]
       [--width 1400] [--height H] [--timeout 60]`;

const SPEC = {
  '--screenshot': 'value',
  '--min-figures': 'value',
  '--width': 'value',
  '--height': 'value',
  '--timeout': 'value',
  '--help': 'flag',
};

// Besides puppeteer's defaults (which already include --disable-background-networking,
// --disable-sync, --disable-default-apps, --no-first-run, --disable-extensions): no sandbox
// (chromium refuses to start as root otherwise), no update, reporting or ping traffic, and no
// working network at all (every host name fails to resolve and any connection that would
// still be made goes to a closed local port), so nothing can leave the machine even if a
// request slipped past the interception below.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-domain-reliability',
  '--disable-field-trial-config',
  '--disable-sync',
  '--disable-default-apps',
  '--no-default-browser-check',
  '--no-first-run',
  '--no-pings',
  '--host-resolver-rules=MAP * ~NOTFOUND',
  '--proxy-server=127.0.0.1:9',
];

function skip(why) {
  process.stderr.write(`${PROG}: ${why}; skipped\n`);
  process.exit(77);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Ids of the live chromium processes started with this profile: the browser and all its
// children (zygotes, renderers, GPU and utility processes) carry --user-data-dir=PROFILE
// (the children rewrite their command line to one space-separated string).
function profilePids(profile) {
  const needle = `--user-data-dir=${profile}`;
  const pids = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmdline;
    try {
      cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch (e) {
      continue;  // exited meanwhile
    }
    if (cmdline.includes(needle)) pids.push(Number(entry));
  }
  return pids;
}

// Waits up to 3 s for the chromium started with `profile` to exit, kills what is left of it
// (by process id), then removes the temporary directory. rmSync retries ENOTEMPTY (a process
// that was just killed may still have been writing), 0.1 s, 0.2 s, ... up to 5.5 s in all.
async function cleanUp(tmp, profile) {
  for (let waited = 0; profilePids(profile).length > 0 && waited < 3000; waited += 50) await sleep(50);
  for (const pid of profilePids(profile)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (e) {
      // already gone
    }
  }
  for (let waited = 0; profilePids(profile).length > 0 && waited < 2000; waited += 50) await sleep(50);
  try {
    fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  } catch (e) {
    process.stderr.write(`${PROG}: warning: could not remove the temporary directory ${tmp}: ${e.code || e.message}\n`);
  }
}

// Runs in the page: checks every figure.gq-figure, returns { figures, marks, problems }.
function inspectFigures() {
  const problems = [];
  let marks = 0;
  const figures = [...document.querySelectorAll('figure.gq-figure')];
  figures.forEach((fig, i) => {
    const caption = fig.querySelector('figcaption');
    const captionText = caption ? caption.textContent.replace(/\s+/g, ' ').trim() : '';
    const name = fig.id ? `#${fig.id}` : captionText ? `"${captionText.slice(0, 60)}"` : `number ${i + 1}`;
    const where = `figure ${name}`;
    if (!caption) problems.push(`${where}: no <figcaption>`);
    else if (!captionText) problems.push(`${where}: empty <figcaption>`);
    // Outermost SVGs of the figure (an <svg> nested in another is part of its plot).
    const svgs = [...fig.querySelectorAll('svg')].filter((s) => !s.parentElement.closest('svg'));
    if (svgs.length === 0) {
      problems.push(`${where}: no <svg>`);
      return;
    }
    let drawn = 0;
    svgs.forEach((svg, k) => {
      const which = svgs.length > 1 ? ` (svg ${k + 1})` : '';
      const title = [...svg.children].find((c) => c.localName === 'title');
      if (!title || !title.textContent.trim()) problems.push(`${where}${which}: <svg> has no <title>`);
      const box = svg.getBoundingClientRect();
      if (!(box.width > 0 && box.height > 0)) {
        problems.push(`${where}${which}: <svg> has zero size (${box.width}x${box.height})`);
      }
      for (const el of svg.querySelectorAll('.mark')) {
        if (!(el instanceof SVGGeometryElement)) continue;  // path, rect, circle, line, ...
        const r = el.getBoundingClientRect();
        const cs = getComputedStyle(el);
        const paints = (v) => v && v !== 'none' && v !== 'transparent' && v !== 'rgba(0, 0, 0, 0)';
        if ((r.width > 0 || r.height > 0) && (paints(cs.fill) || paints(cs.stroke)) &&
            cs.visibility === 'visible') {
          drawn++;
        }
      }
    });
    if (drawn === 0) problems.push(`${where}: no drawn data (no visible SVG shape with class "mark")`);
    marks += drawn;
  });
  return { figures: figures.length, marks, problems };
}

async function main() {
  const { positional, opts } = common.parseArgs(process.argv.slice(2), SPEC);
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (positional.length !== 1) common.fail('', 'expected exactly one REPORT.html argument (see --help)');
  const report = path.resolve(positional[0]);
  const minFigures = common.parseIntOpt('--min-figures', opts['min-figures'], 1, 0);
  const width = common.parseIntOpt('--width', opts.width, 1400, 1);
  const height = common.parseIntOpt('--height', opts.height, 0, 0);
  const timeoutS = common.parseNumOpt('--timeout', opts.timeout, 60);
  common.requireFile(report);
  if (opts.screenshot) common.requireWritableDir(opts.screenshot);

  let puppeteer;
  try {
    puppeteer = require('puppeteer-core');
  } catch (e) {
    skip(`puppeteer-core not installed (${String(e.message).split('\n')[0]}; run scripts/setup_ort.sh)`);
  }
  const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
  try {
    fs.accessSync(chromium, fs.constants.X_OK);
  } catch (e) {
    skip(`chromium not found at ${chromium} (${e.code}; install the Debian package chromium ` +
      'or point $CHROMIUM at a chromium binary)');
  }

  const reportUrl = pathToFileURL(report).href;
  const problems = [];
  const blocked = new Set();
  // A fresh profile, and XDG directories inside the same temporary directory: Debian's chromium
  // keeps its crash database under $XDG_CONFIG_HOME/chromium, outside the profile.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gammaq-report-check-'));
  const profile = path.join(tmp, 'profile');
  const env = { ...process.env, XDG_CONFIG_HOME: path.join(tmp, 'config'), XDG_CACHE_HOME: path.join(tmp, 'cache') };
  let browser = null;
  let timer = null;
  let timedOut = false;
  const deadline = Date.now() + timeoutS * 1000;
  try {
    try {
      browser = await puppeteer.launch({
        executablePath: chromium,
        headless: true,
        pipe: true,  // DevTools over a pipe: no debugging port is opened
        userDataDir: profile,
        env,
        args: CHROMIUM_ARGS,
        timeout: timeoutS * 1000,
        protocolTimeout: timeoutS * 1000,
      });
    } catch (e) {
      if (e && (e.name === 'TimeoutError' || /timed out/.test(e.message))) {
        process.stderr.write(`${PROG}: FAIL: timed out after ${timeoutS} s launching ${chromium}\n`);
        process.exitCode = 1;
        return;
      }
      throw new Error(`cannot launch ${chromium}: ${String((e && e.message) || e).split('\n')[0]}`);
    }
    let stage = 'opening a page';
    // From here one deadline covers everything: kill chromium, clean up and fail.
    timer = setTimeout(async () => {
      timedOut = true;
      process.stderr.write(`${PROG}: FAIL: timed out after ${timeoutS} s ${stage}\n`);
      const proc = browser.process();
      if (proc) proc.kill('SIGKILL');
      await cleanUp(tmp, profile);
      process.exit(1);
    }, Math.max(1, deadline - Date.now()));
    const page = await browser.newPage();
    page.setDefaultTimeout(timeoutS * 1000);
    await page.setViewport({ width, height: 900, deviceScaleFactor: 1 });
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      const url = req.url();
      const bare = url.split('#')[0];
      if (bare === reportUrl || url.startsWith('data:')) {
        req.continue();
      } else {
        blocked.add(url);
        problems.push(`network request: ${url} (blocked)`);
        req.abort('blockedbyclient');
      }
    });
    page.on('requestfailed', (req) => {
      if (blocked.has(req.url())) return;
      problems.push(`request failed: ${req.url()} (${(req.failure() && req.failure().errorText) || 'unknown error'})`);
    });
    page.on('console', (msg) => {
      const type = msg.type();
      if (type !== 'error' && type !== 'warn' && type !== 'warning') return;
      const loc = msg.location() || {};
      // chromium's own "Failed to load resource" for a request blocked above: reported once already.
      if (loc.url && blocked.has(loc.url) && /^Failed to load resource/.test(msg.text())) return;
      const at = loc.url ? ` (${path.basename(loc.url.split(/[?#]/)[0])}:${(loc.lineNumber || 0) + 1})` : '';
      problems.push(`console ${type === 'error' ? 'error' : 'warning'}: ${msg.text().split('\n')[0]}${at}`);
    });
    page.on('pageerror', (err) => {
      problems.push(`page error: ${String((err && err.message) || err).split('\n')[0]}`);
    });
    page.on('dialog', (dialog) => {
      problems.push(`dialog (${dialog.type()}): ${dialog.message()}`);
      dialog.dismiss().catch(() => {});
    });

    stage = `loading ${reportUrl}`;
    await page.goto(reportUrl, { waitUntil: 'load' });
    // Two animation frames: layout and paint after load, so late script errors show up too.
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    stage = 'checking the figures';
    const result = await page.evaluate(inspectFigures);
    if (result.figures < minFigures) {
      problems.push(`${result.figures} figure.gq-figure element${result.figures === 1 ? '' : 's'}, ` +
        `expected at least ${minFigures}`);
    }
    problems.push(...result.problems);
    if (opts.screenshot) {
      stage = `writing ${opts.screenshot}`;
      await page.screenshot(height > 0
        ? { path: opts.screenshot, type: 'png', clip: { x: 0, y: 0, width, height } }
        : { path: opts.screenshot, fullPage: true, type: 'png' });
    }
    stage = 'closing chromium';
    await browser.close();
    browser = null;
    clearTimeout(timer);
    timer = null;
    if (problems.length > 0) {
      for (const p of problems) process.stderr.write(`${PROG}: FAIL: ${p}\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`${PROG}: OK: ${result.figures} figure${result.figures === 1 ? '' : 's'}, ` +
      `${result.marks} mark${result.marks === 1 ? '' : 's'}, no network requests\n`);
  } finally {
    // After a time-out whatever was awaited fails as chromium dies: the timer's handler cleans
    // up and exits, so neither report that failure nor clean up twice.
    if (timedOut) await new Promise(() => {});
    if (timer) clearTimeout(timer);
    if (browser) await browser.close().catch(() => browser.process() && browser.process().kill('SIGKILL'));
    await cleanUp(tmp, profile);
  }
}

common.runMain(PROG, main);
