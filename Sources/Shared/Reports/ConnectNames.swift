import Foundation

/// What the Microsoft connect confirmation page calls the Jira side: the user's display name and the
/// site's title, looked up with the user's own token when the start URL is issued (a forwarded link
/// named the account by its opaque id, which a victim cannot recognise). Kept with the flow, no longer.
public struct ConnectNames: Sendable, Equatable {
    /// The Jira user's display name; empty when Jira did not say.
    public var jiraDisplayName: String
    /// The site's title (`serverTitle`); empty when Jira did not say.
    public var siteName: String

    public init(jiraDisplayName: String, siteName: String) {
        // Stored as shown: at most 200 characters each, no control characters.
        self.jiraDisplayName = Self.clean(jiraDisplayName)
        self.siteName = Self.clean(siteName)
    }

    static func clean(_ text: String) -> String {
        String(
            String.UnicodeScalarView(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(200)))
    }

    /// How long the names are kept: the start URL's two minutes, the confirmation's ten, and a margin.
    public static let lifetime: Duration = .seconds(15 * 60)
}
