import Crypto
import Foundation

/// The Jira stand-in's page and scripts (JiraHostRoutes.swift). Plain text so the sandbox stays one
/// binary; the UI itself lives in deploy/forge/static/reports and is served from disk.
enum JiraHostPage {
    static func host(
        accounts: [SeedData.Account], selected: String, module: AtlassianRoutes.UIModule, uiOrigin: String
    ) -> String {
        let admin = module == .admin
        // Jira's own words for where each module lives: the Apps menu, and Manage apps → Configure.
        let place = admin ? "Jira settings · Apps · OneNote Reports — Configure" : "Apps · OneNote Reports"
        let other =
            admin
            ? "<a href=\"/jira/app?account=\(escape(selected))\">Open the app</a>"
            : "<a href=\"/jira/app?account=\(escape(selected))&amp;page=admin\">Manage apps → Configure</a>"
        let options = accounts.map { account in
            let mark = account.accountId == selected ? " selected" : ""
            return "<option value=\"\(escape(account.accountId))\"\(mark)>\(escape(account.displayName))</option>"
        }.joined()
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Jira (sandbox) — OneNote Reports</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>
              body { margin: 0; font-family: system-ui, sans-serif; background: #f7f8f9; }
              header { display: flex; gap: 1em; align-items: center; padding: .5em 1em; background: #1d2125; color: #fff; }
              header h1 { font-size: 1em; margin: 0 auto 0 0; } header a { color: #9fc3ff; }
              main { padding: 1em; }
              iframe { width: 100%; height: calc(100vh - 5em); border: 0; background: #fff; }
              dialog { max-width: 32em; } dialog code { word-break: break-all; }
            </style></head>
            <body>
            <header><h1>Jira (sandbox stand-in) · \(place)</h1> \(other)
              <label>Signed in as <select id="account" data-testid="account">\(options)</select></label>
              <label>Theme <select id="theme"><option value="light">Light</option><option value="dark">Dark</option></select></label>
            </header>
            <main><iframe id="app" title="\(admin ? "OneNote Reports settings" : "OneNote Reports")"
              data-ui-origin="\(escape(uiOrigin))" data-module="\(module.rawValue)"
              sandbox="allow-downloads allow-forms allow-modals allow-pointer-lock allow-same-origin allow-scripts"
              src="\(escape(uiOrigin))/jira/ui/\(admin ? "admin.html" : "index.html")"></iframe></main>
            <dialog id="leave"><p>This app wants to open a page outside Jira:</p><p><code id="leave-url"></code></p>
              <form method="dialog"><button value="cancel">Cancel</button> <button value="open" id="leave-open">Open</button></form></dialog>
            <script src="/jira/host.js"></script>
            </body></html>
            """
    }

    /// The host side of the bridge: it takes the UI's messages (only from the iframe, only from the
    /// UI's origin), asks this sandbox to carry out each call, and answers with the result alone.
    static func hostScript(uiOrigin: String) -> String {
        """
        "use strict";
        const uiOrigin = \(jsonString(uiOrigin));
        const frame = document.getElementById("app");
        const account = document.getElementById("account");
        account.addEventListener("change", () => {
          location.search = "?account=" + encodeURIComponent(account.value) + (frame.dataset.module === "admin" ? "&page=admin" : "");
        });
        const theme = document.getElementById("theme");
        theme.addEventListener("change", () => post({ type: "forge-bridge-theme", colorMode: theme.value }));
        function post(message) { frame.contentWindow.postMessage(message, uiOrigin); }
        function openOutside(url) {
          // Only a URL on this page's own origin opens without asking: "//host/…" and "/\\host/…" are
          // other origins, so the URL is resolved before it is judged.
          let target;
          try { target = new URL(url, location.href); } catch { return Promise.reject(new Error("Not a URL")); }
          if (target.protocol !== "http:" && target.protocol !== "https:") {
            return Promise.reject(new Error("Only web pages can be opened"));
          }
          if (target.origin === location.origin) { window.open(target.href, "_blank", "noopener"); return Promise.resolve(); }
          url = target.href;
          const dialog = document.getElementById("leave");
          document.getElementById("leave-url").textContent = url;
          return new Promise((resolve, reject) => {
            dialog.addEventListener("close", () => {
              if (dialog.returnValue === "open") { window.open(url, "_blank", "noopener"); resolve(); }
              else { reject(new Error("The user declined to open the link")); }
            }, { once: true });
            dialog.showModal();
          });
        }
        async function invoke(input) {
          const response = await fetch("/jira/invoke", {
            method: "POST", headers: { "content-type": "application/json" },
            body: JSON.stringify({ accountId: account.value, module: frame.dataset.module, input }) });
          const result = await response.json();
          if (!response.ok) throw new Error(result.error || "The bridge failed");
          if (result.rejected) throw new Error(result.rejected);
          return result;
        }
        window.addEventListener("message", async (event) => {
          if (event.origin !== uiOrigin || event.source !== frame.contentWindow) return;
          const message = event.data;
          if (!message || message.type !== "forge-bridge") return;
          if (message.call === "theme") { post({ type: "forge-bridge-theme", colorMode: theme.value }); return; }
          try {
            const value = message.call === "open" ? await openOutside(String(message.url)) : await invoke(message.input);
            post({ type: "forge-bridge-result", id: message.id, ok: true, value });
          } catch (error) {
            post({ type: "forge-bridge-result", id: message.id, ok: false, error: String(error.message || error) });
          }
        });
        """
    }

    /// The `@forge/bridge` double the UI imports through the import map: the same calls the UI makes
    /// of the real package (`invokeRemote`, `router.open`, `view.theme.enable`), over postMessage.
    static func bridgeDouble(hostOrigin: String) -> String {
        """
        const hostOrigin = \(jsonString(hostOrigin));
        const pending = new Map();
        let next = 0;
        window.addEventListener("message", (event) => {
          if (event.origin !== hostOrigin || event.source !== window.parent) return;
          const message = event.data || {};
          if (message.type === "forge-bridge-theme") {
            document.documentElement.dataset.colorMode = message.colorMode;
            return;
          }
          if (message.type !== "forge-bridge-result" || !pending.has(message.id)) return;
          const { resolve, reject } = pending.get(message.id);
          pending.delete(message.id);
          if (message.ok) resolve(message.value); else reject(new Error(message.error));
        });
        function call(name, fields) {
          return new Promise((resolve, reject) => {
            const id = ++next;
            pending.set(id, { resolve, reject });
            window.parent.postMessage({ type: "forge-bridge", id, call: name, ...fields }, hostOrigin);
          });
        }
        export function invokeRemote(input) {
          return call("invokeRemote", { input: JSON.parse(JSON.stringify(input)) });
        }
        export const router = {
          open: (url) => call("open", { url: String(url) }),
          navigate: (url) => call("open", { url: String(url) }),
        };
        export const view = {
          theme: { enable: () => { window.parent.postMessage({ type: "forge-bridge", call: "theme" }, hostOrigin); return Promise.resolve(); } },
        };
        """
    }

    static func importMap(bridgeURL: String) -> String {
        #"{"imports":{"@forge/bridge":"# + jsonString(bridgeURL) + "}}"
    }

    /// The host page's policy: its own script and the UI's frame, nothing else; no one may frame it (a
    /// page that framed it could drive the account switcher and the "leave Jira" prompt).
    static func hostPolicy(uiOrigin: String) -> String {
        "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; frame-src \(uiOrigin); "
            + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    }

    /// As strict as Forge's Custom UI policy, stricter in one way: `connect-src 'none'`, so the UI
    /// cannot reach any server but through the bridge.
    static func uiPolicy(importMap: String, hostOrigin: String) -> String {
        let hash = Data(SHA256.hash(data: Data(importMap.utf8))).base64EncodedString()
        return
            "default-src 'none'; script-src 'self' 'sha256-\(hash)'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors \(hostOrigin)"
    }

    /// A JavaScript string literal of `text` (origins and URLs: no control characters).
    private static func jsonString(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
