// Run now with live status, and a report's run history.
import { api } from './api.js';
import { router } from './bridge.js';
import { announce, h, replace, sleep } from './dom.js';
import { explain, when } from './words.js';

/** A link to a OneNote page; opened through the host, which asks before leaving Jira. */
export function pageLink(url, text = 'Open in OneNote') {
  return h('a', {
    href: url, class: 'page-link', target: '_blank', rel: 'noopener',
    onclick: (event) => { event.preventDefault(); router.open(url).catch(() => {}); },
  }, text);
}

const LABELS = { queued: 'Queued', running: 'Running', succeeded: 'Done', failed: 'Failed' };

/** One run's status in a few words, with its page link and, on failure, what to do; times in `zone`. */
export function runSummary(run, { onFixJql, zone } = {}) {
  if (!run) return h('span', { class: 'muted' }, 'Never run');
  const parts = [h('span', { class: 'lozenge ' + run.status, dataset: { testid: 'run-status' } }, LABELS[run.status] || run.status)];
  if (run.status === 'succeeded') {
    parts.push(' ', when(run.finishedAt, zone), ' · ',
      h('span', { dataset: { testid: 'issue-count' } }, run.issueCount === 1 ? '1 issue' : `${run.issueCount ?? 0} issues`));
    if (run.pageUrl) parts.push(' · ', pageLink(run.pageUrl));
  } else if (run.status === 'failed') {
    parts.push(' ', when(run.finishedAt, zone), ' ', h('span', { class: 'run-error', dataset: { testid: 'run-error', code: run.error && run.error.code } }, explain(run.error)));
    if (run.error && run.error.code === 'invalid_jql' && onFixJql) {
      parts.push(' ', h('button', { type: 'button', class: 'subtle', onclick: () => onFixJql(run.error) }, 'Fix the JQL'));
    }
  } else if (run.lastError) {
    parts.push(' ', h('span', { class: 'muted' }, 'retrying: ' + explain(run.lastError)));
  }
  return h('span', { class: 'run-summary' }, parts);
}

/** Run now: queue a run and follow it until it ends, polling with backoff (0.5 s doubling to 5 s). */
export async function runNow(reportId, show) {
  let run;
  try {
    run = await api.runNow(reportId);
  } catch (error) {
    show(null, error);
    return null;
  }
  announce('Run queued');
  let delay = 500;
  const deadline = Date.now() + 15 * 60 * 1000;
  while (run.status === 'queued' || run.status === 'running') {
    show(run);
    if (Date.now() > deadline) return run;
    await sleep(delay);
    delay = Math.min(delay * 2, 5000);
    try {
      run = await api.run(run.id);
    } catch (error) {
      if (error.status === 404) return null;
      // A failed poll is not a failed run: keep watching.
    }
  }
  show(run);
  announce(run.status === 'succeeded' ? `Run done: ${run.issueCount} issues` : 'Run failed: ' + explain(run.error));
  return run;
}

export async function renderHistory(container, report, { onBack, onFixJql }) {
  const zone = report.schedule && report.schedule.timeZone;
  const heading = h('h2', { tabindex: '-1' }, 'Run history: ', report.name);
  const body = h('div', { 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading runs…'));
  replace(container, h('section', { class: 'history', 'aria-labelledby': 'history-title' },
    h('div', { class: 'toolbar' }, h('button', { type: 'button', onclick: onBack }, '← All reports')),
    Object.assign(heading, { id: 'history-title' }), body));
  heading.focus();
  let runs;
  try {
    runs = (await api.runs(report.id, 20)).runs;
  } catch (error) {
    replace(body, h('p', { class: 'banner error', role: 'alert' }, explain(error)));
    body.removeAttribute('aria-busy');
    return;
  }
  body.removeAttribute('aria-busy');
  if (runs.length === 0) {
    replace(body, h('p', { class: 'empty' }, 'This report has not run yet. Press Run now to write its page.'));
    return;
  }
  replace(body, h('table', { class: 'runs', dataset: { testid: 'run-history' } },
    h('caption', { class: 'visually-hidden' }, 'Runs, newest first'),
    h('thead', {}, h('tr', {}, ['Queued', 'How', 'Outcome'].map((title) => h('th', { scope: 'col' }, title)))),
    h('tbody', {}, runs.map((run) => h('tr', {},
      h('td', { 'data-label': 'Queued' }, when(run.queuedAt, zone)),
      h('td', { 'data-label': 'How' }, run.trigger === 'manual' ? 'Run now' : 'Schedule'),
      h('td', { 'data-label': 'Outcome' }, runSummary(run, { onFixJql, zone })))))));
}
