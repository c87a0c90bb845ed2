/// What Linux takes as an interface name: 1–15 bytes (IFNAMSIZ less its NUL), no '/', ':' or
/// white space. One rule for the configuration file and every command's `--interface`.
public enum InterfaceName {
    /// What a person reads when `name` is not one, after "… is not an interface name".
    public static let rule = "1–15 characters, no '/', ':' or spaces"

    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 15 && !name.contains { $0 == "/" || $0 == ":" || $0.isWhitespace }
    }
}
