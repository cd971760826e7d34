// Create or edit a report: JQL or a saved filter (searchable), ordered columns, the page's layout
// (layout.js), a OneNote section (grouped by notebook), a schedule preset or a custom cron, the time
// zone. The server's validation errors ("field: message") are shown next to their field.
import { api } from './api.js';
import { h, replace, sleep } from './dom.js';
import { layoutFieldset } from './layout.js';
import { COLUMNS, FIELD_TYPES, WEEKDAYS, columnName, cronOf, explain, presetOf } from './words.js';

const DEFAULT_COLUMNS = ['key', 'summary', 'status', 'assignee', 'updated'];

function field(id, label, control, hint) {
  return h('div', { class: 'field', dataset: { field: id } },
    h('label', { for: id }, label), hint ? h('p', { class: 'hint', id: id + '-hint' }, hint) : null, control,
    h('p', { class: 'field-error', id: id + '-error', role: 'alert', hidden: true }));
}

function showError(form, name, message) {
  const target = form.querySelector(`#${name}-error`) || form.querySelector('#form-error');
  target.textContent = message;
  target.hidden = false;
  const control = form.querySelector(`#${name}`);
  if (control) {
    control.setAttribute('aria-invalid', 'true');
    control.setAttribute('aria-describedby', [control.getAttribute('aria-describedby'), `${name}-error`].filter(Boolean).join(' '));
  }
  return control;
}

function clearErrors(form) {
  for (const error of form.querySelectorAll('.field-error')) { error.hidden = true; error.textContent = ''; }
  for (const control of form.querySelectorAll('[aria-invalid]')) control.removeAttribute('aria-invalid');
}

