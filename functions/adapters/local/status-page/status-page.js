// The local status page (GET /): polls the read-only fleet API and keeps the tables in step, without a
// framework or a build step. Every piece of data reaches the page through textContent, never as markup:
// repository names, runner names and failure reasons come from webhooks and GitHub's answers.
//
// Why polling (docs/decisions.md, "Status page"): GET /api/status every second is one small answer whose
// changeToken moves only when something the lists show changed; the lists are fetched only then.

const POLL_MS = 1000;
const RETRY_MS = 2000;
const REQUEST_TIMEOUT_MS = 3000;
const VERSION_EVERY_MS = 60_000;
const JOB_LIMIT = 100;
/** More changes than this in one refresh are announced as a count. */
const ANNOUNCE_MAX = 3;

const byId = (id) => {
  const found = document.getElementById(id);
  if (!found) throw new Error(`status page: #${id} is missing`);
  return found;
};

/** An element with text content and attributes; children are nodes or strings (as text). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined) continue;
    if (name === 'text') node.textContent = String(value);
    else if (name === 'className') node.className = value;
    else node.setAttribute(name, String(value));
  }
  node.append(...children);
  return node;
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

const NONE = '—';
const timeOf = (iso) => (iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : NONE);
const dateTimeOf = (iso) =>
  iso ? new Date(iso).toLocaleString([], { hour12: false, dateStyle: 'medium', timeStyle: 'medium' }) : NONE;

function duration(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** A state as text, with a data attribute the style sheet colours (the text alone carries the meaning). */
function fillState(cell, state) {
  let badge = cell.firstElementChild;
  if (!badge) {
    badge = el('span', { className: 'state' });
    cell.replaceChildren(badge);
  }
  setText(badge, state);
  if (badge.dataset.state !== state) badge.dataset.state = state;
}

const textColumn = (name, get) => ({ name, fill: (cell, item) => setText(cell, get(item) ?? NONE) });

/**
 * Brings a table body in step with `items`, keeping each row (by key) and updating its cells in place, so
 * an open timeline, keyboard focus and the screen reader's position survive a refresh. `companion(item,
 * existing)` may give a second row kept right after an item's row (a job's timeline).
 */
function syncRows(tbody, items, keyOf, columns, emptyText, companion) {
  const rows = new Map();
  const companions = new Map();
  for (const row of [...tbody.rows]) {
    if (row.dataset.key !== undefined) rows.set(row.dataset.key, row);
    else if (row.dataset.companionOf !== undefined) companions.set(row.dataset.companionOf, row);
    else row.remove();
  }
  const wanted = [];
  for (const [index, item] of items.entries()) {
    const key = String(keyOf(item));
    let row = rows.get(key);
    if (row) rows.delete(key);
    else {
      row = el('tr');
      row.dataset.key = key;
      for (const [i, column] of columns.entries()) {
        const cell = i === 0 ? el('th', { scope: 'row' }) : el('td');
        cell.dataset.field = column.name;
        row.append(cell);
      }
    }
    for (const [i, column] of columns.entries()) column.fill(row.cells[i], item);
    row.classList.toggle('alt', index % 2 === 1);
    wanted.push(row);
    if (companion) {
      const extra = companion(item, companions.get(key));
      companions.delete(key);
      extra.dataset.companionOf = key;
      extra.classList.toggle('alt', index % 2 === 1);
      wanted.push(extra);
    }
  }
  if (items.length === 0) {
    wanted.push(el('tr', { className: 'empty' }, el('td', { colspan: columns.length, text: emptyText })));
  }
  for (const row of [...rows.values(), ...companions.values()]) row.remove();
  // Move only what is out of place: a moved row would lose keyboard focus.
  let cursor = tbody.firstElementChild;
  for (const row of wanted) {
    if (row === cursor) cursor = cursor.nextElementSibling;
    else tbody.insertBefore(row, cursor);
  }
  while (cursor) {
    const next = cursor.nextElementSibling;
    cursor.remove();
    cursor = next;
  }
}

