// The Microsoft connection: status from /v1/me, connect in a new window (noticed by polling /v1/me
// with backoff), the reconnect banner, disconnect after a confirmation.
import { api } from './api.js';
import { router } from './bridge.js';
import { announce, confirmDialog, h, replace, sleep } from './dom.js';
import { explain, when } from './words.js';

export class Connection {
  constructor(container, onChange) {
    this.container = container;
    this.onChange = onChange;
    this.me = null;
    this.waiting = false;
  }

  get status() {
    return this.me ? this.me.microsoft.status : 'unknown';
  }

  async load() {
    replace(this.container, h('p', { class: 'muted' }, 'Checking your Microsoft connection…'));
    try {
      this.me = await api.me();
    } catch (error) {
      replace(this.container, h('div', { class: 'banner error', role: 'alert' }, 'Could not load your connection: ', explain(error),
        ' ', h('button', { type: 'button', onclick: () => this.load() }, 'Try again')));
      return;
    }
    this.render();
    this.onChange(this.status);
  }

  render(note) {
    const microsoft = this.me.microsoft;
    if (microsoft.status === 'active') {
      replace(this.container, h('div', { class: 'connection ok', dataset: { testid: 'connection' } },
        h('span', {}, 'OneNote: connected as ', h('strong', {}, microsoft.displayName || 'your Microsoft account'),
          microsoft.connectedAt ? ' since ' + when(microsoft.connectedAt) : ''),
        h('button', { type: 'button', class: 'subtle', onclick: () => this.confirmDisconnect() }, 'Disconnect')),
      this.pausedNote());
      return;
    }
    const reconnect = microsoft.status === 'reconnect_required';
    const waiting = this.waiting
      ? h('p', { class: 'muted', role: 'status' }, 'Waiting for you to finish in the new window… ',
        h('button', { type: 'button', class: 'subtle', onclick: () => this.check() }, 'I have finished'))
      : null;
    replace(this.container, h('div', {
      // Inside the "Microsoft connection" landmark already: a second region of that name would repeat it.
      class: 'banner ' + (reconnect ? 'warning' : 'info'), role: reconnect ? 'alert' : undefined,
      dataset: { testid: reconnect ? 'reconnect-banner' : 'connect-banner' },
    },
    h('p', {}, reconnect
      ? h('strong', {}, 'Reconnect Microsoft. ') : h('strong', {}, 'Connect Microsoft to write reports to OneNote. '),
    reconnect
      ? (microsoft.reason ? explain({ code: microsoft.reason }) : 'Microsoft no longer accepts the app’s sign-in for '
        + (microsoft.displayName || 'your account') + ' (consent withdrawn, password changed or an admin revoked it). Your reports are kept; they run again once you reconnect.')
      : 'You sign in with Microsoft in a new window and confirm the account.'),
    reconnect && this.refusal
      ? h('p', { dataset: { testid: 'reconnect-reason' } }, 'A run found this on ', when(this.refusal.at), ': “', this.refusal.message, '”')
      : null,
    note ? h('p', { class: 'field-error', role: 'alert' }, note) : null,
    h('button', { type: 'button', class: 'primary', onclick: () => this.connect(), disabled: this.waiting },
      reconnect ? 'Reconnect Microsoft' : 'Connect Microsoft'),
    waiting), this.pausedNote());
  }

  /** A site admin paused every schedule of the site: say so, or people wonder why pages went stale. */
  pausedNote() {
    if (!this.me.schedulesPaused) return null;
    return h('p', { class: 'banner warning', dataset: { testid: 'schedules-paused' } },
      'A Jira administrator paused scheduled runs on this site: reports refresh only when you press Run now, until scheduled runs are turned back on.');
  }

  /** The latest run that failed for want of a Microsoft sign-in: when, and the service's message. */
  noteRefusal(run) {
    if (this.status !== 'reconnect_required' || !run || !run.error || run.error.code !== 'reconnect_required') return;
    if (this.refusal && new Date(this.refusal.at) >= new Date(run.finishedAt)) return;
    this.refusal = { at: run.finishedAt, message: run.error.message };
    if (!this.waiting) this.render();
  }

  async connect() {
    let start;
    try {
      start = await api.connect();
      await router.open(start.startUrl);
    } catch (error) {
      this.render(error.code ? explain(error) : 'The connect window was not opened.');
      return;
    }
    this.waiting = true;
    this.render();
    announce('Waiting for you to finish connecting Microsoft in the new window');
    // The start URL works for 2 minutes; the flow itself may take longer, so watch for 10.
    const deadline = Date.now() + 10 * 60 * 1000;
    let delay = 1000;
    while (this.waiting && Date.now() < deadline) {
      await sleep(delay);
      delay = Math.min(delay * 1.5, 5000);
      if (await this.check(true)) return;
    }
    this.waiting = false;
    this.render();
  }

  /** True once connected; `quiet` keeps the view unchanged while still waiting. */
  async check(quiet = false) {
    try {
      this.me = await api.me();
    } catch {
      return false;
    }
    if (this.status === 'active') {
      this.waiting = false;
      this.render();
      announce('Microsoft connected');
      this.onChange(this.status);
      return true;
    }
    if (!quiet) this.render();
    return false;
  }

  async confirmDisconnect() {
    const confirmed = await confirmDialog({
      title: 'Disconnect Microsoft?',
      text: 'Your reports are kept, but none can run until you connect again. The app forgets your Microsoft sign-in.',
      action: 'Disconnect',
    });
    if (!confirmed) return;
    try {
      await api.disconnect();
    } catch (error) {
      this.render(explain(error));
      return;
    }
    announce('Microsoft disconnected');
    await this.load();
  }
}
