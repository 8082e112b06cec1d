// The cluster view: groups and their storages from GET /api/cluster, refreshed every few seconds.
import { ApiError, getCluster } from './api.js';

const REFRESH_MS = 3000;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'scope') node.setAttribute(k, v);
    else node[k] = v;
  }
  node.append(...children);
  return node;
}

function formatMb(mb) {
  if (typeof mb !== 'number' || !Number.isFinite(mb)) return '–';
  if (mb >= 1024 * 1024) return `${(mb / 1024 / 1024).toFixed(1)} TB`;
  if (mb >= 1024) return `${(mb / 1024).toFixed(1)} GB`;
  return `${mb} MB`;
}

function formatSeconds(lag) {
  // No-break spaces: a lag stays on one line, "never synced" may wrap.
  if (lag < 60) return `${lag}s`;
  if (lag < 3600) return `${Math.floor(lag / 60)}m\u00a0${lag % 60}s`;
  if (lag < 86400) return `${Math.floor(lag / 3600)}h\u00a0${Math.floor((lag % 3600) / 60)}m`;
  return `${Math.floor(lag / 86400)}d\u00a0${Math.floor((lag % 86400) / 3600)}h`;
}

// The per-storage figure (fdfs_monitor's), for trackers that give no per-peer matrix.
function formatLag(s) {
  if (s.neverSynced) return 'never synced';
  return typeof s.syncLag === 'number' ? formatSeconds(s.syncLag) : '–';
}

function formatPeerLag(p) {
  if (p.neverSynced) return 'never synced';
  return typeof p.lag === 'number' ? formatSeconds(p.lag) : '–';
}

// The peer a storage is furthest behind: a never-synced one first, then the largest lag.
function worstPeer(peers) {
  const rank = (p) => (p.neverSynced ? Number.POSITIVE_INFINITY : typeof p.lag === 'number' ? p.lag : -1);
  return peers.reduce((worst, p) => (rank(p) > rank(worst) ? p : worst));
}

function syncedUntilText(p) {
  if (!p.syncedUntil) return 'nothing reported yet';
  return `holds its files up to ${new Date(p.syncedUntil * 1000).toLocaleString()}`;
}

// The worst peer's lag in the column; each peer's behind a disclosure, so the table stays narrow.
function lagCell(s, key, addrOf) {
  const peers = Array.isArray(s.syncFrom) ? s.syncFrom : [];
  if (peers.length === 0) return el('td', { 'data-label': 'Sync lag', class: 'lag' }, formatLag(s));
  const items = peers.map((p) =>
    el(
      'li',
      { title: syncedUntilText(p) },
      'from ',
      el('span', { class: 'addr' }, addrOf(p.source)),
      `: ${formatPeerLag(p)}`,
    ),
  );
  const label = peers.length === 1 ? 'behind its peer' : `worst of ${peers.length} peers`;
  return el(
    'td',
    { 'data-label': 'Sync lag', class: 'lag' },
    el(
      'details',
      { class: 'peers', 'data-key': key },
      el('summary', { title: label }, formatPeerLag(worstPeer(peers))),
      el('ul', {}, ...items),
    ),
  );
}

const STATUS_CLASS = {
  ACTIVE: 'ok',
  ONLINE: 'warn',
  WAIT_SYNC: 'warn',
  SYNCING: 'warn',
  INIT: 'warn',
  RECOVERY: 'warn',
  OFFLINE: 'bad',
  DELETED: 'bad',
  IP_CHANGED: 'bad',
};

function meter(free, total, label) {
  const used = total > 0 ? Math.min(1, Math.max(0, (total - free) / total)) : 0;
  return el('meter', { min: 0, max: 1, low: 0.8, high: 0.9, optimum: 0, value: used, 'aria-label': label });
}

function storageRow(s, group, addrOf) {
  const status = String(s.status ?? 'UNKNOWN');
  const addr = s.port ? `${s.ip}:${s.port}` : s.ip;
  return el(
    'tr',
    {},
    el(
      'th',
      { scope: 'row', 'data-label': 'Storage' },
      el('span', {}, el('span', { class: 'addr' }, addr), ...idOf(s, addr)),
    ),
    el(
      'td',
      { 'data-label': 'Status' },
      el('span', { class: `pill ${STATUS_CLASS[status] ?? 'bad'}`, 'data-status': status }, status),
    ),
    el(
      'td',
      { 'data-label': 'Free' },
      el(
        'span',
        {},
        el('span', { class: 'nowrap' }, formatMb(s.freeMb)),
        ' ',
        el('span', { class: 'nowrap of' }, `of ${formatMb(s.totalMb)}`),
      ),
      meter(s.freeMb, s.totalMb, `Disk use of ${addr}`),
    ),
    lagCell(s, `${group}/${s.id}`, addrOf),
  );
}

