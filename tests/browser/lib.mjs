// What the browser tests share: environment, TAP-like checks, an RFC 6238
// code as an authenticator app computes it, and Debian's Chromium launched
// with a fresh profile.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const env = (k) => {
  const v = process.env[k];
  if (v === undefined) throw new Error(`missing environment variable ${k}`);
  return v;
};

let failures = 0;
export function check(cond, what) {
  console.log(`${cond ? 'ok' : 'not ok'} - ${what}`);
  if (!cond) failures += 1;
}

// An exception that ended the test: one failure, with its stack.
export function fail(e) {
  failures += 1;
  console.log(`not ok - ${e.stack || e}`);
}

// Prints the summary and exits 1 when anything failed.
export function report() {
  console.log(failures ? `${failures} failed` : 'all passed');
  process.exit(failures ? 1 : 0);
}

// RFC 6238 (SHA-1, 6 digits, 30 s).
export function totp(secretB32, atMs = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of secretB32.replace(/[\s=]/g, '').toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(atMs / 30000)));
  const mac = crypto.createHmac('sha1', key).update(counter).digest();
  const o = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

// Chromium with a fresh profile directory (playwright-core passes it as
// --user-data-dir); close() also removes the profile. With `trustCert` (a
// PEM file) the server's certificate is trusted by its key's SHA-256, as a
// browser trusts the real certificate: Chromium then caches immutable files
// and reuses connections, which it does not do for an ignored certificate
// error (the default here).
export async function launch({ trustCert } = {}) {
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'];
  if (trustCert) {
    const pem = execFileSync('openssl', ['x509', '-in', trustCert, '-pubkey', '-noout']);
    const spki = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: pem });
    args.push(`--ignore-certificate-errors-spki-list=${crypto.createHash('sha256').update(spki).digest('base64')}`);
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'homthu-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    timeout: 60000,
    ignoreHTTPSErrors: !trustCert,
    locale: 'vi-VN',
    viewport: { width: 1280, height: 900 },
    args,
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