// ── Pools ──

const POOL_COLUMNS = [
  textColumn('pool', (p) => p.name),
  textColumn('labels', (p) => p.labels.join(', ')),
  textColumn('launcher', (p) => p.launcher),
  {
    name: 'capacity',
    fill(cell, pool) {
      const text = pool.maxRunners === undefined ? `${pool.inUse} (no cap)` : `${pool.inUse} of ${pool.maxRunners}`;
      if (cell.dataset.text === text) return;
      cell.dataset.text = text;
      const children = [el('span', { className: 'capacity-text', text })];
      if (pool.maxRunners !== undefined && pool.maxRunners > 0) {
        const bar = el('span', { className: 'bar', 'aria-hidden': 'true' }, el('span', { className: 'bar-fill' }));
        bar.dataset.full = String(pool.inUse >= pool.maxRunners);
        // A width from data would need an inline style, which the page's CSP refuses: tenths instead.
        bar.dataset.tenths = String(Math.min(10, Math.round((pool.inUse / pool.maxRunners) * 10)));
        children.push(bar);
      }
      cell.replaceChildren(...children);
    },
  },
  textColumn('backlog', (p) => (p.backlog === 0 ? 'none waiting' : `${p.backlog} waiting`)),
  // Warm runners: idle of the pool's current target, and those serving a job; a cold pool keeps none.
  textColumn('warm', (p) =>
    p.warmIdle === undefined ? 'none kept' : `${p.warmIdle} of ${p.warmTarget ?? 0} idle, ${p.warmInUse ?? 0} serving`,
  ),
  textColumn('open', (p) => String(p.openJobs)),
];

// ── Jobs ──

const timelineId = (job) => `timeline-${job.jobId}`;

/** The button that shows or hides a job's timeline row (a disclosure: aria-expanded says which). */
function fillTimelineToggle(cell, job) {
  let button = cell.firstElementChild;
  if (!button) {
    button = el(
      'button',
      { type: 'button', className: 'disclosure', 'aria-expanded': 'false', 'aria-controls': timelineId(job) },
      el('span', { className: 'count' }),
      el('span', { className: 'visually-hidden', text: ` of job ${job.jobId}` }),
    );
    button.addEventListener('click', () => {
      const open = button.getAttribute('aria-expanded') !== 'true';
      button.setAttribute('aria-expanded', String(open));
      const row = document.getElementById(timelineId(job));
      if (row) row.hidden = !open;
    });
    cell.replaceChildren(button);
  }
  const count = job.history.length;
  setText(button.querySelector('.count'), count === 1 ? '1 state' : `${count} states`);
}

/** The row under a job's row with its state timeline, hidden until its button opens it. */
function timelineRow(job, existing) {
  const row =
    existing ??
    el(
      'tr',
      { className: 'timeline-row', id: timelineId(job), hidden: '' },
      el(
        'td',
        { colspan: JOB_COLUMNS.length },
        el('ol', { className: 'timeline', 'aria-label': `States of job ${job.jobId}, oldest first` }),
      ),
    );
  const list = row.querySelector('ol');
  const stamp = `${job.history.length}:${job.history.at(-1)?.at ?? ''}`;
  if (list.dataset.stamp === stamp) return row;
  list.dataset.stamp = stamp;
  list.replaceChildren(
    ...job.history.map((event) => {
      const badge = el('span', { className: 'state', text: event.status });
      badge.dataset.state = event.status;
      return el(
        'li',
        {},
        el('time', { datetime: event.at, text: timeOf(event.at) }),
        ' ',
        badge,
        event.note ? el('span', { className: 'note', text: event.note }) : '',
      );
    }),
  );
  return row;
}

