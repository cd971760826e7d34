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