export async function renderEditor(container, { report, sections, jqlError, onDone, onCancel }) {
  const editing = Boolean(report);
  const value = report || { name: '', jql: '', filterId: null, columns: DEFAULT_COLUMNS, sectionId: '', schedule: null };
  let columns = [...value.columns];
  let filterId = value.filterId;
  const schedule = presetOf(value.schedule);
  const zone = value.schedule ? value.schedule.timeZone : Intl.DateTimeFormat().resolvedOptions().timeZone;

  // No maxlength: a pasted name or query longer than the limit is refused with a reason, never cut.
  const name = h('input', { id: 'name', name: 'name', required: true, value: value.name, autocomplete: 'off' });
  const sourceJql = h('input', { type: 'radio', name: 'source', id: 'source-jql', value: 'jql', checked: !value.filterId });
  const sourceFilter = h('input', { type: 'radio', name: 'source', id: 'source-filter', value: 'filter', checked: Boolean(value.filterId) });
  const jql = h('textarea', { id: 'jql', name: 'jql', rows: 3, spellcheck: 'false' }, value.jql || '');
  const filterSearch = h('input', { id: 'filter', type: 'search', autocomplete: 'off', placeholder: 'Search your saved filters' });
  const filterList = h('div', { class: 'filter-list', role: 'radiogroup', 'aria-label': 'Saved filters', dataset: { testid: 'filter-list' } });
  const columnList = h('ol', { class: 'columns', 'aria-label': 'Columns, in order' });
  // The column picker: a search over every field of the site (custom fields too); a field is added only
  // by choosing its button (click, Enter or Space), never by typing or moving with the arrow keys.
  const addColumn = h('input', { id: 'columns', type: 'search', autocomplete: 'off', placeholder: 'Find a field to add, custom fields too',
    'aria-describedby': 'columns-hint', 'aria-controls': 'column-choices' });
  const columnChoices = h('ul', { id: 'column-choices', class: 'column-choices', 'aria-label': 'Fields to add', 'aria-live': 'polite' });
  const names = new Map();
  const label = (id) => names.get(id) || columnName(id);
  const section = h('select', { id: 'sectionId', name: 'sectionId', required: true });
  const preset = h('select', { id: 'schedule', name: 'schedule' },
    [['off', 'Off (Run now only)'], ['hourly', 'Every hour'], ['daily', 'Daily'], ['weekdays', 'Weekdays (Monday to Friday)'],
      ['weekly', 'Weekly'], ['custom', 'Custom (cron)']].map(([key, text]) => h('option', { value: key, selected: key === schedule.preset }, text)));
  // Text, not type=time: a browser's time field follows its locale's clock (09:00 AM), and the app
  // writes every time on the 24-hour clock the schedules are in.
  const time = h('input', { id: 'time', value: schedule.time || '09:00', inputmode: 'numeric', autocomplete: 'off',
    placeholder: 'HH:MM', size: 6, class: 'short', 'aria-describedby': 'time-hint' });
  const day = h('select', { id: 'day' }, WEEKDAYS.map((text, index) => h('option', { value: index, selected: index === (schedule.day ?? 1) }, text)));
  const cron = h('input', { id: 'cron', value: value.schedule ? value.schedule.cron : '0 9 * * 1-5', spellcheck: 'false', 'aria-describedby': 'cron-hint' });
  const timeZone = h('input', { id: 'timeZone', value: zone, list: 'time-zones', autocomplete: 'off' });
  const zones = h('datalist', { id: 'time-zones' }, (Intl.supportedValuesOf ? Intl.supportedValuesOf('timeZone') : []).map((z) => h('option', { value: z })));

  const sourcePanels = {
    jql: field('jql', 'JQL query', jql, 'Runs as you: the page shows exactly the issues you can see.'),
    filter: h('div', { class: 'field', dataset: { field: 'filterId' } },
      h('label', { for: 'filter' }, 'Saved filter'), filterSearch, filterList,
      h('p', { class: 'field-error', id: 'filterId-error', role: 'alert', hidden: true })),
  };
  const timeFields = h('div', { class: 'inline' }, field('time', 'At', time, '24-hour, e.g. 14:30'), field('day', 'On', day));
  const cronField = field('cron', 'Cron expression', cron, 'Five fields: minute hour day-of-month month day-of-week.');

  function syncSource() {
    sourcePanels.jql.hidden = !sourceJql.checked;
    sourcePanels.filter.hidden = !sourceFilter.checked;
  }
  function syncSchedule() {
    const kind = preset.value;
    timeFields.hidden = !['daily', 'weekdays', 'weekly'].includes(kind);
    day.closest('.field').hidden = kind !== 'weekly';
    cronField.hidden = kind !== 'custom';
    timeZone.closest('.field').hidden = kind === 'off';
  }
  function renderColumns() {
    replace(columnList, columns.map((id, index) => h('li', { dataset: { column: id } },
      h('span', { class: 'column-name' }, label(id)),
      h('button', { type: 'button', class: 'icon', 'aria-label': `Move ${label(id)} up`, disabled: index === 0,
        onclick: () => { [columns[index - 1], columns[index]] = [columns[index], columns[index - 1]]; renderColumns(); columnList.children[index - 1].querySelector('button').focus(); } }, '↑'),
      h('button', { type: 'button', class: 'icon', 'aria-label': `Move ${label(id)} down`, disabled: index === columns.length - 1,
        onclick: () => { [columns[index + 1], columns[index]] = [columns[index], columns[index + 1]]; renderColumns(); columnList.children[index + 1].querySelectorAll('button')[1].focus(); } }, '↓'),
      h('button', { type: 'button', class: 'icon', 'aria-label': `Remove ${label(id)}`,
        onclick: () => { columns.splice(index, 1); renderColumns(); showChoices(); addColumn.focus(); } }, '×'))));
  }

  // The site's fields as the last search found them; the standard columns until the first answer.
  let found = Object.entries(COLUMNS).map(([id, name]) => ({ id, name, type: id === 'key' ? 'key' : 'text', custom: false }));
  let foundTruncated = false;
  function showChoices() {
    const open = found.filter((f) => !columns.includes(f.id));
    const shown = open.slice(0, 25);
    replace(columnChoices, shown.length === 0 ? h('li', { class: 'muted' }, 'No field matches.') : shown.map((f) => h('li', {},
      h('button', { type: 'button', class: 'choice', 'aria-label': `Add ${f.name}`,
        onclick: () => { names.set(f.id, f.name); columns.push(f.id); renderColumns(); showChoices(); addColumn.focus(); } },
        h('span', { class: 'choice-name' }, f.name), h('span', { class: 'choice-type' }, FIELD_TYPES[f.type] || f.type)))),
    open.length > shown.length || foundTruncated ? h('li', { class: 'muted' }, 'Type to find more fields.') : null);
  }
  let fieldQuery = null;
  async function loadChoices() {
    const query = addColumn.value.trim();
    if (query === fieldQuery) return;
    fieldQuery = query;
    columnChoices.setAttribute('aria-busy', 'true');
    try {
      const answer = await api.fields(query);
      if (query !== fieldQuery) return;
      found = answer.fields;
      foundTruncated = answer.truncated;
      // A chosen column named only by its id until now gets its name (the list is redrawn only then).
      let renamed = false;
      for (const f of found) {
        if (names.has(f.id)) continue;
        names.set(f.id, f.name);
        if (columns.includes(f.id) && f.name !== columnName(f.id)) renamed = true;
      }
      if (renamed) renderColumns();
    } catch (error) {
      // Without the site's list, the standard columns (found by their names) still serve.
      const needle = query.toLowerCase();
      found = Object.entries(COLUMNS).filter(([id, name]) => !needle || name.toLowerCase().includes(needle) || id.toLowerCase().includes(needle))
        .map(([id, name]) => ({ id, name, type: 'text', custom: false }));
      foundTruncated = false;
    } finally {
      columnChoices.removeAttribute('aria-busy');
    }
    showChoices();
  }
  // A report's custom column the first list did not hold is looked up by its id, once, for its name.
  async function nameCustomColumns() {
    let renamed = false;
    for (const id of columns.filter((c) => c.startsWith('customfield_') && !names.has(c))) {
      try {
        const match = (await api.fields(id)).fields.find((f) => f.id === id);
        if (match) { names.set(id, match.name); renamed = true; }
      } catch (error) { /* the id stays shown; the page says "(unavailable)" if the site lost the field */ }
    }
    if (renamed) renderColumns();
  }
  let fieldTyping = 0;
  addColumn.addEventListener('input', async () => {
    const mine = ++fieldTyping;
    await sleep(250);
    if (mine === fieldTyping) loadChoices();
  });
  // Enter in the search adds nothing (and does not submit the form); it only searches now.
  addColumn.addEventListener('keydown', (event) => { if (event.key === 'Enter') { event.preventDefault(); loadChoices(); } });

  let filterQuery = null;
  async function loadFilters() {
    const query = filterSearch.value.trim();
    if (query === filterQuery) return;
    filterQuery = query;
    filterList.setAttribute('aria-busy', 'true');
    try {
      const answer = await api.filters(query);
      if (query !== filterQuery) return;
      replace(filterList, answer.filters.length === 0 ? h('p', { class: 'muted' }, 'No saved filter matches.') : answer.filters.map((filter) => h('label', { class: 'filter-option' },
        h('input', { type: 'radio', name: 'filterId', value: filter.id, checked: filter.id === filterId, onchange: () => { filterId = filter.id; } }),
        h('span', {}, filter.name), filter.jql ? h('code', {}, filter.jql) : null)),
      answer.truncated ? h('p', { class: 'muted' }, 'Only the first 500 filters are listed; search to narrow them.') : null);
    } catch (error) {
      replace(filterList, h('p', { class: 'field-error', role: 'alert' }, explain(error)));
    } finally {
      filterList.removeAttribute('aria-busy');
    }
  }
  let typing = 0;
  filterSearch.addEventListener('input', async () => {
    const mine = ++typing;
    await sleep(250);
    if (mine === typing) loadFilters();
  });

  const groups = new Map();
  for (const s of sections || []) {
    const key = s.notebookName || 'Other sections';
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(s);
  }
  replace(section, h('option', { value: '' }, sections ? 'Choose a section…' : 'Sections could not be loaded'),
    [...groups].map(([notebook, list]) => h('optgroup', { label: notebook },
      list.map((s) => h('option', { value: s.id, selected: s.id === value.sectionId }, s.name)))));

  const layout = layoutFieldset(value.layout, field);
  const formError = h('p', { class: 'field-error banner error', id: 'form-error', role: 'alert', hidden: true });
  const save = h('button', { type: 'submit', class: 'primary' }, editing ? 'Save changes' : 'Create report');
  const heading = h('h2', { id: 'editor-title', tabindex: '-1' }, editing ? `Edit “${value.name}”` : 'New report');
  const form = h('form', { class: 'editor', 'aria-labelledby': 'editor-title', novalidate: true, dataset: { testid: 'editor' } },
    heading, formError,
    field('name', 'Name', name),
    h('fieldset', {}, h('legend', {}, 'Issues from'),
      h('div', { class: 'choices' }, h('label', {}, sourceJql, ' A JQL query'), h('label', {}, sourceFilter, ' A saved filter')),
      sourcePanels.jql, sourcePanels.filter),
    h('div', { class: 'field', dataset: { field: 'columns' } }, h('span', { class: 'label', id: 'columns-label' }, 'Columns'),
      h('p', { class: 'hint', id: 'columns-hint' }, 'In the order the page shows them.'), columnList,
      h('label', { for: 'columns', class: 'visually-hidden' }, 'Find a field to add'), addColumn, columnChoices,
      h('p', { class: 'field-error', id: 'columns-error', role: 'alert', hidden: true })),
    layout.element,
    field('sectionId', 'OneNote section', section),
    h('fieldset', {}, h('legend', {}, 'Schedule'), field('schedule', 'Runs', preset), timeFields, cronField,
      field('timeZone', 'Time zone', timeZone), zones),
    h('div', { class: 'actions' }, save, h('button', { type: 'button', onclick: onCancel }, 'Cancel')));

  sourceJql.addEventListener('change', syncSource);
  sourceFilter.addEventListener('change', () => { syncSource(); loadFilters(); });
  preset.addEventListener('change', syncSchedule);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const definition = { name: name.value.trim(), columns, sectionId: section.value, layout: layout.read() };
    if (sourceJql.checked) definition.jql = jql.value.trim(); else definition.filterId = filterId || '';
    const timeText = time.value.trim() || '09:00';
    const timeValid = /^([01][0-9]|2[0-3]):[0-5][0-9]$/.test(timeText);
    const cronText = cronOf({ preset: preset.value, time: timeValid ? timeText : '09:00', day: Number(day.value), custom: cron.value });
    definition.schedule = cronText ? { cron: cronText, timeZone: timeZone.value.trim() } : null;
    if (report) definition.enabled = report.enabled;
    const local = [];
    if (!definition.name) local.push(['name', 'Give the report a name.']);
    const nameLength = [...definition.name].length;  // code points, as the server counts
    if (nameLength > 200) local.push(['name', `A name has at most 200 characters; this one has ${nameLength}.`]);
    if (sourceJql.checked && !definition.jql) local.push(['jql', 'Write a JQL query.']);
    const jqlLength = [...(definition.jql || '')].length;
    if (jqlLength > 2000) local.push(['jql', `A query has at most 2,000 characters; this one has ${jqlLength}.`]);
    if (sourceFilter.checked && !definition.filterId) local.push(['filterId', 'Choose a saved filter.']);
    if (columns.length === 0) local.push(['columns', 'Choose at least one column.']);
    if (!timeValid && !['off', 'custom'].includes(preset.value)) local.push(['time', 'Write the time as HH:MM on the 24-hour clock, for example 14:30.']);
    if (!definition.sectionId) local.push(['sectionId', 'Choose a OneNote section.']);
    if (local.length) {
      local.map(([key, message]) => showError(form, key, message))[0]?.focus();
      return;
    }
    save.disabled = true;
    try {
      const saved = editing ? await api.update(report.id, definition) : await api.create(definition);
      onDone(saved);
    } catch (error) {
      // The server names the field first: `jql: …`, `layout.groupBy: …`, `schedule.timeZone: …`.
      const match = /^(?:layout\.|schedule\.)?(name|jql|filterId|columns|sectionId|schedule|timeZone|cron|groupBy|sumField)\b[^:]*: (.*)$/s.exec(error.message || '');
      let key = match ? match[1] : null;
      // A cron made from a preset is shown at "Runs": the cron field is hidden then.
      if (key === 'schedule' || key === 'cron') key = preset.value === 'custom' ? 'cron' : 'schedule';
      if (error.code === 'schedule_too_frequent') key = preset.value === 'custom' ? 'cron' : 'schedule';
      const message = match ? match[2] : explain(error);
      (showError(form, key || 'form', key ? message : explain(error)) || formError).focus?.();
      if (!key) formError.focus();
    } finally {
      save.disabled = false;
    }
  });

  replace(container, form);
  syncSource();
  syncSchedule();
  renderColumns();
  showChoices();
  loadChoices().then(nameCustomColumns);
  if (value.filterId) loadFilters();
  if (jqlError) showError(form, 'jql', 'Jira did not accept this JQL: ' + (jqlError.message || jqlError.code));
  (jqlError ? jql : heading).focus();
}
