// OneNote Reports for Jira: the app's page. Views: the reports list, the editor, a report's run
// history; the Microsoft connection stays on top. Every call goes through api.js → bridge.js.
import { api } from './api.js';
import { view } from './bridge.js';
import { Connection } from './connection.js';
import { announce, confirmDialog, h, replace } from './dom.js';
import { renderEditor } from './editor.js';
import { renderHistory, runNow, runSummary } from './runs.js';
import { explain, scheduleInWords, when } from './words.js';

const main = document.getElementById('main');
let sections = null; // [{id, name, notebookId, notebookName}] once loaded
let sectionsError = null;

// The connection, the reports and the OneNote sections load side by side: the list is drawn as soon
// as the reports arrive, its controls follow the connection, and section names fill in when known.
const connection = new Connection(document.getElementById('connection'), (status) => {
  if (status === 'active' && !sections) loadSections().then(nameSections);
  connectionChanged();
});

let sectionsLoading = null;
function loadSections() {
  sectionsLoading = sectionsLoading || api.sections().then((answer) => {
    sections = answer.sections;
    sectionsError = null;
  }, (error) => {
    sectionsError = error;
  }).finally(() => { sectionsLoading = null; });
  return sectionsLoading;
}

function sectionName(id) {
  if (!sections) return sectionsError ? 'A OneNote section' : '…';
  const found = sections.find((s) => s.id === id);
  return found ? (found.notebookName ? `${found.notebookName} › ${found.name}` : found.name) : 'A OneNote section';
}

/** Section names in the list, once the sections have loaded. */
function nameSections() {
  for (const element of main.querySelectorAll('[data-section-id]')) element.textContent = sectionName(element.dataset.sectionId);
}

/** What depends on the Microsoft connection, updated in place (the list is not fetched again). */
function connectionChanged() {
  const active = connection.status === 'active';
  for (const button of main.querySelectorAll('[data-needs-connection]')) {
    const card = button.closest('[data-report-id]');
    button.disabled = !active || Boolean(card && following.has(card.dataset.reportId));
  }
  const hint = main.querySelector('[data-testid=empty-hint]');
  if (hint) hint.textContent = emptyHint();
}

function emptyHint() {
  if (connection.status === 'active') return 'Press “New report” to make the first one.';
  return connection.me ? 'Connect Microsoft above to start.' : '';
}

/** Placeholder cards while the list loads (hidden from screen readers, which hear the busy text). */
function skeleton() {
  return h('div', { 'aria-busy': 'true', dataset: { testid: 'loading' } },
    h('p', { class: 'visually-hidden' }, 'Loading your reports…'),
    [0, 1, 2].map(() => h('div', { class: 'skeleton-card', 'aria-hidden': 'true' },
      h('div', { class: 'skeleton line title' }), h('div', { class: 'skeleton line' }), h('div', { class: 'skeleton line short' }))));
}

async function showList(note, problem) {
  const heading = h('h2', { id: 'list-title', tabindex: '-1' }, 'Your reports');
  const create = h('button', { type: 'button', class: 'primary', onclick: () => showEditor(), disabled: connection.status !== 'active', dataset: { needsConnection: '' } }, 'New report');
  const body = skeleton();
  replace(main, h('section', { 'aria-labelledby': 'list-title' },
    h('div', { class: 'toolbar' }, heading, create),
    note ? h('p', { class: 'banner success', role: 'status' }, note) : null,
    problem ? h('p', { class: 'banner error', role: 'alert' }, problem) : null, body));
  let reports;
  try {
    reports = (await api.reports()).reports;
  } catch (error) {
    body.removeAttribute('aria-busy');
    delete body.dataset.testid;
    replace(body, h('div', { class: 'banner error', role: 'alert' }, 'Your reports could not be loaded: ', explain(error), ' ',
      h('button', { type: 'button', onclick: () => showList() }, 'Try again')));
    return;
  }
  body.removeAttribute('aria-busy');
  delete body.dataset.testid;
  if (reports.length === 0) {
    replace(body, h('div', { class: 'empty', dataset: { testid: 'empty' } },
      h('p', {}, 'No reports yet. A report runs a Jira query as you and keeps a OneNote page up to date with the issues.'),
      h('p', { dataset: { testid: 'empty-hint' } }, emptyHint())));
    return;
  }
  const rows = reports.map((report) => reportRow(report));
  replace(body, h('ul', { class: 'reports', dataset: { testid: 'reports' } }, rows.map((row) => row.element)));
  // The last run of each report, in parallel; a row shows "…" until its answer arrives.
  await Promise.all([...rows.map((row) => row.loadLastRun()), nameFilters(reports, body)]);
}

