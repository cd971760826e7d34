"""The Custom UI in a real Chromium, against the sandbox's Jira stand-in page, a real
`enqueuer serve` and a real worker (Tests/ui/run.sh starts them). One user's day, in order: connect
Microsoft, a JQL report and a saved-filter report through the pickers, Run now, edit the columns and
rerun, the history, server validation at the field, an invalid JQL shown at the field, a revoked
Microsoft sign-in, deletion, narrow and dark. Throughout, no message the UI receives, nor its page or
storage, holds a FIT or token. Screenshots go to $UI_SCREENSHOTS."""

import json
import os
import re
import sys
import time
import traceback
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

SANDBOX = os.environ["UI_SANDBOX"]
BROWSER_ZONE = "America/New_York"
SHOTS = os.environ.get("UI_SCREENSHOTS", "demo-output/ui")
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.")
RECORDER = """
window.__seen = window.__seen || [];
if (!window.__recording) {
  window.__recording = true;
  window.addEventListener('message', (event) => window.__seen.push(JSON.stringify(event.data)));
}
"""


AXE_SCRIPT = None
AXE_FINDINGS = []  # (screen, rule, impact, count) of every finding below serious, listed at the end
AXE_SCREENS = set()


def axe_script():
    """axe-core 4 as axe-core-python bundles it (Tests/ui/run.sh installs it)."""
    global AXE_SCRIPT
    if AXE_SCRIPT is None:
        import axe_core_python
        with open(os.path.join(os.path.dirname(axe_core_python.__file__), "axe.min.js"), encoding="utf-8") as f:
            AXE_SCRIPT = f.read()
    return AXE_SCRIPT


def axe(driver, screen):
    """Runs axe-core on the document the driver is in (the app's frame, or a connect page): no
    critical or serious violation; the rest is listed at the end of the run."""
    AXE_SCREENS.add(screen)
    driver.execute_script(axe_script())
    version = driver.execute_script("return axe.version")
    assert version.startswith("4."), f"axe-core {version}, not 4"
    driver.set_script_timeout(60)
    results = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, { resultTypes: ['violations'] }).then((r) => done(r.violations), (e) => done(String(e)));")
    assert isinstance(results, list), f"axe failed on {screen}: {results}"
    blocking = [v for v in results if v["impact"] in ("critical", "serious")]
    for violation in results:
        if violation not in blocking:
            AXE_FINDINGS.append((screen, violation["id"], violation["impact"], len(violation["nodes"])))
    assert not blocking, f"axe on {screen}: " + "; ".join(
        f"{v['id']} ({v['impact']}, {len(v['nodes'])}×): {v['nodes'][0]['target']}" for v in blocking)


