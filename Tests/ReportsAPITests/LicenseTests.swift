import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Reports
import ReportsSupport
import ReportsTesting
import TestSupport
import Testing

/// With `REPORTS_REQUIRE_LICENSE=1`, a site whose licence is not active cannot run reports: Run now
/// and any change that schedules runs answer 402 `license_inactive`; reading, editing without a
/// schedule, pausing and deleting stay open. Off by default, a token without a licence claim passes.
@Suite("Licensing")
struct LicenseTests {
    static let section = APIRouterTests.section

    static func body(schedule: Bool, enabled: Bool = true) -> ByteBuffer {
        let scheduled = schedule ? #","schedule":{"cron":"0 8 * * 1-5","timeZone":"Europe/Berlin"}"# : ""
        return ByteBuffer(
            string:
                #"{"name":"R","jql":"project = OPS","columns":["key"],"sectionId":"\#(section)","enabled":\#(enabled)\#(scheduled)}"#
        )
    }

    @Test func anInactiveLicenceRefusesRunsAndSchedulesButNotTheRest() async throws {
        try await APIHarness.run(license: LicensePolicy(required: true)) { harness in
            try await harness.test { client in
                let inactive = try await harness.editorHeaders(license: false)
                let active = try await harness.editorHeaders(license: true)
                let scheduled = try await client.execute(
                    uri: "/v1/reports", method: .post, headers: inactive, body: Self.body(schedule: true))
                #expect(scheduled.status.code == 402 && scheduled.errorCode == "license_inactive", "\(scheduled.text)")
                let plain = try await client.execute(
                    uri: "/v1/reports", method: .post, headers: inactive, body: Self.body(schedule: false))
                #expect(plain.status == .created, "a report without a schedule is saved: \(plain.text)")
                let id = try #require(plain.json["id"] as? String)
                let run = try await client.execute(uri: "/v1/reports/\(id)/runs", method: .post, headers: inactive)
                #expect(run.status.code == 402 && run.errorCode == "license_inactive", "\(run.text)")
                let unclaimed = try await client.execute(
                    uri: "/v1/reports/\(id)/runs", method: .post, headers: try await harness.editorHeaders())
                #expect(unclaimed.status.code == 402, "a token that says nothing proves no licence")
                let rescheduled = try await client.execute(
                    uri: "/v1/reports/\(id)", method: .put, headers: inactive, body: Self.body(schedule: true))
                #expect(rescheduled.status.code == 402, "\(rescheduled.text)")

                // Active: runs and schedules; then, inactive again, pausing and deleting still work.
                #expect(
                    try await client.execute(uri: "/v1/reports/\(id)/runs", method: .post, headers: active).status
                        == .accepted)
                let activated = try await client.execute(
                    uri: "/v1/reports/\(id)", method: .put, headers: active, body: Self.body(schedule: true))
                #expect(activated.status == .ok, "\(activated.text)")
                let kept = try await client.execute(
                    uri: "/v1/reports/\(id)", method: .put, headers: inactive, body: Self.body(schedule: true))
                #expect(kept.status == .ok, "the same schedule kept is not a change: \(kept.text)")
                let paused = try await client.execute(
                    uri: "/v1/reports/\(id)", method: .put, headers: inactive,
                    body: Self.body(schedule: true, enabled: false))
                #expect(paused.status == .ok, "\(paused.text)")
                let resumed = try await client.execute(
                    uri: "/v1/reports/\(id)", method: .put, headers: inactive, body: Self.body(schedule: true))
                #expect(resumed.status.code == 402, "resuming a paused schedule is a change")
                #expect(
                    try await client.execute(uri: "/v1/reports/\(id)", method: .delete, headers: inactive).status
                        == .noContent)
            }
        }
    }

    @Test func offByDefaultATokenWithoutALicencePasses() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let created = try await client.execute(
                    uri: "/v1/reports", method: .post, headers: try await harness.editorHeaders(),
                    body: Self.body(schedule: true))
                #expect(created.status == .created, "\(created.text)")
                let id = try #require(created.json["id"] as? String)
                let inactive = try await harness.editorHeaders(license: false)
                #expect(
                    try await client.execute(uri: "/v1/reports/\(id)/runs", method: .post, headers: inactive).status
                        == .accepted, "the requirement is off: the claim is not read")
            }
        }
    }

    @Test func theSettingIsReadAndABadValueNamesTheVariable() throws {
        #expect(try LicensePolicy(environment: [:]).required == false)
        #expect(try LicensePolicy(environment: ["REPORTS_REQUIRE_LICENSE": "1"]).required)
        #expect(throws: ConfigurationError.self) { try LicensePolicy(environment: ["REPORTS_REQUIRE_LICENSE": "yes"]) }
        do {
            _ = try LicensePolicy(environment: ["REPORTS_REQUIRE_LICENSE": "secret-looking-value"])
        } catch {
            #expect("\(error)".contains("REPORTS_REQUIRE_LICENSE") && !"\(error)".contains("secret-looking-value"))
        }
    }
}
