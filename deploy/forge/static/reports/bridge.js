// The one door to the backend and the host. In production the deploy-time bundle (docs/forge-ui.md)
// resolves '@forge/bridge' to Atlassian's package; on this machine the sandbox's Jira stand-in maps it,
// with an import map, to its double. Nothing else in the UI may import '@forge/bridge'.
export { invokeRemote, router, view } from '@forge/bridge';
