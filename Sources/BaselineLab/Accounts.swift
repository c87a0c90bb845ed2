/// The site's accounts. The passwords are fixed and public: the site is reachable only inside
/// the lab's namespaces, and agents (and a person at a browser) must be able to log in.
public struct Account: Sendable, Hashable, Codable {
    public enum Role: String, Sendable, Codable { case administrator, editor, subscriber }
    public var login: String
    public var password: String
    public var role: Role
    public var displayName: String
}

public enum Accounts {
    static let firstNames = ["Ada", "Bram", "Chen", "Dara", "Emil", "Femi", "Greta", "Hiro", "Ines", "Jonas",
                             "Kaia", "Luca", "Mina", "Nils", "Oona", "Pavel", "Quinn", "Rosa", "Sami", "Tove",
                             "Uma", "Vik", "Wren"]

    public static let administrator = Account(login: "baseline-admin", password: "baseline-admin-pass",
                                              role: .administrator, displayName: "Site Admin")

    /// `editor1`…`editor3`.
    public static func editors(_ n: Int = 3) -> [Account] {
        (1...max(1, n)).map { i in
            Account(login: "editor\(i)", password: "baseline-editor-\(i)", role: .editor,
                    displayName: firstNames[(20 + i) % firstNames.count] + " (editor)")
        }
    }

    /// `reader01`…`reader20`.
    public static func subscribers(_ n: Int = 20) -> [Account] {
        (1...max(1, n)).map { i in
            let login = "reader" + (i < 10 ? "0\(i)" : "\(i)")
            return Account(login: login, password: "baseline-\(login)", role: .subscriber,
                           displayName: firstNames[(i - 1) % firstNames.count])
        }
    }
}
