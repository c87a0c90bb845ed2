/// Bad input found while running (a file, a rule): one line naming what and where, exit 1,
/// without the usage text ArgumentParser adds to a `ValidationError` (which is for flags).
struct InputError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
