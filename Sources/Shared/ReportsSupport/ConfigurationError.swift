/// A configuration value is missing or malformed.
///
/// The description names the variable and what is wrong with it, never the value: a value may be a key.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The environment variable at fault, for example `REPORTS_DATABASE`.
    public let variable: String
    /// What is wrong, in words an operator can act on.
    public let problem: String

    public init(variable: String, problem: String) {
        self.variable = variable
        self.problem = problem
    }

    public var description: String { "configuration error: \(variable) \(problem)" }
}

extension ConfigurationError {
    /// A whole number from `environment[name]` within `range`, or `fallback` when it is unset or empty;
    /// anything else throws, naming the variable and the range (never the value).
    public static func wholeNumber(
        _ environment: [String: String], _ name: String, _ fallback: Int, _ range: ClosedRange<Int>
    ) throws(ConfigurationError) -> Int {
        guard let text = environment[name], !text.isEmpty else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError(
                variable: name, problem: "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}
