import Hummingbird

/// Why the API refused a request, with the HTTP status that says so; the answer is
/// `{"error": message}`, one line.
public struct Refusal: Error, Equatable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    public var description: String { message }

    public init(status: HTTPResponse.Status, message: String) {
        self.status = status
        self.message = message
    }
}