def sandbox(path, method="GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(SANDBOX + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


class UI:
    def __init__(self):
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
            options.add_argument(argument)
        # The browser sits in another zone than the reports' schedules (Europe/Berlin), so a time shown
        # in the browser's zone instead of the report's would read differently.
        service = webdriver.ChromeService("/usr/bin/chromedriver", env={**os.environ, "TZ": BROWSER_ZONE})
        self.driver = webdriver.Chrome(service=service, options=options)
        # A view re-renders as answers arrive: an element found a moment ago may be gone; look again.
        self.wait = WebDriverWait(self.driver, 30, ignored_exceptions=[StaleElementReferenceException])
        self.seen = []

    def open(self, account="sandbox-user-1"):
        self.collect()
        self.driver.switch_to.default_content()
        self.driver.get(f"{SANDBOX}/jira/app?account={account}")
        self.enter()
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#connection > *:not(.muted)"))

    def open_admin(self, account="sandbox-admin"):
        """The admin page, as Manage apps → OneNote Reports → Configure opens it."""
        self.collect()
        self.driver.switch_to.default_content()
        self.driver.get(f"{SANDBOX}/jira/app?account={account}&page=admin")
        self.enter()
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=schedules], [data-testid=admin-error]"))

    def enter(self):
        self.driver.switch_to.default_content()
        self.wait.until(EC.frame_to_be_available_and_switch_to_it((By.ID, "app")))
        self.driver.execute_script(RECORDER)

    def collect(self):
        """Everything the UI's frame received and holds, kept for the token check."""
        try:
            self.driver.switch_to.default_content()
            self.driver.switch_to.frame("app")
            self.seen += self.driver.execute_script("return window.__seen || []")
            self.seen.append(self.driver.execute_script(
                "return document.documentElement.outerHTML + JSON.stringify(localStorage) + "
                "JSON.stringify(sessionStorage) + document.cookie"))
        except Exception:
            pass

    def field_error(self, field):
        """The error shown at a field of the editor, once it shows (the server's answer comes later)."""
        return self.wait.until(lambda d: (lambda e: e if e.is_displayed() else None)(d.find_element(By.ID, f"{field}-error")))

    def text_of(self, selector):
        """An element's text, read in one script once it exists (the banner redraws as runs load)."""
        return self.wait.until(lambda d: d.execute_script(
            "const e = document.querySelector(arguments[0]); return e && e.innerText", selector))

    def focused(self):
        return self.driver.execute_script("return document.activeElement && document.activeElement.id")

    def css(self, selector, root=None):
        return self.wait.until(lambda d: (root or d).find_element(By.CSS_SELECTOR, selector))

    def button(self, text, root=None):
        xpath = f".//button[normalize-space()='{text}']"
        return self.wait.until(lambda d: next((b for b in (root or d).find_elements(By.XPATH, xpath) if b.is_displayed()), None))

    def text_appears(self, text, timeout=30):
        # Read in one script: the page may be redrawing while WebDriver walks it element by element.
        WebDriverWait(self.driver, timeout).until(lambda d: text in d.execute_script("return document.body.innerText"))

    def shot(self, name):
        os.makedirs(SHOTS, exist_ok=True)
        self.driver.switch_to.default_content()
        self.driver.save_screenshot(os.path.join(SHOTS, name))
        self.enter()

    def theme(self, mode):
        """Jira's theme switch on the host page; the app follows through the bridge."""
        self.driver.switch_to.default_content()
        Select(self.driver.find_element(By.ID, "theme")).select_by_value(mode)
        self.enter()
        self.wait.until(lambda d: d.execute_script("return document.documentElement.dataset.colorMode") == mode)

    def dark_shot(self, name, screen):
        """The screen as it is now, dark too: a screenshot and axe, then light again."""
        self.theme("dark")
        self.whole_shot(name)
        axe(self.driver, screen + ", dark")
        self.theme("light")

    def whole_shot(self, name):
        """A screenshot of the whole view, however long (the window grows to fit, then returns)."""
        width, height = self.driver.get_window_size()["width"], self.driver.get_window_size()["height"]
        needed = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(width, min(max(height, needed + 160), 4000))
        self.shot(name)
        self.driver.set_window_size(width, height)

    def report(self, name):
        return self.wait.until(lambda d: d.execute_script(
            "return [...document.querySelectorAll('[data-testid=report]')]"
            ".find((r) => r.querySelector('h3').textContent === arguments[0]) || null", name))

    def run_now(self, name, timeout=60):
        """Presses Run now on a report and waits for the run to end; returns (status, row)."""
        self.button("Run now", self.report(name)).click()
        end = time.time() + timeout
        while time.time() < end:
            # The status is redrawn at every poll of the run: read it in one script.
            status, refused = self.driver.execute_script(
                "const row = [...document.querySelectorAll('[data-testid=report]')]"
                ".find((r) => r.querySelector('h3').textContent === arguments[0]);"
                "if (!row) return ['', false];"
                "const status = row.querySelector('[data-testid=run-status]');"
                "const button = [...row.querySelectorAll('button')].find((b) => b.textContent === 'Run now');"
                "return [status && !button.disabled ? status.textContent.toLowerCase() : '',"
                " Boolean(row.querySelector('[data-testid=run-refused]'))];", name)
            if status in ("done", "failed"):
                return status, self.report(name)
            if refused:
                return "refused", self.report(name)
            time.sleep(0.2)
        raise AssertionError(f"the run of {name} did not end within {timeout} s")

    def type_into(self, selector, text):
        field = self.css(selector)
        field.clear()
        field.send_keys(text)

    def fill_report(self, name, jql=None, filter_search=None, filter_name=None):
        self.type_into("#name", name)
        if jql is not None:
            self.css("#source-jql").click()
            self.type_into("#jql", jql)
        else:
            self.css("#source-filter").click()
            self.css("#filter").send_keys(filter_search)

            # The list is drawn again when the search's answer arrives: a radio found in the first
            # drawing may be gone by the click. The choice is kept across drawings, so try until it sticks.
            def choose(d):
                try:
                    option = next(
                        (o for o in d.find_elements(By.CSS_SELECTOR, ".filter-option") if filter_name in o.text), None)
                    if option is None:
                        return False
                    radio = option.find_element(By.TAG_NAME, "input")
                    if not radio.is_selected():
                        radio.click()
                    return radio.is_selected()
                except StaleElementReferenceException:
                    return False
            self.wait.until(choose)
        Select(self.css("#sectionId")).select_by_index(1)


def check(title, step):
    print(f"- {title} … ", end="", flush=True)
    step()
    print("ok", flush=True)


