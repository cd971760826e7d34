// Calls to the backend through the bridge. invokeRemote resolves with {status, headers, body} for any
// status but 401, which rejects (docs/forge-ui.md). Errors carry the API's stable code.
import { invokeRemote } from './bridge.js';

export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export async function call(method, path, body) {
  let response;
  try {
    response = await invokeRemote(body === undefined ? { method, path } : { method, path, body });
  } catch (error) {
    throw new ApiError(0, 'bridge_failed', String(error && error.message ? error.message : error));
  }
  // An older bridge resolved with the body alone; a status-less answer is a success body.
  if (!response || typeof response.status !== 'number') return response || {};
  if (response.status >= 200 && response.status < 300) return response.body || {};
  const error = (response.body && response.body.error) || {};
  const retry = response.headers && (response.headers['retry-after'] || response.headers['Retry-After']);
  throw new ApiError(response.status, error.code || 'http_' + response.status,
    error.message || 'The service answered HTTP ' + response.status, retry ? Number(retry[0] || retry) : undefined);
}

export const api = {
  me: () => call('GET', '/v1/me'),
  connect: () => call('POST', '/v1/microsoft/connect'),
  disconnect: () => call('DELETE', '/v1/microsoft/connection'),
  sections: () => call('GET', '/v1/onenote/sections'),
  filters: (query) => call('GET', '/v1/jira/filters' + (query ? '?query=' + encodeURIComponent(query) : '')),
  fields: (query) => call('GET', '/v1/jira/fields' + (query ? '?query=' + encodeURIComponent(query) : '')),
  reports: () => call('GET', '/v1/reports'),
  report: (id) => call('GET', '/v1/reports/' + encodeURIComponent(id)),
  create: (definition) => call('POST', '/v1/reports', definition),
  update: (id, definition) => call('PUT', '/v1/reports/' + encodeURIComponent(id), definition),
  remove: (id) => call('DELETE', '/v1/reports/' + encodeURIComponent(id)),
  runNow: (id) => call('POST', '/v1/reports/' + encodeURIComponent(id) + '/runs'),
  runs: (id, limit = 20) => call('GET', '/v1/reports/' + encodeURIComponent(id) + '/runs?limit=' + limit),
  run: (id) => call('GET', '/v1/runs/' + encodeURIComponent(id)),
  // The admin page's calls: answered only from that page, for a Jira administrator.
  site: () => call('GET', '/v1/admin/site'),
  pauseSchedules: (paused) => call('PUT', '/v1/admin/site/schedules', { paused }),
  removeConnection: (accountId) => call('DELETE', '/v1/admin/users/' + encodeURIComponent(accountId) + '/microsoft-connection'),
};
