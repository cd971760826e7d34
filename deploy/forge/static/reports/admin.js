// OneNote Reports for Jira: the admin page (Manage apps → OneNote Reports → Configure). A Jira
// administrator sees the site's runs of the last day and week with failures by cause, each person's
// reports and Microsoft connection, and the site's quotas; pauses and resumes every schedule of the
// site; removes one person's Microsoft connection. Every call goes through api.js → bridge.js, and the
// service checks with Jira that the caller administers the site.
import { api } from './api.js';
import { view } from './bridge.js';
import { announce, confirmDialog, h, replace } from './dom.js';
import { FAILURE_NAMES, explain, scheduleInWords, when } from './words.js';

const main = document.getElementById('main');

/** Placeholders in the shape of the page to come (hidden from screen readers, which hear "busy"). */
function skeleton() {
  const block = () => h('div', { class: 'skeleton-card', 'aria-hidden': 'true' },
    h('div', { class: 'skeleton line title' }), h('div', { class: 'skeleton line' }), h('div', { class: 'skeleton line short' }));
  replace(main, block(), block(), block());
}

async function load(message, problem) {
  main.setAttribute('aria-busy', 'true');
  let site;
  try {
    site = await api.site();
  } catch (error) {
    main.removeAttribute('aria-busy');
    replace(main, h('p', { class: 'banner error', role: 'alert', 'data-testid': 'admin-error' }, explain(error)));
    return;
  }
  main.removeAttribute('aria-busy');
  replace(main,
    message ? h('p', { class: 'banner success', role: 'status' }, message) : null,
    problem ? h('p', { class: 'banner error', role: 'alert' }, problem) : null,
    schedulesPanel(site), runsPanel(site.runs), peoplePanel(site), quotasPanel(site.quotas));
}

function panel(id, title, ...children) {
  return h('section', { class: 'panel', 'aria-labelledby': id + '-title', 'data-testid': id },
    h('h2', { id: id + '-title' }, title), ...children);
}

// MARK: Scheduled runs

function schedulesPanel(site) {
  const paused = site.site.schedulesPaused;
  const scheduled = site.users.reduce((sum, user) => sum + user.scheduledReports, 0);
  const toggle = h('button', {
    class: 'switch', role: 'switch', 'aria-checked': String(!paused), 'data-testid': 'schedules-switch',
    onclick: () => setPaused(!paused, scheduled),
  }, h('span', { class: 'switch-track', 'aria-hidden': 'true' }), paused ? 'Scheduled runs are paused' : 'Scheduled runs are on');
  return panel('schedules', 'Scheduled runs',
    toggle,
    h('p', { 'data-testid': 'schedules-state' }, paused
      ? `Paused since ${when(site.site.schedulesPausedAt)}: no report on this site runs on its schedule. People can still press Run now. When you turn scheduled runs back on, each report that missed a run refreshes once, then keeps its schedule.`
      : `${scheduled} ${scheduled === 1 ? 'report runs' : 'reports run'} on a schedule. Turn scheduled runs off to pause them all, for example during a migration; people can still press Run now.`),
    site.site.licenseRequired && site.site.licenseActive !== true
      ? h('p', { class: 'banner warning' }, 'This site’s licence for OneNote Reports is not active, so reports do not run until it is renewed.')
      : null);
}

async function setPaused(paused, scheduled) {
  if (paused) {
    const confirmed = await confirmDialog({
      title: 'Pause every scheduled run on this site?',
      text: `${scheduled} scheduled ${scheduled === 1 ? 'report stops' : 'reports stop'} refreshing until you turn scheduled runs back on. Reports, pages and Run now are not affected.`,
      action: 'Pause scheduled runs',
    });
    if (!confirmed) return;
  }
  try {
    await api.pauseSchedules(paused);
  } catch (error) {
    load(null, 'Scheduled runs were not changed: ' + explain(error));
    return;
  }
  const text = paused ? 'Scheduled runs are paused for the whole site.' : 'Scheduled runs are on again.';
  announce(text);
  load(text);
}

// MARK: Runs

function runsPanel(runs) {
  return panel('runs', 'Runs',
    h('div', { class: 'stats' }, runWindow('Last 24 hours', runs.lastDay, 'day'), runWindow('Last 7 days', runs.lastWeek, 'week')));
}

function runWindow(title, runs, id) {
  const failures = runs.failures.length
    ? h('table', { class: 'runs' },
      h('caption', { class: 'visually-hidden' }, 'Failed runs by cause, ' + title.toLowerCase()),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Cause'), h('th', { scope: 'col' }, 'Failed runs'))),
      h('tbody', {}, runs.failures.map((failure) => h('tr', { 'data-code': failure.code },
        h('td', { 'data-label': 'Cause' }, FAILURE_NAMES[failure.code] || 'Other', ' ', h('code', {}, failure.code)),
        h('td', { 'data-label': 'Failed runs' }, failure.count)))))
    : h('p', { class: 'muted' }, runs.total ? 'No failed runs.' : 'No runs.');
  return h('div', { class: 'stat', 'data-testid': 'runs-' + id },
    h('h3', {}, title),
    h('p', { class: 'stat-line' }, h('strong', {}, runs.total), ` ${runs.total === 1 ? 'run' : 'runs'} · ${runs.succeeded} succeeded · ${runs.failed} failed`,
      runs.inProgress ? ` · ${runs.inProgress} in progress` : ''),
    failures);
}

