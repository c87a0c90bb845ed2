import CGeneratorShim

/// Ctrl-C and `kill`/`timeout` handling for the commands that run until told to stop (`holon
/// generate`, `holon capture`, the baseline lab): while installed, SIGINT and SIGTERM set one
/// process-wide flag (the generator's ``Generator/GeneratorStop`` reads it too), so the command
/// finishes what it was writing and still reports, instead of the process being killed with its
/// work half done. Part of the commands' lifecycle, not the libraries': the handler itself is C
/// (it may only write a `sig_atomic_t`).
enum StopSignal {
    static func install() { hg_clear_stop(); hg_install_stop_handler() }
    static func restore() { hg_restore_default_handlers() }
    /// A SIGINT or SIGTERM came since ``install()``.
    static var requested: Bool { hg_stop_requested() != 0 }
}
