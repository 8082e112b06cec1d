/**
 * The web page (public/) in real headless Chromium against the real gateway of `fdfs start`:
 * pick two files, watch both uploads finish, open the image's direct URL, see the cluster view.
 * Needs Debian's Chromium: a missing browser fails the file; FDFS_SKIP_BROWSER=1 skips it.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32 } from '../src/common/index.js';
import { decodeRemoteFilename, parseFileId } from '../src/fileid/index.js';
import { type Browser, browserSkipReason, launchBrowser, makePng } from './helpers/browser.js';
import { type RunningNode, startNode } from './helpers/node-process.js';

const ARTIFACTS = resolve(import.meta.dirname, '..', 'test-artifacts');
const skip = browserSkipReason();
if (skip) console.warn(`web page tests skipped: ${skip}`);

/** Collects what would make a page untidy or unsafe: script errors and requests leaving the gateway. */
function watch(page: Page, origin: string): { errors: string[]; foreign: string[] } {
  const errors: string[] = [];
  const foreign: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  // Console errors too (a CSP violation shows up only there), except refused requests the test provokes.
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) errors.push(msg.text());
  });
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:')) foreign.push(url);
  });
  return { errors, foreign };
}

/** The state of every upload item, top to bottom (the page has no DOM types here: plain attributes). */
function uploadStates(page: Page): Promise<(string | null)[]> {
  return page
    .locator('#uploads > li')
    .evaluateAll((items) => items.map((li) => li.getAttribute('data-state')));
}

const title = (name: string) => (skip ? `${name} (skipped: ${skip})` : name);

