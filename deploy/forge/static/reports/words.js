// What the UI says: schedules in words, dates, and what each error code means to a user.

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
export const WEEKDAYS = DAYS;

export const COLUMNS = {
  key: 'Key', summary: 'Summary', status: 'Status', assignee: 'Assignee', reporter: 'Reporter',
  priority: 'Priority', issuetype: 'Issue type', created: 'Created', updated: 'Updated', duedate: 'Due date',
  resolution: 'Resolution', resolutiondate: 'Resolved', labels: 'Labels', components: 'Components',
  fixVersions: 'Fix versions', project: 'Project', parent: 'Parent', description: 'Description',
  environment: 'Environment', timetracking: 'Time tracking', timeoriginalestimate: 'Original estimate',
  timeestimate: 'Remaining estimate', timespent: 'Time spent', versions: 'Affects versions', votes: 'Votes',
  watches: 'Watchers', attachment: 'Attachments', issuelinks: 'Linked issues',
};

/** How the column picker names a field's type (the API's `type` words, docs/openapi.yaml). */
export const FIELD_TYPES = {
  key: 'issue key', number: 'number', date: 'date', datetime: 'date and time', user: 'person', users: 'people',
  option: 'choice', options: 'choices', cascading: 'choice › choice', sprint: 'sprint', labels: 'labels',
  version: 'version', versions: 'versions', url: 'link', richtext: 'formatted text', issue: 'issue',
  duration: 'time', count: 'count', status: 'status', text: 'text',
};

/** The groupings the editor offers by name (`layout.groupBy`; `PageLayout.groupings` in the service). */
export const GROUPINGS = [
  ['none', 'No groups'], ['status', 'Status'], ['statusCategory', 'Status category'], ['assignee', 'Assignee'],
  ['priority', 'Priority'], ['issuetype', 'Issue type'], ['parent', 'Parent or epic'], ['sprint', 'Sprint'],
  ['fixVersions', 'Fix version'], ['components', 'Component'],
];

export function columnName(id) {
  return COLUMNS[id] || id;
}

function pad(number) {
  return String(number).padStart(2, '0');
}

/** The preset a cron expression is, if any: {preset, time, day}; else {preset: 'custom'}. */
export function presetOf(schedule) {
  if (!schedule) return { preset: 'off' };
  const fields = schedule.cron.trim().split(/\s+/);
  if (fields.length !== 5) return { preset: 'custom' };
  const [minute, hour, dayOfMonth, month, dayOfWeek] = fields;
  const number = (text, max) => /^\d{1,2}$/.test(text) && Number(text) <= max;
  if (dayOfMonth !== '*' || month !== '*' || !number(minute, 59)) return { preset: 'custom' };
  if (hour === '*' && dayOfWeek === '*') return { preset: 'hourly', minute: Number(minute) };
  if (!number(hour, 23)) return { preset: 'custom' };
  const time = pad(hour) + ':' + pad(minute);
  if (dayOfWeek === '*') return { preset: 'daily', time };
  if (dayOfWeek === '1-5') return { preset: 'weekdays', time };
  if (/^[0-6]$/.test(dayOfWeek)) return { preset: 'weekly', time, day: Number(dayOfWeek) };
  return { preset: 'custom' };
}

/** The cron expression of a preset. */
export function cronOf({ preset, time = '09:00', day = 1, minute = 0, custom = '' }) {
  const [hour, minutes] = time.split(':').map(Number);
  switch (preset) {
    case 'hourly': return `${minute} * * * *`;
    case 'daily': return `${minutes} ${hour} * * *`;
    case 'weekdays': return `${minutes} ${hour} * * 1-5`;
    case 'weekly': return `${minutes} ${hour} * * ${day}`;
    case 'custom': return custom.trim();
    default: return null;
  }
}

/** "Weekdays at 09:00, Europe/Berlin". */
export function scheduleInWords(schedule) {
  if (!schedule) return 'Not scheduled (Run now only)';
  const parsed = presetOf(schedule);
  const zone = schedule.timeZone;
  switch (parsed.preset) {
    case 'hourly': return `Every hour at minute ${parsed.minute}, ${zone}`;
    case 'daily': return `Daily at ${parsed.time}, ${zone}`;
    case 'weekdays': return `Weekdays at ${parsed.time}, ${zone}`;
    case 'weekly': return `${DAYS[parsed.day]}s at ${parsed.time}, ${zone}`;
    default: return `Custom schedule “${schedule.cron}”, ${zone}`;
  }
}

/** The browser's time zone, by its IANA name. */
export function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/**
 * "7 Dec, 08:30 Europe/Berlin": a moment in `zone` (a report's schedule zone; the browser's when none),
 * the zone always named and the clock the 24-hour one the schedules are written in, so a time never
 * reads as another zone's. The year is shown only when it is not this year.
 */
