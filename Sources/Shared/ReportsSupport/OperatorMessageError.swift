/// An error of ours whose `message` is written for operators and is safe to log: it never holds a
/// token, a secret, a file path or any issue or page content. Code that logs an error it did not
/// make (the worker runtime, the API) prints `message` for these and only the type name otherwise.
public protocol OperatorMessageError: Error {
    var message: String { get }
}