def main():
    ui = UI()
    driver = ui.driver
    try:
        # The stack requires a licence (REPORTS_REQUIRE_LICENSE=1, Tests/ui/run.sh): the site's is active
        # until the licensing step says otherwise.
        sandbox("/sandbox/license", "POST", {"state": "active"})
        ui.open()

        def empty_and_not_connected():
            ui.css("[data-testid=connect-banner]")
            ui.text_appears("No reports yet")
            assert not ui.button("New report").is_enabled(), "New report must wait for a connection"
            axe(driver, "the list, empty, before connecting")
        check("a new user sees the connect banner and the empty state", empty_and_not_connected)

        def connect(label="Connect Microsoft"):
            main_window = driver.current_window_handle
            ui.button(label).click()
            driver.switch_to.default_content()
            ui.css("#leave[open]")  # Jira asks before opening a page outside it
            ui.css("#leave-open").click()
            ui.wait.until(lambda d: len(d.window_handles) == 2)
            driver.switch_to.window(next(h for h in driver.window_handles if h != main_window))
            ui.text_appears("Connect Microsoft OneNote to Jira?")
            ui.text_appears("Sandbox User One")  # whose Jira account, by name
            # Styled as the app is: Connect is the one primary action, Cancel a quiet one.
            style = driver.execute_script("""
              const [connect, cancel] = [...document.querySelectorAll('button')];
              const css = (e) => getComputedStyle(e);
              return { connect: css(connect).backgroundColor, cancel: css(cancel).backgroundColor,
                       text: css(connect).color, body: css(document.body).backgroundColor,
                       main: css(document.querySelector('main')).borderTopStyle };
            """)
            assert style["connect"] != style["cancel"], style
            assert style["connect"] not in ("rgb(239, 239, 239)", "rgb(240, 240, 240)", "buttonface"), style
            assert style["main"] == "solid" and style["body"] != "rgba(0, 0, 0, 0)", style
            os.makedirs(SHOTS, exist_ok=True)
            driver.save_screenshot(os.path.join(SHOTS, "connect-confirmation.png"))  # a page of its own, no frame
            axe(driver, "the connect confirmation page")
            # A page of the service's own: it follows the system's dark mode.
            driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
            assert driver.execute_script("return getComputedStyle(document.body).backgroundColor") != style["body"]
            driver.save_screenshot(os.path.join(SHOTS, "connect-confirmation-dark.png"))
            axe(driver, "the connect confirmation page, dark")
            driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
            ui.button("Connect").click()
            ui.text_appears("Connected")
            axe(driver, "the connect result page")
            driver.close()
            driver.switch_to.window(main_window)
            ui.enter()
            ui.wait.until(lambda d: "connected as" in d.find_element(By.CSS_SELECTOR, "[data-testid=connection]").text)
        check("connect Microsoft in a new window; the page notices by itself", connect)

        pages_before = len(sandbox("/sandbox/pages"))

        def create_jql_report():
            ui.button("New report").click()
            ui.fill_report("OPS status", jql="project = OPS ORDER BY key")
            Select(ui.css("#schedule")).select_by_value("weekdays")
            ui.type_into("#timeZone", "Europe/Berlin")
            # The page options: each checkbox beside its words, not stretched across the form.
            placement = driver.execute_script("""
              return ['summary', 'changes', 'parentChild', 'notesColumn'].map((id) => {
                const box = document.getElementById(id).getBoundingClientRect();
                const label = document.querySelector(`label[for=${id}]`).getBoundingClientRect();
                return box.width < 30 && label.left - box.right >= 0 && label.left - box.right < 20
                  && box.top < label.bottom && box.bottom > label.top;
              });""")
            assert all(placement), placement
            driver.execute_script("window.scrollTo(0, 0)")
            ui.whole_shot("editor.png")
            # The time is written on the 24-hour clock, whatever the browser's locale.
            assert ui.css("#time").get_attribute("type") == "text" and ui.css("#time").get_attribute("value") == "09:00"
            ui.type_into("#time", "9 am")
            ui.button("Create report").click()
            assert "24-hour" in ui.field_error("time").text
            ui.type_into("#time", "09:00")
            axe(driver, "the editor, a JQL report")
            ui.button("Create report").click()
            schedule = ui.report("OPS status").find_element(By.CSS_SELECTOR, "[data-testid=schedule]")
            assert schedule.text == "Weekdays at 09:00, Europe/Berlin", schedule.text
            # The next run in the schedule's zone, named, on the schedule's 24-hour clock.
            next_run = ui.report("OPS status").find_element(By.CSS_SELECTOR, "[data-testid=next-run]").text
            assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2}( \d{4})?, 09:00 Europe/Berlin", next_run), next_run
            assert driver.execute_script("return Intl.DateTimeFormat().resolvedOptions().timeZone") == BROWSER_ZONE
        check("create a JQL report with a weekday schedule", create_jql_report)

        def run_jql_report():
            status, row = ui.run_now("OPS status")
            assert status == "done", row.text
            count = int(row.find_element(By.CSS_SELECTOR, "[data-testid=issue-count]").text.split()[0])
            assert count > 0, row.text
            assert row.find_element(By.LINK_TEXT, "Open in OneNote").get_attribute("href").startswith("http")
            assert len(sandbox("/sandbox/pages")) == pages_before + 1
            # One clock and named zones everywhere; one link per card to its page.
            ui.open()
            card = ui.report("OPS status")
            ui.wait.until(lambda d: card.find_elements(By.LINK_TEXT, "Open in OneNote"))
            text = ui.css("body").text
            assert not re.search(r"\b\d{1,2}:\d{2}\s?(AM|PM|am|pm)\b", text), text
            done = card.find_element(By.CSS_SELECTOR, ".run-summary").text
            assert "Europe/Berlin" in done, done
            hrefs = [a.get_attribute("href") for a in card.find_elements(By.CSS_SELECTOR, "a[href]")]
            assert len(hrefs) == len(set(hrefs)) == 1, hrefs
            axe(driver, "the list with a report run")
            ui.shot("list.png")
        check("Run now: queued → running → done, with the issue count and the page link", run_jql_report)

        def filter_report():
            ui.button("New report").click()
            ui.fill_report("All OPS (filter)", filter_search="OPS", filter_name="All OPS issues")
            # Each option: the radio beside the filter's name, its JQL on a line of its own below the name.
            layout = driver.execute_script("""
              const option = [...document.querySelectorAll('.filter-option')].find((o) => o.textContent.includes('All OPS issues'));
              const [radio, name, jql] = [option.querySelector('input'), option.querySelector('span'), option.querySelector('code')];
              const r = (e) => e.getBoundingClientRect();
              return { radioBesideName: r(radio).right <= r(name).left && r(radio).bottom > r(name).top && r(radio).top < r(name).bottom,
                       jqlBelowName: r(jql).top >= r(name).bottom - 1, jqlUnderName: Math.abs(r(jql).left - r(name).left) <= 1 };
            """)
            assert all(layout.values()), layout
            axe(driver, "the editor, a saved-filter report")
            ui.button("Create report").click()
            status, row = ui.run_now("All OPS (filter)")
            assert status == "done", row.text
            ui.wait.until(lambda d: "Saved filter “All OPS issues”" in ui.report("All OPS (filter)").text)
        check("create a saved-filter report through the searchable picker and run it", filter_report)

        def edit_columns():
            ui.button("Edit", ui.report("OPS status")).click()
            ui.css("[aria-label='Remove Assignee']").click()
            # The picker searches the site's fields: typing finds Priority, and only choosing it adds it;
            # typing, the arrow keys and Enter in the search add nothing.
            from selenium.webdriver.common.keys import Keys
            before = ui.css("ol.columns").text
            ui.css("#columns").send_keys("Pr")
            ui.css("[aria-label='Add Priority']")
            ui.css("#columns").send_keys("io", Keys.ARROW_DOWN, Keys.ARROW_DOWN, Keys.ARROW_DOWN, Keys.ARROW_UP, Keys.ENTER)
            ui.css("[aria-label='Add Priority']")
            assert ui.css("ol.columns").text == before, "a column was added without being chosen"
            ui.css("[aria-label='Add Priority']").send_keys(Keys.ENTER)  # an explicit choice, by keyboard
            ui.css("[aria-label='Move Priority up']")
            ui.css("[aria-label='Move Priority up']").click()
            # A custom field, found by its name on the site, its type named beside it.
            ui.css("#columns").clear()
            ui.css("#columns").send_keys("story")
            choice = ui.css("[aria-label='Add Story points']")
            assert "number" in choice.text, choice.text
            choice.click()
            ui.wait.until(lambda d: "Story points" in ui.css("ol.columns").text)
            ui.button("Save changes").click()
            ui.text_appears("Saved “OPS status”.")
            status, row = ui.run_now("OPS status")
            assert status == "done", row.text
            page = next(p for p in sandbox("/sandbox/pages") if p["title"].startswith("OPS status"))
            # The renderer's header row: bold cells on a grey background (OneNote has no <th>).
            headers = re.findall(r"<td[^>]*><b>(.*?)</b></td>", page["html"])
            assert "Priority" in headers and "Assignee" not in headers, headers
            assert "Story points" in headers, headers
            assert headers.index("Priority") < headers.index("Updated"), headers
            # Opened again, the editor names the custom column by the site's name, not its id.
            ui.button("Edit", ui.report("OPS status")).click()
            ui.wait.until(lambda d: "Story points" in ui.css("ol.columns").text)
            assert "customfield_" not in ui.css("ol.columns").text
            ui.button("Cancel").click()
        check("edit the columns (remove, add, reorder) and rerun: the page follows", edit_columns)

        def history():
            ui.button("History", ui.report("OPS status")).click()
            table = ui.css("[data-testid=run-history]")
            assert len(table.find_elements(By.CSS_SELECTOR, "tbody tr")) == 2
            ui.shot("history.png")
            axe(driver, "the run history")
            ui.button("← All reports").click()
        check("the run history lists both runs", history)

        def server_validation():
            ui.button("New report").click()
            ui.fill_report("Too often", jql="project = OPS")
            Select(ui.css("#schedule")).select_by_value("custom")
            ui.type_into("#cron", "* * * * *")
            ui.button("Create report").click()
            error = ui.field_error("cron")
            assert error.text, "the server's refusal is shown at the cron field"
            assert ui.css("#cron").get_attribute("aria-invalid") == "true"
            ui.button("Cancel").click()
        check("a schedule the server refuses is shown at its field", server_validation)

        def long_name():
            ui.button("New report").click()
            ui.fill_report("x" * 180 + " and a few words more than fit" * 4, jql="project = OPS")
            typed = ui.css("#name").get_attribute("value")
            assert len(typed) == 300, f"the name was cut to {len(typed)} characters while typed"
            ui.button("Create report").click()
            error = ui.css("#name-error")
            assert error.is_displayed() and error.text == "A name has at most 200 characters; this one has 300.", error.text
            axe(driver, "the editor showing a refused field")
            assert ui.focused() == "name"
            assert "Unicode" not in error.text
            ui.button("Cancel").click()
        check("a name over 200 characters is refused with its length, never cut", long_name)

        def refused_time_zone():
            ui.button("New report").click()
            ui.fill_report("Zoned", jql="project = OPS")
            Select(ui.css("#schedule")).select_by_value("weekdays")
            ui.type_into("#timeZone", "Mars/Olympus_Mons")
            ui.button("Create report").click()
            error = ui.field_error("timeZone")
            assert "time zone" in error.text, error.text
            assert ui.css("#timeZone").get_attribute("aria-invalid") == "true"
            assert not ui.css("#schedule-error").is_displayed() and not ui.css("#cron-error").is_displayed()
            assert ui.focused() == "timeZone", "focus goes to the Time zone field"
            ui.button("Cancel").click()
        check("a time zone the server refuses is shown at the Time zone field", refused_time_zone)

        def invalid_jql():
            ui.button("New report").click()
            ui.fill_report("Broken query", jql="project = NOPE")
            ui.button("Create report").click()
            error = ui.field_error("jql")
            assert error.text == "The value 'NOPE' does not exist for the field 'project'.", error.text
            assert ui.css("#jql").get_attribute("aria-invalid") == "true"
            assert ui.focused() == "jql", "focus goes to the field"
            # Jira stops accepting a saved query (a project deleted since): the run fails, and the
            # editor shows Jira's reason once at the JQL field.
            ui.type_into("#jql", "project = OPS")
            ui.button("Create report").click()
            ui.report("Broken query")
            sandbox("/sandbox/faults", "POST", {"route": "/ex/jira/*/search/jql", "status": 400, "count": 1})
            status, row = ui.run_now("Broken query")
            assert status == "failed", row.text
            assert row.find_element(By.CSS_SELECTOR, "[data-testid=run-error]").get_attribute("data-code") == "invalid_jql"
            ui.button("Fix the JQL", ui.report("Broken query")).click()
            error = ui.css("#jql-error")
            assert error.is_displayed() and error.text == "Jira did not accept this JQL: Injected fault: HTTP 400.", error.text
            assert ui.css("#jql").get_attribute("aria-invalid") == "true"
            assert ui.focused() == "jql", "focus goes to the field"
            ui.button("Cancel").click()
        check("a JQL Jira refuses is shown at the JQL field when saved, and when a run fails on it", invalid_jql)

        def reconnect():
            sandbox("/sandbox/revoke", "POST", {})
            status, row = ui.run_now("All OPS (filter)", timeout=90)
            assert status == "failed", row.text
            ui.open()
            banner = ui.text_of("[data-testid=reconnect-banner]")
            assert "Reconnect Microsoft" in banner, banner
            reason = ui.text_of("[data-testid=reconnect-reason]")
            assert reason.startswith("A run found this on") and len(reason) > 40, reason
            ui.shot("reconnect.png")
            axe(driver, "the list with the reconnect banner")
            ui.dark_shot("reconnect-dark.png", "the list with the reconnect banner")
            connect("Reconnect Microsoft")
            assert not driver.find_elements(By.CSS_SELECTOR, "[data-testid=reconnect-banner]")
            # Connected again, the page loads the sections and redraws the list with their names.
            ui.wait.until(lambda d: "A OneNote section" not in d.execute_script("return document.body.innerText"))
            status, row = ui.run_now("All OPS (filter)")
            assert status == "done", (status, driver.execute_script("return arguments[0].innerText", row))
        check("a revoked Microsoft sign-in shows the reconnect banner; reconnecting runs again", reconnect)

        def delete():
            ui.button("Delete", ui.report("Broken query")).click()
            ui.css("dialog[open]")
            axe(driver, "the delete confirmation")
            ui.button("Delete report").click()
            ui.text_appears("Deleted “Broken query”.")
            names = driver.execute_script(
                "return [...document.querySelectorAll('[data-testid=report] h3')].map((h) => h.textContent)")
            assert "Broken query" not in names, names
        check("delete a report after confirming", delete)

        def licence_inactive():
            # Atlassian says the site's licence is no longer active: Run now is refused, and the card
            # says why and what to do; once active again, it runs.
            sandbox("/sandbox/license", "POST", {"state": "inactive"})
            status, row = ui.run_now("OPS status")
            assert status == "refused", row.text
            refusal = row.find_element(By.CSS_SELECTOR, "[data-testid=run-refused]")
            assert refusal.get_attribute("data-code") == "license_inactive"
            assert "licence" in refusal.text and "admin" in refusal.text, refusal.text
            ui.shot("licence-inactive.png")
            axe(driver, "the list with a refused Run now")
            ui.dark_shot("licence-inactive-dark.png", "the list with a refused Run now")
            sandbox("/sandbox/license", "POST", {"state": "active"})
            ui.open()
            status, row = ui.run_now("OPS status")
            assert status == "done", row.text
        check("a site whose licence is not active: Run now is refused with what to do", licence_inactive)

        def loads_side_by_side():
            # Every call of the app to its service takes 1.5 s: the connection, the reports and the
            # sections are asked for at once (about one delay, not three), and the list's place shows
            # placeholder cards meanwhile, never an empty area.
            sandbox("/sandbox/faults", "POST", {"route": "/jira/invoke", "latencyMs": 1500, "count": 6, "method": "POST"})
            started = time.monotonic()
            driver.switch_to.default_content()
            driver.get(f"{SANDBOX}/jira/app?account=sandbox-user-1")
            ui.enter()
            loading = ui.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=loading] .skeleton-card"))
            assert loading and time.monotonic() - started < 1.5, "placeholders show before any answer"
            axe(driver, "the list while loading")
            ui.report("OPS status")
            ui.wait.until(lambda d: "›" in ui.report("OPS status").text)  # the section's name, once known
            elapsed = time.monotonic() - started
            assert elapsed < 4.0, f"the list took {elapsed:.1f} s with 1.5 s per call: the calls were made one after another"
            assert not driver.find_elements(By.CSS_SELECTOR, "[data-testid=loading]")
            sandbox("/sandbox/faults", "DELETE")
            ui.open()
        check("the connection, reports and sections load side by side, with placeholders meanwhile", loads_side_by_side)

        def narrow_and_dark():
            # Dark at full width first: the list, the editor and the history, each checked by axe.
            driver.switch_to.default_content()
            Select(ui.css("#theme")).select_by_value("dark")
            ui.enter()
            ui.wait.until(lambda d: d.execute_script("return document.documentElement.dataset.colorMode") == "dark")
            ui.report("OPS status")
            ui.whole_shot("list-dark.png")
            ui.button("Edit", ui.report("OPS status")).click()
            ui.css("#name")
            ui.whole_shot("editor-dark.png")
            axe(driver, "the editor, dark")
            ui.button("Cancel").click()
            ui.button("History", ui.report("OPS status")).click()
            ui.css("[data-testid=run-history]")
            ui.shot("history-dark.png")
            axe(driver, "the run history, dark")
            ui.button("← All reports").click()
            driver.set_window_size(420, 900)
            overflow = driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"the page scrolls sideways by {overflow}px at Jira's narrow width"
            scheme = driver.execute_script("return getComputedStyle(document.documentElement).colorScheme")
            assert scheme == "dark", f"native controls and scrollbars stay light: color-scheme {scheme!r}"
            ui.shot("narrow-dark.png")
            axe(driver, "the list, dark and narrow")
            # The run history keeps each run together at this width: one block per run, each value
            # under its column's name, a line between runs only.
            ui.button("History", ui.report("OPS status")).click()
            ui.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=run-history] tbody tr"))
            layout = driver.execute_script("""
              const row = document.querySelector('[data-testid=run-history] tbody tr');
              const cells = [...row.children];
              return { label: getComputedStyle(cells[0], '::before').content,
                       cellLines: cells.map((c) => getComputedStyle(c).borderBottomWidth),
                       rowLine: getComputedStyle(row).borderBottomWidth,
                       inside: cells.every((c) => { const r = c.getBoundingClientRect(), o = row.getBoundingClientRect();
                                                   return r.top >= o.top - 1 && r.bottom <= o.bottom + 1; }) };
            """)
            assert layout["label"] == '"Queued"', layout
            assert layout["cellLines"] == ["0px", "0px", "0px"] and layout["rowLine"] == "1px" and layout["inside"], layout
            ui.shot("history-narrow-dark.png")
            axe(driver, "the run history, dark and narrow")
            # The same two screens, narrow and light.
            ui.theme("light")
            ui.shot("history-narrow.png")
            axe(driver, "the run history, narrow")
            ui.button("← All reports").click()
            ui.report("OPS status")
            ui.shot("narrow.png")
            axe(driver, "the list, narrow")
            driver.set_window_size(1280, 900)
        check("narrow and dark: no sideways scrolling, the theme follows Jira", narrow_and_dark)

        def accessible():
            problems = driver.execute_script("""
              const problems = [];
              for (const control of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
                const labelled = control.labels && control.labels.length || control.getAttribute('aria-label') || control.getAttribute('aria-labelledby');
                if (!labelled) problems.push('unlabelled ' + control.outerHTML.slice(0, 60));
              }
              for (const button of document.querySelectorAll('button')) {
                if (!(button.textContent.trim() || button.getAttribute('aria-label'))) problems.push('button without a name');
              }
              for (const element of document.querySelectorAll('[tabindex]')) {
                if (Number(element.getAttribute('tabindex')) > 0) problems.push('positive tabindex');
              }
              // Everything a person reads sits in a landmark (the connection line included).
              const landmarks = 'header, main, nav, aside, footer, section[aria-label], section[aria-labelledby], [role=region]';
              for (const element of document.querySelectorAll('.app > *')) {
                if (element.textContent.trim() && !element.closest(landmarks) && !element.classList.contains('visually-hidden'))
                  problems.push('outside any landmark: ' + (element.id || element.className));
              }
              return problems;""")
            assert not problems, problems
            ui.button("Edit", ui.report("OPS status")).click()
            ui.css("#name")
            problems = driver.execute_script("""
              return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute('aria-label')).map((c) => c.id);""")
            assert not problems, problems
            ui.button("Cancel").click()
        check("every control has a name; no positive tabindex", accessible)

        def keyboard():
            from selenium.webdriver.common.keys import Keys
            edit = ui.button("Edit", ui.report("OPS status"))
            driver.execute_script("arguments[0].focus()", edit)
            edit.send_keys(Keys.ENTER)
            ui.wait.until(lambda d: ui.focused() == "editor-title")
            driver.switch_to.active_element.send_keys(Keys.TAB)
            assert ui.focused() == "name", "Tab from the heading reaches Name"
            ui.button("Cancel").send_keys(Keys.ENTER)
            ui.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=reports]"))
        check("keyboard: a new view takes the focus to its heading; Tab follows the form", keyboard)

        def admin_page():
            # An ordinary user who finds the admin page gets a refusal, not the site's data.
            ui.open_admin("sandbox-user-1")
            assert "Only Jira administrators" in ui.text_of("[data-testid=admin-error]")
            assert not driver.find_elements(By.CSS_SELECTOR, "[data-testid=people]")
            ui.shot("admin-refused.png")
            axe(driver, "the admin page, refused")
            ui.dark_shot("admin-refused-dark.png", "the admin page, refused")
            ui.open_admin()
            person = ui.css("[data-account-id=sandbox-user-1]")
            assert person.find_element(By.TAG_NAME, "h3").text == "Sandbox User One", "named as Jira names them"
            assert person.find_element(By.CSS_SELECTOR, "[data-testid=microsoft]").text == "Connected"
            reports = [row.text for row in person.find_elements(By.CSS_SELECTOR, "[data-report-id]")]
            assert any("OPS status" in row and "Weekdays at" in row for row in reports), reports
            day = ui.text_of("[data-testid=runs-day]")
            assert re.search(r"\b[1-9]\d* runs? · [1-9]\d* succeeded · \d+ failed", day), day
            failures = [row.text for row in driver.find_elements(By.CSS_SELECTOR, "[data-testid=runs-week] tr[data-code]")]
            assert any(re.search(r"reconnect_required\s+[1-9]\d*$", row) for row in failures), failures
            quotas = ui.text_of("[data-testid=quotas]")
            assert "Reports per person" in quotas, quotas
            ui.whole_shot("admin.png")
            axe(driver, "the admin page")

            switch = ui.css("[data-testid=schedules-switch]")
            assert switch.get_attribute("aria-checked") == "true"
            switch.click()
            ui.css("dialog[open] button.danger")
            axe(driver, "the admin page, pausing every schedule")
            ui.css("dialog[open] button.danger").click()
            ui.wait.until(lambda d: "Paused since" in ui.text_of("[data-testid=schedules-state]"))
            assert ui.css("[data-testid=schedules-switch]").get_attribute("aria-checked") == "false"
            rows = [row.text for row in driver.find_elements(By.CSS_SELECTOR, "[data-account-id=sandbox-user-1] [data-report-id]")]
            assert any("OPS status" in row and "Paused" in row for row in rows), rows
            ui.open()
            assert "paused scheduled runs" in ui.text_of("[data-testid=schedules-paused]"), "the users are told"
            ui.open_admin()
            ui.css("[data-testid=schedules-switch]").click()  # turning them back on asks nothing
            ui.wait.until(lambda d: "on a schedule" in ui.text_of("[data-testid=schedules-state]"))

            ui.button("Remove Microsoft connection", ui.css("[data-account-id=sandbox-user-1]")).click()
            ui.button("Cancel").click()
            assert ui.text_of("[data-account-id=sandbox-user-1] [data-testid=microsoft]") == "Connected"
            ui.button("Remove Microsoft connection", ui.css("[data-account-id=sandbox-user-1]")).click()
            ui.css("dialog[open] button.danger").click()
            ui.wait.until(lambda d: ui.text_of("[data-account-id=sandbox-user-1] [data-testid=microsoft]") == "Not connected")
            driver.switch_to.default_content()
            Select(driver.find_element(By.ID, "theme")).select_by_value("dark")
            ui.enter()
            ui.wait.until(lambda d: d.execute_script("return document.documentElement.dataset.colorMode") == "dark")
            ui.whole_shot("admin-dark.png")
            axe(driver, "the admin page, dark")
            driver.switch_to.default_content()
            Select(driver.find_element(By.ID, "theme")).select_by_value("light")
            # The user finds the connect banner, connects again, and the admin page says so.
            ui.open()
            ui.css("[data-testid=connect-banner]")
            connect()
            ui.open_admin()
            assert ui.text_of("[data-account-id=sandbox-user-1] [data-testid=microsoft]") == "Connected"
            ui.open()
        check("the admin page: only for Jira administrators; runs, people, quotas; pause all schedules; remove a connection", admin_page)

        def disconnect():
            ui.button("Disconnect").click()
            ui.button("Cancel").click()  # the confirmation's first choice keeps the connection
            assert "connected as" in ui.text_of("[data-testid=connection]")
            ui.button("Disconnect").click()
            ui.css("dialog[open] button.danger")
            axe(driver, "the disconnect confirmation")
            ui.css("dialog[open] button.danger").click()
            ui.css("[data-testid=connect-banner]")
            ui.wait.until(lambda d: not ui.button("New report").is_enabled())
        check("disconnect asks first, then the connect banner returns", disconnect)

        def links_that_leave_always_ask():
            # The host page opened "//host/…" without asking (it starts with "/"); any URL that resolves
            # to another origin now goes through Jira's prompt, which shows where it leads.
            for link in ("//example.com/x", "/\\example.com/x", "https://example.com/x"):
                ui.enter()
                driver.execute_script(
                    "import('@forge/bridge').then((m) => m.router.open(arguments[0])).catch(() => {})", link)
                driver.switch_to.default_content()
                ui.css("#leave[open]")
                shown = driver.find_element(By.ID, "leave-url").text
                assert re.match(r"^https?://example\.com/x$", shown), (link, shown)
                ui.css("#leave button[value=cancel]").click()
                ui.wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "#leave[open]"))
            assert len(driver.window_handles) == 1, "nothing was opened"
            ui.enter()
        check("a link that leaves Jira always asks first, protocol-relative ones included", links_that_leave_always_ask)

        def no_tokens():
            ui.collect()
            leaks = [text[:80] for text in ui.seen if JWT.search(text)]
            assert ui.seen and not leaks, leaks
        check("the UI never saw a FIT or token (messages, page, storage)", no_tokens)
        print(f"axe-core 4 on {len(AXE_SCREENS)} screens: no critical or serious violation; "
              f"{len(AXE_FINDINGS)} moderate or minor finding(s)", flush=True)
        for screen, rule, impact, count in AXE_FINDINGS:
            print(f"  {impact:<8} {rule} ({count}×) on {screen}", flush=True)
    except Exception as error:  # any failure: say which step, keep a screenshot
        print("FAILED", flush=True)
        try:
            driver.switch_to.default_content()
            driver.save_screenshot(os.path.join(SHOTS, "failure.png"))
        except Exception:
            pass
        print(f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}", file=sys.stderr)
        print("".join(traceback.format_tb(error.__traceback__)[-6:]), file=sys.stderr)
        return 1
    finally:
        driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