const JOB_COLUMNS = [
  textColumn('job', (j) => String(j.jobId)),
  textColumn('repo', (j) => j.repo),
  textColumn('pool', (j) => j.pool),
  { name: 'state', fill: (cell, j) => fillState(cell, j.status) },
  textColumn('runner', (j) => j.runnerName),
  textColumn('attempt', (j) => `${j.attempt} / ${j.heals}${j.thefts ? ` (${j.thefts} stolen)` : ''}`),
  {
    name: 'failure',
    fill(cell, job) {
      // The reason starts with the class as often as not: said once.
      const prefix = `${job.failureClass}: `;
      const reason = job.failureClass && job.reason?.startsWith(prefix) ? job.reason.slice(prefix.length) : job.reason;
      const healed = job.failureClass && job.status !== 'failed' ? ' (handled)' : '';
      const text = [job.failureClass && `${job.failureClass}${healed}`, reason].filter(Boolean).join(': ');
      if (cell.dataset.text === text && cell.childNodes.length > 0) return;
      cell.dataset.text = text;
      if (!text) return cell.replaceChildren(NONE);
      cell.replaceChildren(
        ...(job.failureClass
          ? [el('strong', { className: 'failure-class', text: `${job.failureClass}${healed}` })]
          : []),
        ...(reason ? [el('span', { className: 'reason', text: reason })] : []),
      );
    },
  },
  {
    name: 'updated',
    fill(cell, job) {
      if (cell.dataset.at === job.updatedAt) return;
      cell.dataset.at = job.updatedAt;
      cell.replaceChildren(el('time', { datetime: job.updatedAt, text: timeOf(job.updatedAt) }));
    },
  },
  { name: 'timeline', fill: fillTimelineToggle },
];

// ── Runners, breakers, baselines ──

/**
 * /api/runners lists every runner alive, the JIT runners of launched and running jobs included (the fleet
 * view adds them to the runner records), so the page shows the list as it comes, like `jit-runners runners list`.
 */
const RUNNER_COLUMNS = [
  textColumn('runner', (r) => r.name),
  textColumn('kind', (r) => r.kind),
  textColumn('pool', (r) => r.pool),
  { name: 'state', fill: (cell, r) => fillState(cell, r.state) },
  textColumn('scope', (r) => r.scope),
  // A job's runner says why it got its version: `2.332.0 (canary)` while a release is being tried.
  textColumn('version', (r) => (r.version && r.versionRole ? `${r.version} (${r.versionRole})` : r.version)),
  textColumn('job', (r) =>
    r.tookJobId !== undefined && r.tookJobId !== r.jobId
      ? `${r.jobId ?? NONE} (ran ${r.tookJobId})`
      : r.jobId === undefined
        ? undefined
        : String(r.jobId),
  ),
  textColumn('updated', (r) => timeOf(r.updatedAt)),
];

const BREAKER_COLUMNS = [
  textColumn('scope', (b) => b.scope),
  {
    name: 'state',
    fill: (cell, b) => fillState(cell, b.open ? `open, ${duration(b.openRemainingMs ?? 0)} left` : 'closed'),
  },
  textColumn('until', (b) => (b.open ? timeOf(b.openUntil) : undefined)),
  textColumn('failures', (b) => String(b.consecutiveFailures)),
  textColumn('opens', (b) => String(b.opens)),
  textColumn('reason', (b) => b.reason),
];

const BASELINE_COLUMNS = [
  textColumn('scope', (b) => b.scope),
  { name: 'state', fill: (cell, b) => fillState(cell, b.state) },
  textColumn('method', (b) => b.method),
  textColumn('runner', (b) => b.runnerName),
  textColumn('verified', (b) => (b.verifiedOnlineAt ? dateTimeOf(b.verifiedOnlineAt) : undefined)),
  textColumn('workarounds', (b) => String(b.workarounds)),
  textColumn('reason', (b) => b.reason),
];

// ── Version ──