function idOf(s, addr) {
  return s.id && s.id !== s.ip && s.id !== addr ? [el('span', { class: 'sid' }, s.id)] : [];
}

function groupBlock(g) {
  const storages = g.storages ?? [];
  const addrs = new Map(storages.map((s) => [s.id, s.port ? `${s.ip}:${s.port}` : s.ip]));
  const addrOf = (id) => addrs.get(id) ?? id;
  const active = storages.filter((s) => s.status === 'ACTIVE').length;
  const head = el(
    'div',
    { class: 'group-head' },
    el('h3', {}, g.name),
    el(
      'p',
      { class: 'group-facts' },
      `${active} of ${storages.length} active · free ${formatMb(g.freeMb)} of ${formatMb(g.totalMb)}`,
    ),
  );
  const table = el(
    'table',
    { class: 'storages' },
    el('caption', { class: 'visually-hidden' }, `Storages of ${g.name}`),
    el(
      'thead',
      {},
      el('tr', {}, ...['Storage', 'Status', 'Free', 'Sync lag'].map((h) => el('th', { scope: 'col' }, h))),
    ),
    el('tbody', {}, ...storages.map((s) => storageRow(s, g.name, addrOf))),
  );
  return el(
    'section',
    { class: 'group', 'aria-label': `Group ${g.name}`, 'data-group': g.name },
    head,
    el('div', { class: 'table-wrap' }, table),
  );
}

/** Renders the cluster into `root`; returns the group names (for the upload's group choice). */
export function renderCluster(root, cluster) {
  const groups = cluster?.groups ?? [];
  // The view is rebuilt on every refresh: keep the per-peer lists someone opened open.
  const open = new Set([...root.querySelectorAll('details.peers[open]')].map((d) => d.dataset.key));
  if (groups.length === 0) {
    root.replaceChildren(el('p', { class: 'empty' }, 'No groups yet: no storage has joined the trackers.'));
  } else {
    root.replaceChildren(...groups.map(groupBlock));
  }
  for (const d of root.querySelectorAll('details.peers')) if (open.has(d.dataset.key)) d.open = true;
  return groups.map((g) => g.name);
}

/** Polls /api/cluster until the page goes away; pauses while the tab is hidden. Returns "refresh now". */
export function watchCluster({ root, updated, error, onGroups, onAuthNeeded }) {
  let timer = 0;
  let inFlight = false;
  const tick = async () => {
    clearTimeout(timer);
    if (inFlight) return; // the answer on its way schedules the next poll
    inFlight = true;
    try {
      const cluster = await getCluster();
      onGroups(renderCluster(root, cluster));
      error.hidden = true;
      updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
      updated.dataset.state = 'ok';
    } catch (err) {
      const auth = err instanceof ApiError && (err.status === 401 || err.status === 403);
      if (auth) {
        // Not "loading…" beside a refusal: say what is missing, where the cluster would be.
        const needed = err.status === 401 ? 'sign in: API key needed' : 'API key refused';
        updated.textContent = needed;
        updated.dataset.state = 'auth';
        root.replaceChildren(
          el(
            'p',
            { class: 'empty signin' },
            err.status === 401
              ? 'The cluster view needs an API key: enter it under “Access token” above.'
              : 'The saved access token is not allowed to see the cluster (it needs the admin scope).',
          ),
        );
        error.hidden = true;
        if (err.status === 401) onAuthNeeded();
      } else {
        const text = `Cluster status unavailable: ${err.message}`;
        if (error.textContent !== text) error.textContent = text; // an alert is read again on every change
        error.hidden = false;
        if (updated.dataset.state !== 'ok') updated.textContent = 'unavailable';
      }
    } finally {
      inFlight = false;
      root.setAttribute('aria-busy', 'false');
      clearTimeout(timer);
      if (!document.hidden) timer = setTimeout(tick, REFRESH_MS);
    }
  };
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) tick();
  });
  tick();
  return tick;
}
