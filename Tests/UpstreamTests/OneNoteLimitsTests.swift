import Microsoft
import ReportsSupport
import Testing

/// OneNote's per-user limits are the destination's configuration, read where the limiter is built.
@Suite("OneNote limits")
struct OneNoteLimitsTests {
    @Test func microsoftsNumbersUnlessLoweredForASandbox() throws {
        #expect(try OneNoteLimits(environment: [:]) == OneNoteLimits())
        #expect(OneNoteLimits().perMinute == 120 && OneNoteLimits().perHour == 400)
        let lowered = try OneNoteLimits(
            environment: ["REPORTS_ONENOTE_PER_MINUTE": "12", "REPORTS_ONENOTE_PER_HOUR": "40"])
        #expect(lowered.perMinute == 12 && lowered.perHour == 40)
    }

    @Test func aValueAboveMicrosoftsLimitNamesTheVariableNotTheValue() {
        for (variable, value) in [("REPORTS_ONENOTE_PER_MINUTE", "121"), ("REPORTS_ONENOTE_PER_HOUR", "4000x")] {
            let error = #expect(throws: ConfigurationError.self) {
                try OneNoteLimits(environment: [variable: value])
            }
            #expect(error?.variable == variable)
            #expect(error?.description.contains(value) == false, "the value is never printed")
        }
    }
}