describe.skipIf(skip !== undefined)(title('web page'), () => {
  let node: RunningNode;
  let browser: Browser;
  let origin: string;

  beforeAll(async () => {
    [node, browser] = await Promise.all([startNode(), launchBrowser()]);
    origin = `http://${node.http.host}:${node.http.port}`;
    await mkdir(ARTIFACTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await node?.stop();
  });

  it('uploads two picked files with progress, links the image byte for byte, shows the storage ACTIVE', async () => {
    const page = await browser.context.newPage();
    const seen = watch(page, origin);
    await page.goto(`${origin}/`);

    const png = makePng(160, 100);
    const text = Buffer.from('fastdfs-ts web page test\n'.repeat(400));
    await page.setInputFiles('#file-input', [
      { name: 'gradient.png', mimeType: 'image/png', buffer: png },
      { name: 'notes.txt', mimeType: 'text/plain', buffer: text },
    ]);

    await expect
      .poll(() => uploadStates(page), { timeout: 30_000, interval: 100 })
      .toEqual(expect.not.arrayContaining(['uploading']));
    expect(await uploadStates(page)).toEqual(['done', 'done']);
    // Both progress bars ran to their end: value == max == the request body's size.
    type Bar = { value: number; max: number };
    const bars = await page
      .locator('#uploads progress')
      .evaluateAll((ps) =>
        ps.map((p) => ({ value: (p as unknown as Bar).value, max: (p as unknown as Bar).max })),
      );
    expect(bars).toHaveLength(2);
    for (const bar of bars) {
      expect(bar.max).toBeGreaterThan(1);
      expect(bar.value).toBe(bar.max);
    }

    const image = page.locator('#uploads > li', { hasText: 'gradient.png' });
    const fileId = await image.locator('.file-id').inputValue();
    const url = await image.locator('.direct-url').inputValue();
    // A real file id of this upload: its name encodes the size and CRC32 of the bytes sent.
    const { group, remoteFilename } = parseFileId(fileId);
    const decoded = decodeRemoteFilename(remoteFilename);
    expect({ group, ext: decoded.ext, size: decoded.size, crc32: decoded.crc32 }).toEqual({
      group: 'group1',
      ext: 'png',
      size: png.length,
      crc32: crc32(png),
    });
    expect(url.endsWith(`/${fileId}`)).toBe(true);
    expect(await image.locator('.open').getAttribute('href')).toBe(url);
    // The thumbnail decoded: it is an image of the uploaded size.
    const thumb = image.locator('.thumb img');
    expect(await thumb.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(
      160,
    );
    // The text file has no thumbnail but the same links.
    const notes = page.locator('#uploads > li', { hasText: 'notes.txt' });
    expect(await notes.locator('.thumb img').count()).toBe(0);
    const notesUrl = await notes.locator('.direct-url').inputValue();

    // Open the direct URLs as a person would, in a new tab: the same bytes come back.
    const tab = await browser.context.newPage();
    const got = await tab.goto(url);
    expect(got?.status()).toBe(200);
    expect(got?.headers()['content-type']).toBe('image/png');
    expect(Buffer.compare(await (got as NonNullable<typeof got>).body(), png)).toBe(0);
    const gotNotes = await tab.goto(notesUrl);
    expect(Buffer.compare(await (gotNotes as NonNullable<typeof gotNotes>).body(), text)).toBe(0);
    await tab.close();

    // The cluster view lists this node's storage as ACTIVE (it refreshes by itself).
    const row = page.locator('#cluster tr', { hasText: `${node.storage.host}:${node.storage.port}` });
    await row.locator('[data-status="ACTIVE"]').waitFor({ timeout: 20_000 });
    expect(await page.locator('#cluster [data-group="group1"]').count()).toBe(1);

    // Every column header stays on one line: "Sync lag" wrapped above short lags like "0s".
    for (const width of [1280, 1000]) {
      await page.setViewportSize({ width, height: 900 });
      const lines = await page.evaluate(`[...document.querySelectorAll('#cluster thead th')].map((th) => {
        const r = document.createRange();
        r.selectNodeContents(th);
        return [th.textContent, r.getClientRects().length];
      })`);
      expect(lines, `at ${width}px`).toEqual([
        ['Storage', 1],
        ['Status', 1],
        ['Free', 1],
        ['Sync lag', 1],
      ]);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.screenshot({ path: resolve(ARTIFACTS, 'web-page.png'), fullPage: true });
    // A phone: nothing may stick out sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(390);
    await page.screenshot({ path: resolve(ARTIFACTS, 'web-page-phone.png'), fullPage: true });

    // Dropping a file on the drop zone uploads it as picking does.
    const dropped = await page.evaluateHandle(
      '(() => { const dt = new DataTransfer(); dt.items.add(new File(["dropped"], "dropped.txt", { type: "text/plain" })); return dt; })()',
    );
    await page.dispatchEvent('#drop-zone', 'drop', { dataTransfer: dropped });
    await page
      .locator('#uploads > li[data-state="done"]', { hasText: 'dropped.txt' })
      .waitFor({ timeout: 30_000 });

    expect(seen.errors).toEqual([]);
    expect(seen.foreign).toEqual([]);
    await page.close();
  }, 90_000);

  it('a picked image that does not decode shows its extension label inside the box, not alt text', async () => {
    const page = await browser.context.newPage();
    const seen = watch(page, origin);
    await page.goto(`${origin}/`);
    const name = `a-rather-long-file-name-that-would-spill-out-of-the-preview-box-${'x'.repeat(40)}.png`;
    await page.setInputFiles('#file-input', [
      { name, mimeType: 'image/png', buffer: Buffer.from('this is not a png at all') },
    ]);
    const item = page.locator('#uploads > li[data-state="done"]');
    await item.waitFor({ timeout: 30_000 });
    const thumb = item.locator('.thumb[data-broken="true"]');
    await thumb.waitFor();
    expect(await item.locator('.thumb img').count()).toBe(0);
    expect(await thumb.locator('.ext').textContent()).toBe('PNG');
    expect(await thumb.locator('.ext').getAttribute('title')).toContain('does not decode');
    // The label sits inside the box and nothing in the box is wider than it.
    const box = await thumb.boundingBox();
    const label = await thumb.locator('.ext').boundingBox();
    expect(box && label).toBeTruthy();
    if (box && label) {
      expect(label.x).toBeGreaterThanOrEqual(box.x);
      expect(label.y).toBeGreaterThanOrEqual(box.y);
      expect(label.x + label.width).toBeLessThanOrEqual(box.x + box.width + 0.5);
      expect(label.y + label.height).toBeLessThanOrEqual(box.y + box.height + 0.5);
    }
    const overflow = await thumb.evaluate(
      (t) =>
        (t as unknown as { scrollWidth: number; clientWidth: number }).scrollWidth -
        (t as unknown as { clientWidth: number }).clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: resolve(ARTIFACTS, 'web-page-broken-image.png') });
    expect(seen.errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('the cluster view shows the worst per-peer lag, each peer behind a disclosure that stays open', async () => {
    const page = await browser.context.newPage();
    const seen = watch(page, origin);
    await page.goto(`${origin}/`);
    // Three storages as /api/cluster describes them: A is 2 min behind C and has never synced B.
    const cluster = {
      groups: [
        {
          name: 'g9',
          storages: [
            {
              id: 'A',
              ip: '10.9.0.1',
              port: 23000,
              status: 'ACTIVE',
              syncLag: 120,
              neverSynced: false,
              syncFrom: [
                { source: 'B', syncedUntil: 0, lag: null, neverSynced: true },
                { source: 'C', syncedUntil: 1_700_000_000, lag: 120, neverSynced: false },
              ],
            },
            {
              id: 'B',
              ip: '10.9.0.2',
              port: 23000,
              status: 'ACTIVE',
              syncLag: 3,
              neverSynced: false,
              syncFrom: [
                { source: 'A', syncedUntil: 1_700_000_000, lag: 3, neverSynced: false },
                { source: 'C', syncedUntil: 1_700_000_000, lag: 0, neverSynced: false },
              ],
            },
            // From a FastDFS tracker: no matrix, the per-storage figure as before.
            {
              id: 'C',
              ip: '10.9.0.3',
              port: 23000,
              status: 'ACTIVE',
              syncLag: 7,
              neverSynced: false,
              syncFrom: null,
            },
          ],
        },
      ],
    };
    const read = `(() => {
      const root = document.getElementById('peer-test');
      return [...root.querySelectorAll('tbody tr')].map((tr) => {
        const cell = tr.querySelector('td.lag');
        const d = cell.querySelector('details');
        return {
          shown: d ? d.querySelector('summary').textContent : cell.textContent,
          peers: d ? [...d.querySelectorAll('li')].map((li) => li.textContent) : null,
          open: d ? d.open : null,
        };
      });
    })()`;
    const render = `import('/cluster.js').then(({ renderCluster }) => {
      let root = document.getElementById('peer-test');
      if (!root) {
        root = document.createElement('div');
        root.id = 'peer-test';
        document.getElementById('cluster').after(root); // as wide as the real view
      }
      renderCluster(root, ${JSON.stringify(cluster)});
    })`;
    await page.evaluate(render);
    expect(await page.evaluate(read)).toEqual([
      {
        shown: 'never synced',
        peers: ['from 10.9.0.2:23000: never synced', 'from 10.9.0.3:23000: 2m\u00a00s'],
        open: false,
      },
      { shown: '3s', peers: ['from 10.9.0.1:23000: 3s', 'from 10.9.0.3:23000: 0s'], open: false },
      { shown: '7s', peers: null, open: null },
    ]);
    // Opened, it stays open across the view's refresh, and nothing sticks out on a phone.
    await page.click('#peer-test tbody tr:first-child summary');
    await page.screenshot({ path: resolve(ARTIFACTS, 'web-page-peers.png'), fullPage: true });
    await page.evaluate(render);
    expect(((await page.evaluate(read)) as { open: boolean | null }[]).map((r) => r.open)).toEqual([
      true,
      false,
      null,
    ]);
    await page.setViewportSize({ width: 390, height: 844 });
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(390);
    await page.screenshot({ path: resolve(ARTIFACTS, 'web-page-peers-phone.png'), fullPage: true });
    expect(seen.errors).toEqual([]);
    await page.close();
  }, 60_000);
});

describe.skipIf(skip !== undefined)(title('web page with a bearer token and signed links'), () => {
  const API_KEY = 'web-page-test-api-key-0123456789';
  let node: RunningNode;
  let browser: Browser;
  let origin: string;

  beforeAll(async () => {
    [node, browser] = await Promise.all([
      startNode({
        args: ['--set', `http.auth.api_key=${API_KEY}`, '--set', `http.jwt.secret=${'s'.repeat(40)}`],
      }),
      launchBrowser({ width: 1024, height: 800 }),
    ]);
    origin = `http://${node.http.host}:${node.http.port}`;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await node?.stop();
  });

  it('asks for the token, keeps it, retries, signs a link with the chosen expiry and deletes', async () => {
    const page = await browser.context.newPage();
    const seen = watch(page, origin);
    page.on('dialog', (d) => void d.accept()); // the delete confirmation
    await page.goto(`${origin}/`);

    // The gateway says it wants a token: the token form opens by itself.
    await page.locator('#token-panel[open]').waitFor();
    await page.locator('#upload-notice', { hasText: 'needs an access token' }).waitFor();
    // The cluster header says what is missing instead of "loading…" beside a 401.
    await page.locator('#cluster-updated', { hasText: 'sign in: API key needed' }).waitFor();
    expect(await page.locator('#cluster .signin').textContent()).toContain('needs an API key');
    expect(await page.locator('#cluster-error').isHidden()).toBe(true);

    // Without the token the upload is refused, and the item says so and offers a retry.
    const body = makePng(40, 30);
    await page.setInputFiles('#file-input', [{ name: 'signed.png', mimeType: 'image/png', buffer: body }]);
    const item = page.locator('#uploads > li').first();
    await page.locator('#uploads > li[data-state="failed"]').waitFor();
    expect(await item.locator('.status').textContent()).toContain('needs an access token');
    expect(await item.locator('.retry').isVisible()).toBe(true);

    // A wrong token goes to the gateway, which refuses it with 401.
    await page.fill('#token-input', 'not-the-right-token');
    await page.click('#token-form button[type="submit"]');
    await item.locator('.retry').click();
    await page.locator('#uploads > li[data-state="failed"] .status', { hasText: '401' }).waitFor();

    // Save the token: it is kept in localStorage, and the cluster view (which needs it too) fills in.
    await page.fill('#token-input', API_KEY);
    await page.click('#token-form button[type="submit"]');
    expect(await page.evaluate('localStorage.getItem("fastdfs-ts.token")')).toBe(API_KEY);
    await page.locator('#cluster [data-status="ACTIVE"]').waitFor({ timeout: 20_000 });
    expect(await page.textContent('#cluster-updated')).toMatch(/^updated /);

    await item.locator('.retry').click();
    await page.locator('#uploads > li[data-state="done"]').waitFor({ timeout: 30_000 });
    const done = page.locator('#uploads > li[data-state="done"]');
    const fileId = await done.locator('.file-id').inputValue();

    // A signed link for 5 minutes: the JWT says so, and it opens the file.
    expect(await page.locator('#sign-field').isVisible()).toBe(true);
    await page.selectOption('#sign-ttl', '300');
    await done.locator('.sign-button').click();
    await done.locator('.signed-url').waitFor({ state: 'visible' });
    const signed = await done.locator('.signed-url').inputValue();
    const sig = new URL(signed).searchParams.get('sig') ?? '';
    const claims = JSON.parse(Buffer.from(sig.split('.')[1] ?? '', 'base64url').toString()) as Record<
      string,
      unknown
    >;
    expect(claims.sub).toBe(fileId);
    expect(Number(claims.exp) - Number(claims.iat)).toBe(300);
    const tab = await browser.context.newPage();
    const got = await tab.goto(signed);
    expect(got?.status()).toBe(200);
    expect(Buffer.compare(await (got as NonNullable<typeof got>).body(), body)).toBe(0);

    await page.screenshot({ path: resolve(ARTIFACTS, 'web-page-auth.png'), fullPage: true });

    // The token survives a reload.
    await page.reload();
    expect(await page.inputValue('#token-input')).toBe(API_KEY);
    expect(await page.textContent('#token-state')).toBe('saved');

    // Delete from a fresh upload's item: gone from the page and from the gateway.
    await page.setInputFiles('#file-input', [
      { name: 'gone.txt', mimeType: 'text/plain', buffer: Buffer.from('x') },
    ]);
    const gone = page.locator('#uploads > li[data-state="done"]');
    await gone.waitFor({ timeout: 30_000 });
    const goneUrl = await gone.locator('.direct-url').inputValue();
    await gone.locator('.delete').click();
    await page.locator('#uploads > li').first().waitFor({ state: 'detached' });
    expect((await tab.goto(goneUrl))?.status()).toBe(404);
    await tab.close();

    expect(seen.errors).toEqual([]);
    expect(seen.foreign).toEqual([]);
    await page.close();
  }, 90_000);
});