export function when(iso, zone) {
  if (!iso) return '—';
  const date = new Date(iso);
  const format = (timeZone) => new Intl.DateTimeFormat('en-GB', {
    day: 'numeric', month: 'short', year: date.getUTCFullYear() === new Date().getUTCFullYear() ? undefined : 'numeric',
    hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone,
  }).format(date) + ' ' + timeZone;
  try {
    return format(zone || browserZone());
  } catch (error) {
    return format(browserZone());  // a zone this browser does not know
  }
}

/** What a run's or a request's error code means, in the user's terms, and what they can do. */
const EXPLANATIONS = {
  reconnect_required: 'Microsoft asks you to sign in again (your consent was withdrawn or your password changed). Reconnect Microsoft above, then run the report again.',
  microsoft_not_connected: 'Connect your Microsoft account first: reports are written to your OneNote.',
  invalid_jql: 'Jira did not accept the report’s JQL. Edit the report and correct the query.',
  filter_not_found: 'The saved filter no longer exists, or you can no longer see it. Choose another filter.',
  filter_unavailable: 'Jira did not let us read the saved filter. Check that it is still shared with you.',
  section_not_found: 'The OneNote section is gone (deleted or moved). Edit the report and choose a section.',
  section_missing: 'The OneNote section is gone (deleted or moved). Edit the report and choose a section.',
  onenote_target_missing: 'The OneNote section or page is gone. Edit the report and choose a section.',
  section_full: 'The OneNote section holds as many pages as OneNote allows. Choose another section.',
  onenote_too_large: 'The report is too large for one OneNote page. Narrow the query or show fewer columns.',
  onenote_throttled: 'OneNote asked us to slow down. The run is retried on its own.',
  onenote_budget_exhausted: 'Your OneNote request allowance for the moment is used up (Microsoft limits each user). Runs resume on their own; try again later.',
  onenote_budget_busy: 'Your other reports are writing to OneNote right now. Try again in a moment.',
  run_now_rate_limited: 'You started many runs in the last minute. Wait a moment before the next Run now.',
  report_quota_exceeded: 'You or your site have as many reports as allowed. Delete one to make room.',
  schedule_too_frequent: 'This schedule runs more often than allowed. Choose a longer interval.',
  jira_forbidden: 'Jira refused access. You may have lost permission to the projects in the query.',
  jira_unavailable: 'Jira was unavailable. The run is retried on its own.',
  jira_unreachable: 'Jira could not be reached. The run is retried on its own.',
  offline_token_failed: 'Atlassian did not let the app act for you (the app may need to be re-consented by an admin).',
  impersonation_refused: 'Atlassian did not let the app act for you (the app may need to be re-consented by an admin).',
  token_unreadable: 'Your stored Microsoft sign-in could not be read. Reconnect Microsoft.',
  report_deleted: 'The report was deleted while it ran.',
  license_inactive: 'This Jira site’s licence for OneNote Reports is not active, so reports do not run (Run now and schedules are paused; your pages stay in OneNote). Ask a Jira site admin to renew it under Manage apps.',
  storage_unavailable: 'The service cannot save right now. Nothing was lost; try again in a minute.',
  user_token_required: 'Jira did not pass your sign-in along. Reload the page and try again.',
  bridge_failed: 'The app could not reach its service. Reload the page and try again.',
  jira_admin_required: 'Only Jira administrators of this site can use these settings.',
  admin_page_only: 'These settings open only from Manage apps → OneNote Reports → Configure.',
};

/** Why runs failed, as the admin page counts them: a short name per error code. */
export const FAILURE_NAMES = {
  reconnect_required: 'Microsoft sign-in to renew', microsoft_not_connected: 'Microsoft not connected',
  invalid_jql: 'JQL not accepted by Jira', filter_not_found: 'Saved filter gone', filter_unavailable: 'Saved filter unreadable',
  section_not_found: 'OneNote section gone', section_missing: 'OneNote section gone', onenote_target_missing: 'OneNote section or page gone',
  section_full: 'OneNote section full', onenote_too_large: 'Report too large for a page', onenote_throttled: 'OneNote throttling',
  onenote_budget_exhausted: 'OneNote allowance used up', jira_forbidden: 'Jira refused access', jira_unavailable: 'Jira unavailable',
  jira_unreachable: 'Jira unreachable', offline_token_failed: 'Atlassian would not act for the user',
  impersonation_refused: 'Atlassian would not act for the user', token_unreadable: 'Stored sign-in unreadable',
  report_deleted: 'Report deleted while running', license_inactive: 'Licence not active',
};

export function explain(error) {
  if (!error) return '';
  return EXPLANATIONS[error.code] || (error.message ? error.message : 'Something went wrong (' + error.code + ').');
}