function renderVersion(summary, status) {
  const line = `Runner version ${summary.current} (${summary.source})${
    summary.canary ? `, canary ${summary.canary.version}` : ''
  }${summary.error ? ' — record unreadable' : ''}`;
  setText(byId('version-line'), line);
  const facts = [
    ['Current', `${summary.current} (${summary.source === 'adopted' ? 'adopted' : 'configured'})`],
    ['Previous', summary.previous],
    ['Canary', summary.canary && `${summary.canary.version} since ${dateTimeOf(summary.canary.since)}`],
  ];
  if (status) {
    facts.push(['Mode', status.pin ? `${status.mode}, pin ${status.pin}` : status.mode]);
    if (status.candidate)
      facts.push(['Next candidate', `${status.candidate.version} from ${dateTimeOf(status.candidate.adoptableAt)}`]);
    if (status.daysToCutoff !== undefined)
      facts.push([
        "Days to GitHub's cut-off",
        `${status.daysToCutoff}${status.cutoffAlarm ? ' (alarm: within 7 days or past it)' : ''}`,
      ]);
    if (status.releases && status.releases.read === false)
      facts.push(['Releases', `not read: ${status.releases.reason}`]);
  }
  facts.push([
    'Releases marked bad',
    summary.bad.length === 0 ? 'none' : summary.bad.map((b) => `${b.version} (${b.reason})`).join('; '),
  ]);
  if (summary.error) facts.push(['Record', summary.error]);
  const list = byId('version-list');
  const stamp = JSON.stringify(facts);
  if (list.dataset.stamp === stamp) return;
  list.dataset.stamp = stamp;
  list.replaceChildren(
    ...facts.flatMap(([term, value]) => [el('dt', { text: term }), el('dd', { text: value ?? 'none' })]),
  );
}

// ── Live updates ──

const state = {
  token: undefined,
  /** Job id → status, from the last jobs list (undefined before the first one: nothing is announced). */
  jobStates: undefined,
  lastOk: undefined,
  failingSince: undefined,
  timer: undefined,
  running: false,
  versionSummary: '',
  versionStatus: undefined,
  versionFetchedAt: 0,
};