function reportRow(report) {
  // A report's times read in its schedule's zone (the one its schedule is written in).
  const zone = report.schedule && report.schedule.timeZone;
  const status = h('div', { class: 'last-run', 'aria-live': 'polite' }, h('span', { class: 'muted' }, 'Last run: …'));
  const runButton = h('button', { type: 'button', class: 'primary', disabled: connection.status !== 'active', dataset: { needsConnection: '' } }, 'Run now');
  const element = h('li', { class: 'report', dataset: { testid: 'report', reportId: report.id } },
    h('h3', {}, report.name),
    h('dl', {},
      h('dt', {}, 'Issues from'), h('dd', {}, report.filterId
        ? h('span', { dataset: { filterId: report.filterId } },
          filterNames.has(report.filterId) ? 'Saved filter “' + filterNames.get(report.filterId) + '”' : 'Saved filter ' + report.filterId)
        : h('code', {}, report.jql)),
      h('dt', {}, 'OneNote'), h('dd', { dataset: { sectionId: report.sectionId } }, sectionName(report.sectionId)),
      h('dt', {}, 'Schedule'), h('dd', { dataset: { testid: 'schedule' } }, scheduleInWords(report.schedule), report.enabled === false ? ' (paused)' : ''),
      h('dt', {}, 'Next run'), h('dd', { dataset: { testid: 'next-run' } }, report.nextRunAt ? when(report.nextRunAt, zone) : '—'),
      h('dt', {}, 'Last run'), h('dd', {}, status)),
    h('div', { class: 'actions' }, runButton,
      h('button', { type: 'button', onclick: () => showEditor(report) }, 'Edit'),
      h('button', { type: 'button', onclick: () => showHistory(report) }, 'History'),
      h('button', { type: 'button', class: 'danger subtle', onclick: () => confirmDelete(report) }, 'Delete')));
  const onFixJql = (error) => showEditor(report, error);
  // A run being followed belongs to the page, not to this row: a redraw of the list (after a
  // reconnect, a save) finds it in `following` and keeps showing it live.
  const show = (run, error) => {
    const live = main.querySelector(`[data-report-id="${report.id}"]`) || element;
    replace(live.querySelector('.last-run'), error
      ? h('span', { class: 'run-error', role: 'alert', dataset: { testid: 'run-refused', code: error.code } }, explain(error))
      : runSummary(run, { onFixJql, zone }));
  };
  const setBusy = (busy) => {
    const live = main.querySelector(`[data-report-id="${report.id}"]`) || element;
    live.querySelector('.actions button.primary').disabled = busy || connection.status !== 'active';
  };
  runButton.addEventListener('click', async () => {
    if (following.has(report.id)) return;
    following.set(report.id, null);
    setBusy(true);
    try {
      await runNow(report.id, (run, error) => {
        if (run) following.set(report.id, run);
        show(run, error);
      });
    } finally {
      following.delete(report.id);
      setBusy(false);
    }
  });
  if (following.has(report.id)) runButton.disabled = true;
  return {
    element,
    async loadLastRun() {
      if (following.has(report.id)) {
        if (following.get(report.id)) show(following.get(report.id));
        return;
      }
      try {
        const runs = (await api.runs(report.id, 1)).runs;
        if (following.has(report.id)) return;
        replace(status, runSummary(runs[0], { onFixJql, zone }));
        connection.noteRefusal(runs[0]);
      } catch (error) {
        replace(status, h('span', { class: 'muted' }, 'Last run unknown: ' + explain(error)));
      }
    },
  };
}

/** Report id → the run Run now is following (null until it is queued). */
const following = new Map();

const filterNames = new Map(); // filter id → name, from Jira (the user's own view of them)

/** Saved filters are stored by id; their names come from Jira, once per page load. */
async function nameFilters(reports, container) {
  const wanted = reports.filter((r) => r.filterId && !filterNames.has(r.filterId));
  if (wanted.length === 0) return;
  try {
    for (const filter of (await api.filters()).filters) filterNames.set(filter.id, filter.name);
  } catch {
    return; // the ids stay; the names are a nicety
  }
  for (const element of container.querySelectorAll('[data-filter-id]')) {
    const name = filterNames.get(element.dataset.filterId);
    if (name) element.replaceChildren('Saved filter “' + name + '”');
  }
}


async function showEditor(report, jqlError) {
  if (!sections) await loadSections();
  await renderEditor(main, {
    report, sections, jqlError,
    onDone: (saved) => { announce(report ? 'Report saved' : 'Report created'); showList(report ? `Saved “${saved.name}”.` : `Created “${saved.name}”.`); },
    onCancel: () => showList(),
  });
  if (sectionsError && !sections) {
    main.prepend(h('p', { class: 'banner error', role: 'alert' }, 'OneNote sections could not be loaded: ', explain(sectionsError)));
  }
}

function showHistory(report) {
  renderHistory(main, report, { onBack: () => showList(), onFixJql: (error) => showEditor(report, error) });
}

async function confirmDelete(report) {
  const confirmed = await confirmDialog({
    title: `Delete “${report.name}”?`,
    text: 'The report and its run history are deleted. Its OneNote page stays in OneNote.',
    action: 'Delete report',
  });
  if (!confirmed) return;
  try {
    await api.remove(report.id);
  } catch (error) {
    showList(null, `“${report.name}” was not deleted: ${explain(error)}`);
    return;
  }
  announce('Report deleted');
  showList(`Deleted “${report.name}”.`);
}

view.theme.enable().catch(() => {});
connection.load();
showList();
