// The page's layout in the editor (docs/report-page.md): the summary at the top with an optional
// summed number field, what changed, groups, children under their parents, a Notes column. Sent as
// `layout`.
import { api } from './api.js';
import { h, replace } from './dom.js';
import { GROUPINGS } from './words.js';

export function layoutFieldset(layout, field) {
  const value = { summary: true, sumField: null, groupBy: 'none', parentChild: false, notesColumn: false, changes: true, ...(layout || {}) };
  const summary = h('input', { type: 'checkbox', id: 'summary', checked: value.summary !== false });
  const sumField = h('select', { id: 'sumField', 'aria-describedby': 'sumField-hint' });
  const groupBy = h('select', { id: 'groupBy' },
    GROUPINGS.map(([key, text]) => h('option', { value: key, selected: key === value.groupBy }, text)),
    GROUPINGS.some(([key]) => key === value.groupBy) ? null : h('option', { value: value.groupBy, selected: true }, value.groupBy));
  const parentChild = h('input', { type: 'checkbox', id: 'parentChild', checked: Boolean(value.parentChild) });
  const notesColumn = h('input', { type: 'checkbox', id: 'notesColumn', checked: Boolean(value.notesColumn) });
  const changes = h('input', { type: 'checkbox', id: 'changes', checked: value.changes !== false });

  function fillSums(fields) {
    const numbers = fields.filter((f) => f.type === 'number');
    if (value.sumField && !numbers.some((f) => f.id === value.sumField)) numbers.unshift({ id: value.sumField, name: value.sumField });
    replace(sumField, h('option', { value: '' }, 'Nothing'),
      numbers.map((f) => h('option', { value: f.id, selected: f.id === value.sumField }, f.name)));
  }
  fillSums([]);
  // The site's number fields (story points, estimates kept as numbers), as the user sees them.
  api.fields('').then((answer) => fillSums(answer.fields)).catch(() => { /* the chosen one stays */ });

  const element = h('fieldset', { class: 'layout' }, h('legend', {}, 'Page'),
    h('div', { class: 'check' }, summary, h('label', { for: 'summary' }, 'A summary at the top: issues by status category')),
    h('div', { class: 'check' }, changes, h('label', { for: 'changes' }, 'What changed since the last update, changed cells highlighted')),
    field('sumField', 'Add up', sumField, 'A number field summed overall, per status category and per group.'),
    field('groupBy', 'Group issues by', groupBy),
    h('div', { class: 'check' }, parentChild, h('label', { for: 'parentChild' }, 'List children under their parent')),
    h('div', { class: 'check' }, notesColumn, h('label', { for: 'notesColumn' }, 'A Notes column to type into in OneNote (kept on every refresh)')));

  return {
    element,
    read: () => ({
      summary: summary.checked, sumField: sumField.value || null, groupBy: groupBy.value,
      parentChild: parentChild.checked, notesColumn: notesColumn.checked, changes: changes.checked,
    }),
  };
}
