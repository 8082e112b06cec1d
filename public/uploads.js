// One list item per uploaded file: progress bar, then thumbnail, file id, direct URL and links.
import { ApiError, deleteFile, signLink, uploadFile } from './api.js';

// Image types <img> shows (an SVG there runs no script); the preview is the local file, not a download.
const PREVIEWABLE = /^image\/(png|jpeg|gif|webp|avif|bmp|x-icon|vnd\.microsoft\.icon|svg\+xml)$/;

let counter = 0;

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

function extOf(name) {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1, dot + 6).toUpperCase() : 'FILE';
}

/** Copies `text`; the Clipboard API needs a secure context, so fall back to selecting the field. */
async function copy(input, button) {
  let ok = false;
  try {
    await navigator.clipboard.writeText(input.value);
    ok = true;
  } catch {
    input.select();
    ok = document.execCommand?.('copy') ?? false;
  }
  const label = button.textContent;
  button.textContent = ok ? 'Copied' : 'Press Ctrl+C';
  setTimeout(() => {
    button.textContent = label;
  }, 1500);
}

/** Gives every label/control pair of a cloned item its own ids, so labels stay attached. */
function linkLabels(li, n) {
  for (const box of li.querySelectorAll('.copyable')) {
    const input = box.querySelector('input');
    const label = box.querySelector('label');
    input.id = input.id.replace(/-N$/, `-${n}`);
    label.htmlFor = input.id;
  }
}

/**
 * Adds a list item for `file` (by `ctx.place(li)`) and uploads it. `ctx`: { place, template,
 * group, needsToken(), maxSize(), tokens(), signing(), signingOff(), signTtl(), onAuthNeeded(), notice() }.
 * Resolves to true once
 * stored, false when the upload failed.
 */
export function startUpload(file, ctx) {
  const n = ++counter;
  const li = ctx.template.content.firstElementChild.cloneNode(true);
  linkLabels(li, n);
  const $ = (sel) => li.querySelector(sel);
  const bar = $('.bar');
  const status = $('.status');
  $('.name').textContent = file.name;
  $('.ext').textContent = extOf(file.name);
  bar.max = Math.max(file.size, 1);
  bar.setAttribute('aria-label', `Upload of ${file.name}`);
  status.textContent = `0 of ${formatBytes(file.size)}`;
  ctx.place(li);

  const onProgress = (loaded, total) => {
    bar.max = Math.max(total, 1);
    bar.value = loaded;
    status.textContent = `${formatBytes(loaded)} of ${formatBytes(total)}`;
  };

  // Refusals known in advance are said now, not after sending the whole file for a 401 or 413.
  const max = ctx.maxSize();
  let sent;
  if (ctx.needsToken()) {
    sent = Promise.reject(
      new ApiError(401, 'This gateway needs an access token: add it under "Access token"'),
    );
  } else if (max > 0 && file.size > max) {
    sent = Promise.reject(new ApiError(413, `Larger than this gateway's limit of ${formatBytes(max)}`));
  } else {
    sent = uploadFile(file, { group: ctx.group, onProgress });
  }
  return sent.then(
    (info) => {
      bar.value = bar.max;
      status.textContent = `${formatBytes(info.size ?? file.size)} stored in ${info.group ?? 'the cluster'}`;
      showResult(li, file, info, ctx);
      li.dataset.fileId = info.fileId;
      li.dataset.state = 'done';
      return true;
    },
    (err) => {
      bar.value = 0;
      status.textContent = err.message;
      status.setAttribute('role', 'alert');
      const retry = $('.retry');
      retry.hidden = false;
      retry.setAttribute('aria-label', `Retry the upload of ${file.name}`);
      retry.addEventListener('click', () => startUpload(file, { ...ctx, place: (n) => li.replaceWith(n) }), {
        once: true,
      });
      li.dataset.state = 'failed';
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) ctx.onAuthNeeded();
      return false;
    },
  );
}

function showResult(li, file, info, ctx) {
  const $ = (sel) => li.querySelector(sel);
  const url = new URL(info.url ?? info.fileId, document.baseURI).href;
  if (PREVIEWABLE.test(file.type)) {
    const img = document.createElement('img');
    img.alt = `Preview of ${file.name}`;
    img.src = URL.createObjectURL(file);
    img.decoding = 'async';
    const thumb = $('.thumb');
    const label = thumb.firstElementChild;
    // A file that does not decode: its alt text would spill out of the small box, so the box
    // shows the extension label again, with the reason as a tooltip.
    img.addEventListener(
      'error',
      () => {
        label.title = 'No preview: the image does not decode';
        thumb.replaceChildren(label);
        thumb.dataset.broken = 'true';
      },
      { once: true },
    );
    thumb.replaceChildren(img);
    thumb.removeAttribute('aria-hidden');
    li.dataset.objectUrl = img.src;
  }
  $('.file-id').value = info.fileId;
  $('.file-id').setAttribute('aria-label', `File id of ${file.name}`);
  $('.direct-url').value = url;
  $('.direct-url').setAttribute('aria-label', `Direct URL of ${file.name}`);
  $('.url-hint').hidden = !ctx.tokens();
  const open = $('.open');
  open.href = url;
  open.setAttribute('aria-label', `Open ${file.name} in a new tab`);
  for (const button of li.querySelectorAll('.copy')) {
    const input = button.parentElement.querySelector('input');
    button.setAttribute('aria-label', `Copy ${input.getAttribute('aria-label') ?? 'value'}`);
    button.addEventListener('click', () => copy(input, button));
  }
  $('.sign-button').hidden = !ctx.signing();
  $('.sign-button').setAttribute('aria-label', `Make a signed link to ${file.name}`);
  $('.sign-button').addEventListener('click', () => makeSigned(li, info.fileId, ctx));
  $('.delete').setAttribute('aria-label', `Delete ${file.name} from the cluster`);
  $('.delete').addEventListener('click', () => remove(li, info.fileId, file.name, ctx));
  $('.result').hidden = false;
}

async function makeSigned(li, fileId, ctx) {
  const button = li.querySelector('.sign-button');
  const status = li.querySelector('.status');
  button.disabled = true;
  try {
    const ttl = ctx.signTtl();
    const { url } = await signLink(fileId, ttl);
    const input = li.querySelector('.signed-url');
    input.value = new URL(url, document.baseURI).href;
    input.setAttribute('aria-label', `Signed link to ${fileId}`);
    li.querySelector('.signed').hidden = false;
    status.textContent = `Signed link valid until ${new Date(Date.now() + ttl * 1000).toLocaleString()}`;
  } catch (err) {
    status.textContent = err.message;
    if (err instanceof ApiError && err.status === 501) ctx.signingOff();
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) ctx.onAuthNeeded();
  } finally {
    button.disabled = false;
  }
}

async function remove(li, fileId, name, ctx) {
  if (!window.confirm(`Delete ${name} (${fileId}) from the cluster?`)) return;
  const status = li.querySelector('.status');
  try {
    await deleteFile(fileId);
    if (li.dataset.objectUrl) URL.revokeObjectURL(li.dataset.objectUrl);
    li.remove();
    ctx.notice(`Deleted ${name}`);
  } catch (err) {
    status.textContent = err.message;
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) ctx.onAuthNeeded();
  }
}