// MARK: People

function peoplePanel(site) {
  if (!site.users.length) {
    return panel('people', 'People', h('p', { class: 'empty' }, 'Nobody on this site has made a report or connected Microsoft yet.'));
  }
  const people = site.users.length;
  return panel('people', 'People and their reports',
    h('p', { class: 'muted' }, `${site.site.reportCount} ${site.site.reportCount === 1 ? 'report' : 'reports'} by ${people} ${people === 1 ? 'person' : 'people'}.`),
    h('ul', { class: 'reports' }, site.users.map((user) => personCard(user, site.site.schedulesPaused))));
}

const MICROSOFT = { active: 'Connected', reconnect_required: 'Needs to sign in again', not_connected: 'Not connected' };

function personCard(user, paused) {
  const name = user.displayName || user.accountId;
  return h('li', { class: 'report', 'data-account-id': user.accountId },
    h('h3', {}, name),
    h('dl', {},
      h('dt', {}, 'Microsoft'), h('dd', { 'data-testid': 'microsoft' }, MICROSOFT[user.microsoft] || user.microsoft),
      h('dt', {}, 'Reports'), h('dd', {}, `${user.reports.length}, ${user.scheduledReports} on a schedule`)),
    user.reports.length ? reportsTable(user, paused) : null,
    user.microsoft === 'not_connected' ? null : h('div', { class: 'actions' },
      h('button', { class: 'danger', 'aria-label': `Remove Microsoft connection of ${name}`, onclick: () => removeConnection(user, name) },
        'Remove Microsoft connection')));
}

function reportsTable(user, paused) {
  return h('table', { class: 'runs' },
    h('caption', { class: 'visually-hidden' }, 'Reports of ' + (user.displayName || user.accountId)),
    h('thead', {}, h('tr', {}, ['Report', 'Schedule', 'Next run', 'Latest run'].map((title) => h('th', { scope: 'col' }, title)))),
    h('tbody', {}, user.reports.map((report) => {
      const zone = report.schedule && report.schedule.timeZone;
      const next = !report.schedule || !report.enabled ? '—' : paused ? 'Paused' : when(report.nextRunAt, zone);
      return h('tr', { 'data-report-id': report.id },
        h('td', { 'data-label': 'Report' }, report.pageUrl ? h('a', { href: report.pageUrl, target: '_blank', rel: 'noopener' }, report.name) : report.name),
        h('td', { 'data-label': 'Schedule' }, report.schedule && !report.enabled ? 'Switched off by its owner' : scheduleInWords(report.schedule)),
        h('td', { 'data-label': 'Next run' }, next),
        h('td', { 'data-label': 'Latest run' }, latestRun(report.latestRun, zone)));
    })));
}

function latestRun(run, zone) {
  if (!run) return 'Never run';
  const words = { queued: 'Queued', running: 'Running', succeeded: 'Succeeded', failed: 'Failed' };
  return [h('span', { class: 'lozenge ' + run.status }, words[run.status] || run.status), ' ', when(run.queuedAt, zone),
    run.errorCode ? h('span', { class: 'run-error' }, ' · ', FAILURE_NAMES[run.errorCode] || run.errorCode) : null];
}

async function removeConnection(user, name) {
  const confirmed = await confirmDialog({
    title: `Remove ${name}’s Microsoft connection?`,
    text: 'Their reports stop writing to OneNote until they connect Microsoft again in the app. Their reports and OneNote pages are kept.',
    action: 'Remove connection',
  });
  if (!confirmed) return;
  try {
    await api.removeConnection(user.accountId);
  } catch (error) {
    load(null, `${name}’s Microsoft connection was not removed: ${explain(error)}`);
    return;
  }
  announce(`${name}’s Microsoft connection was removed`);
  load(`Removed ${name}’s Microsoft connection.`);
}

// MARK: Quotas

function quotasPanel(quotas) {
  const rows = [
    ['Reports per person', quotas.reportsPerUser], ['Reports on this site', quotas.reportsPerSite],
    ['Shortest schedule', `every ${quotas.minScheduleMinutes} minutes`], ['Run now per person', `${quotas.runNowPerMinute} a minute`],
    ['Report changes per person', `${quotas.reportWritesPerMinute} a minute`],
    ['Reports writing at once per Microsoft account', quotas.runningPerMicrosoftUser],
  ];
  return panel('quotas', 'Quotas',
    h('p', { class: 'muted' }, 'Set by the service’s operator for every site. Existing reports over a quota keep working; only new ones are refused.'),
    h('dl', { class: 'quotas' }, rows.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)])));
}

view.theme.enable().catch(() => {});
skeleton();
load();
