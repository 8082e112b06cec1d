// fastdfs-ts web page: upload files, get their links, watch the cluster. Plain ES modules.
import { currentToken, getConfig, setToken } from './api.js';
import { watchCluster } from './cluster.js';
import { startUpload } from './uploads.js';

const $ = (id) => document.getElementById(id);

const state = {
  // Until the gateway says otherwise, offer signed links; a gateway without signing answers
  // POST /api/sign with an error that the item shows.
  signing: true,
  auth: false, // the gateway wants a bearer token for uploads, deletes, signing and the cluster view
  tokens: false, // http.anti_steal.check_token: bare direct URLs are refused
  maxUploadSize: 0, // 0: unknown, let the gateway decide
};

function showTokenState() {
  $('token-state').textContent = currentToken() ? 'saved' : 'none';
  $('token-input').value = currentToken();
}

function notice(text) {
  $('upload-notice').textContent = text;
}

function onAuthNeeded() {
  const panel = $('token-panel');
  notice(currentToken() ? 'The gateway refused the saved token.' : 'This gateway needs an access token.');
  if (panel.open) return; // already asking: never pull focus away from someone typing
  panel.open = true;
  $('token-input').focus();
}

/** The gateway answered 501 to a signing request: it has no link key, so stop offering links. */
function signingOff() {
  state.signing = false;
  $('sign-field').hidden = true;
  for (const b of document.querySelectorAll('.sign-button')) b.hidden = true;
}

function uploadAll(files) {
  // The newest batch goes on top, its files in the order they were picked.
  const list = $('uploads');
  const first = list.firstElementChild;
  const ctx = {
    place: (li) => list.insertBefore(li, first),
    template: $('upload-item'),
    group: $('group-select').value,
    needsToken: () => state.auth && !currentToken(),
    maxSize: () => state.maxUploadSize,
    tokens: () => state.tokens,
    signing: () => state.signing,
    signingOff,
    signTtl: () => Number($('sign-ttl').value),
    onAuthNeeded,
    notice,
  };
  const what = files.length === 1 ? files[0].name : `${files.length} files`;
  notice(`Uploading ${what}…`);
  Promise.all(files.map((file) => startUpload(file, ctx))).then((outcomes) => {
    const failed = outcomes.filter((ok) => !ok).length;
    notice(failed === 0 ? `Uploaded ${what}.` : `${failed} of ${files.length} uploads failed.`);
  });
}

function wireDropZone() {
  const zone = $('drop-zone');
  const input = $('file-input');
  input.addEventListener('change', () => {
    if (input.files.length > 0) uploadAll([...input.files]);
    input.value = ''; // picking the same file again uploads it again
  });
  let depth = 0; // dragenter/dragleave fire for every child element crossed
  zone.addEventListener('dragenter', (e) => {
    e.preventDefault();
    depth++;
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) zone.classList.remove('over');
  });
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  });
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    zone.classList.remove('over');
    const files = [...(e.dataTransfer?.files ?? [])];
    if (files.length > 0) uploadAll(files);
  });
  // A file dropped beside the zone must not make the browser navigate away from the page.
  for (const type of ['dragover', 'drop']) window.addEventListener(type, (e) => e.preventDefault());
}

function wireToken() {
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    setToken($('token-input').value);
    showTokenState();
    notice(currentToken() ? 'Token saved in this browser.' : 'Token cleared.');
    refreshCluster();
  });
  $('token-clear').addEventListener('click', () => {
    setToken('');
    showTokenState();
    notice('Token cleared.');
  });
  showTokenState();
}

function setGroups(names) {
  const select = $('group-select');
  const chosen = select.value;
  const have = [...select.options].slice(1).map((o) => o.value);
  if (have.join('\n') === names.join('\n')) return;
  select.replaceChildren(select.options[0], ...names.map((n) => new Option(n, n)));
  select.value = names.includes(chosen) ? chosen : '';
}

async function applyConfig() {
  try {
    const config = await getConfig();
    if (config === null) return;
    state.signing = Boolean(config.signing);
    state.tokens = Boolean(config.tokens);
    state.auth = Boolean(config.auth);
    if (Number.isSafeInteger(config.maxUploadSize)) state.maxUploadSize = config.maxUploadSize;
    if (config.auth && !currentToken()) onAuthNeeded();
  } catch {
    // the cluster view reports an unreachable gateway
  }
  $('sign-field').hidden = !state.signing;
}

wireToken();
wireDropZone();
$('sign-field').hidden = !state.signing;
applyConfig();
const refreshCluster = watchCluster({
  root: $('cluster'),
  updated: $('cluster-updated'),
  error: $('cluster-error'),
  onGroups: setGroups,
  onAuthNeeded,
});