async function getJson(path) {
  const answer = await fetch(path, {
    headers: { accept: 'application/json' },
    cache: 'no-store',
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if (!answer.ok) throw new Error(`${path} answered ${answer.status}`);
  return answer.json();
}

function announce(message) {
  // A new text node each time, so the same words said twice are announced twice.
  byId('announcer').replaceChildren(document.createTextNode(message));
}

function announceJobChanges(jobs) {
  const next = new Map(jobs.map((j) => [j.jobId, j.status]));
  const previous = state.jobStates;
  state.jobStates = next;
  if (!previous) return;
  const changes = [];
  for (const job of jobs) {
    const before = previous.get(job.jobId);
    if (before === job.status) continue;
    changes.push(
      before === undefined
        ? `Job ${job.jobId} in ${job.repo}: ${job.status}.`
        : `Job ${job.jobId} in ${job.repo}: ${before} to ${job.status}.`,
    );
  }
  if (changes.length === 0) return;
  announce(
    changes.length <= ANNOUNCE_MAX
      ? changes.join(' ')
      : `${changes.length} jobs changed state; the jobs table shows them.`,
  );
}

function showConnection(kind, text) {
  const connection = byId('connection');
  if (connection.dataset.state !== kind) connection.dataset.state = kind;
  setText(byId('connection-text'), text);
}

function summaryOf(status) {
  const open = Object.entries(status.jobs.byStatus)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  const hours = Math.round(status.recentWindowMs / 3_600_000);
  const ended = status.jobs.endedRecently;
  return `${status.jobs.open} open${open.length ? ` (${open.join(', ')})` : ''}; ended in the last ${hours} h: ${
    ended.completed
  } completed, ${ended.failed} failed.`;
}

function renderStatus(status) {
  syncRows(byId('pools-body'), status.pools, (p) => p.name, POOL_COLUMNS, 'No pools configured.');
  setText(byId('jobs-summary'), summaryOf(status));
  const runnerStates = Object.entries(status.runners.byState).map(([s, n]) => `${n} ${s}`);
  setText(
    byId('runners-summary'),
    `${status.runners.alive} alive${runnerStates.length ? ` (${runnerStates.join(', ')})` : ''}: the runners of launched and running jobs, and baseline, stolen and warm runners.`,
  );
  const breakers = [...status.breakers.scopes].sort(
    (a, b) => Number(b.open) - Number(a.open) || (a.openRemainingMs ?? 0) - (b.openRemainingMs ?? 0),
  );
  setText(
    byId('breakers-summary'),
    `${status.breakers.open} open of ${status.breakers.scopes.length} scope${status.breakers.scopes.length === 1 ? '' : 's'}.`,
  );
  syncRows(byId('breakers-body'), breakers, (b) => b.scope, BREAKER_COLUMNS, 'No breaker has been tripped.');
  setText(
    byId('baselines-summary'),
    `${status.baselines.total} scope${status.baselines.total === 1 ? '' : 's'}, ${status.baselines.notPresent} not present.`,
  );
}

async function refreshVersion(summary, now) {
  const key = JSON.stringify(summary);
  if (key !== state.versionSummary || now - state.versionFetchedAt > VERSION_EVERY_MS) {
    state.versionSummary = key;
    state.versionFetchedAt = now;
    // The full outlook lists releases: fetched once a minute or when the record changes, never every second.
    state.versionStatus = await getJson('/admin/version').catch(() => state.versionStatus);
  }
  renderVersion(summary, state.versionStatus);
}

async function refresh() {
  const status = await getJson('/api/status');
  if (status.changeToken !== state.token) {
    const [jobs, runners, baselines] = await Promise.all([
      getJson(`/api/jobs?limit=${JOB_LIMIT}`),
      getJson('/api/runners'),
      getJson('/api/baselines'),
    ]);
    syncRows(
      byId('jobs-body'),
      jobs,
      (j) => j.jobId,
      JOB_COLUMNS,
      'No open jobs, and none ended recently.',
      timelineRow,
    );
    syncRows(byId('runners-body'), runners, (r) => r.name, RUNNER_COLUMNS, 'No runners alive.');
    syncRows(byId('baselines-body'), baselines, (b) => b.scope, BASELINE_COLUMNS, 'No baselines recorded.');
    announceJobChanges(jobs);
    state.token = status.changeToken;
  }
  renderStatus(status);
  await refreshVersion(status.version, Date.now());
}

async function tick() {
  state.timer = undefined;
  if (document.visibilityState === 'hidden') return;
  state.running = true;
  let delay = POLL_MS;
  try {
    await refresh();
    if (state.failingSince !== undefined) announce('The server answers again.');
    state.failingSince = undefined;
    state.lastOk = new Date();
    showConnection('live', `Live, updated ${timeOf(state.lastOk.toISOString())}`);
  } catch (error) {
    delay = RETRY_MS;
    if (state.failingSince === undefined) {
      state.failingSince = new Date();
      announce('The server is not answering.');
    }
    const last = state.lastOk ? `; last updated ${timeOf(state.lastOk.toISOString())}` : '';
    const why = error instanceof Error && /answered \d+/.test(error.message) ? ` (${error.message})` : '';
    showConnection(
      'down',
      `Server not answering since ${timeOf(state.failingSince.toISOString())}${why}${last}. Retrying every ${
        RETRY_MS / 1000
      } s.`,
    );
  } finally {
    state.running = false;
  }
  // The tab was hidden while this refresh was on its way: it stays paused, and says so.
  if (document.visibilityState === 'hidden') showPaused();
  schedule(delay);
}

function showPaused() {
  const last = state.lastOk ? `, last updated ${timeOf(state.lastOk.toISOString())}` : '';
  showConnection('paused', `Paused while this tab is hidden${last}`);
}

function schedule(delay) {
  if (state.timer !== undefined || document.visibilityState === 'hidden') return;
  state.timer = setTimeout(tick, delay);
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') {
    clearTimeout(state.timer);
    state.timer = undefined;
    showPaused();
  } else if (!state.running) {
    clearTimeout(state.timer);
    state.timer = undefined;
    void tick();
  }
});

void tick();
