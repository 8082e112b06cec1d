// The gateway's public HTTP API, as the page uses it. No framework, no build step.

const TOKEN_KEY = 'fastdfs-ts.token';

/** An HTTP answer that was not a success; `status` 0 means the request never got an answer. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

export function loadToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return ''; // storage disabled (private mode, policy): the field still works for this visit
  }
}

export function saveToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // nothing to do: see loadToken
  }
}

let token = loadToken();
export const currentToken = () => token;
export function setToken(value) {
  token = value.trim();
  saveToken(token);
}

function authHeaders() {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** The gateway's error answers carry `{ error: { code, message } }` or `{ message }`; fall back to the status. */
function messageOf(status, text) {
  try {
    const body = JSON.parse(text);
    const msg = body?.error?.message ?? body?.message ?? (typeof body?.error === 'string' ? body.error : '');
    if (msg) return `${msg} (HTTP ${status})`;
  } catch {
    // not JSON
  }
  if (status === 401) return 'This gateway needs an access token (HTTP 401)';
  if (status === 403) return 'The access token was refused (HTTP 403)';
  if (status === 413) return 'Too large for this gateway (HTTP 413)';
  return `HTTP ${status}`;
}

async function request(method, path, body) {
  const headers = { Accept: 'application/json', ...authHeaders() };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (err) {
    throw new ApiError(0, `The gateway did not answer (${err.message})`);
  }
  const text = await res.text();
  if (!res.ok) throw new ApiError(res.status, messageOf(res.status, text));
  return text === '' ? null : JSON.parse(text);
}

/** What the gateway tells the page about itself; null when it has no /api/config. */
export async function getConfig() {
  try {
    return await request('GET', 'api/config');
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 405)) return null;
    throw err;
  }
}

export const getCluster = () => request('GET', 'api/cluster');

export const signLink = (fileId, ttl) => request('POST', 'api/sign', { fileId, ttl });

export const deleteFile = (fileId) => request('DELETE', fileId.split('/').map(encodeURIComponent).join('/'));

/** The one file of an upload answer, whatever envelope the gateway puts around the list. */
function firstFile(body) {
  if (Array.isArray(body)) return body[0];
  if (Array.isArray(body?.files)) return body.files[0];
  return body;
}

/**
 * Uploads one file by multipart POST with XMLHttpRequest, whose upload events give progress
 * (fetch has none). `onProgress(loaded, total)`; resolves with the file's JSON answer.
 */
export function uploadFile(file, { group, onProgress, signal }) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', 'upload');
    xhr.responseType = 'text';
    xhr.setRequestHeader('Accept', 'application/json');
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) onProgress(e.loaded, e.total);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status < 200 || xhr.status > 299) {
        reject(new ApiError(xhr.status, messageOf(xhr.status, xhr.responseText)));
        return;
      }
      try {
        const info = firstFile(JSON.parse(xhr.responseText));
        if (!info?.fileId) throw new Error('no fileId');
        resolve(info);
      } catch {
        reject(new ApiError(xhr.status, 'The gateway answered with something other than a file id'));
      }
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'The upload was cut off (network error)')));
    xhr.addEventListener('abort', () => reject(new ApiError(0, 'Upload cancelled')));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    const form = new FormData();
    // Fields before the file: the gateway reads the form as a stream.
    if (group) form.append('group', group);
    form.append('file', file, file.name);
    xhr.send(form);
  });
}
