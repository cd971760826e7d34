public import Foundation

extension OutboundResponse {
    /// `Retry-After`, read once for every client (four clients parsed it two ways, none the
    /// date form). RFC 9110 §10.2.3 (https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3) allows
    /// delay-seconds or an HTTP-date; Atlassian and Microsoft send seconds (docs/atlassian-apis.md §6,
    /// docs/microsoft-apis.md), and a decimal number is accepted as the Atlassian client always did. A
    /// date is measured from `now`; one in the past is no wait (zero). Garbage, negatives and waits over
    /// a day (a broken header must not park a job for weeks) are nil: the caller's own backoff applies.
    public func retryAfter(now: Date = Date()) -> Duration? {
        guard let value = header("Retry-After")?.trimmingCharacters(in: .whitespaces), !value.isEmpty else {
            return nil
        }
        let seconds: Double
        if value.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let number = Double(value) {
            seconds = number
        } else if let date = Self.httpDate(value) {
            seconds = max(date.timeIntervalSince(now), 0)
        } else {
            return nil
        }
        guard seconds.isFinite, seconds >= 0, seconds <= 86_400 else { return nil }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// IMF-fixdate, the form RFC 9110 requires senders to use: `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.date(from: text)
    }
}
