import HTTPTypes
import Reports
import Security

/// An inactive licence refuses Run now and schedule changes with 402 `license_inactive`
/// (`LicensePolicy`, docs/atlassian-apis.md §10); the app explains the code to the user.
enum LicenseCheck {
    static func requireRuns(_ services: APIServices, _ context: APIRequestContext) throws {
        guard !services.license.permitsRuns(licenseActive: context.identity?.licenseActive) else { return }
        throw APIError(
            HTTPResponse.Status(code: 402, reasonPhrase: "Payment Required"), "license_inactive",
            "the app's licence for this Jira site is not active; reports do not run until a site admin renews it")
    }
}
